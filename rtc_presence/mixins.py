"""Putting a mixin in front of a live object's class, in place.

Used where upstream creates an object we must extend but gives no setting
to choose its class (the identity provider JupyterHub forces, the
collaboration rooms and their websocket server). Swapping ``__class__`` to
a subclass made of ``mixin`` and the original class keeps the object's
identity (others hold references to it), its state and every behaviour the
mixin does not override.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

_classes: dict[tuple[type, type], type] = {}


def adopt(obj: T, mixin: type, prefix: str) -> T:
    """Make ``obj`` an instance of ``type(prefix + cls.__name__, (mixin, cls))``.

    Idempotent; the subclass is made once per (mixin, class).
    """
    cls = type(obj)
    if issubclass(cls, mixin):
        return obj
    mixed = _classes.get((mixin, cls))
    if mixed is None:
        mixed = type(prefix + cls.__name__, (mixin, cls), {})
        _classes[(mixin, cls)] = mixed
    obj.__class__ = mixed
    return obj
