"""Traitlets config plumbing for the hub-side helper (:mod:`rtc_presence.hub`).

How to read and compose what an admin wrote in ``jupyterhub_config.py``: lazy values
(``c.X.y.append(...)`` on an unset key), settings that may be a list or a (sync or async)
callable of the spawner, and spawner subclass sections that win over ``c.Spawner``.
Runs in the hub process: imports traitlets only.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

#: Marker attribute set on the hooks and callables we install (idempotence).
MARK = "__rtc_presence_wrapped__"

#: Spawner keys the helper composes with.
SPAWNER_KEYS = (
    "pre_spawn_hook",
    "post_stop_hook",
    "oauth_client_allowed_scopes",
    "server_token_scopes",
)


def spawner_sections(c: Any) -> list[Any]:
    """``c.Spawner`` plus every other section that sets a spawner key we manage.

    Subclass sections (``c.KubeSpawner.pre_spawn_hook``) win over ``c.Spawner``, so a hook
    or scope list set there must be composed too, or it would silently drop ours.
    """
    sections = [c.Spawner]
    for name, section in list(c.items()):
        if name in ("Spawner", "JupyterHub") or not is_section(section):
            continue
        if any(key in section for key in SPAWNER_KEYS):
            sections.append(section)
    return sections


def is_section(value: Any) -> bool:
    from traitlets.config import Config

    return isinstance(value, Config)


def is_lazy(value: Any) -> bool:
    from traitlets.config.loader import LazyConfigValue

    return isinstance(value, LazyConfigValue)


def materialize(value: Any, initial: Any) -> Any:
    """Turn a ``LazyConfigValue`` (``c.X.y.append(...)`` on an unset key) into its value."""
    if is_lazy(value):
        return value.get_value(initial)
    return value


def union(first: Iterable[str], second: Iterable[str]) -> list[str]:
    """``first`` then the items of ``second`` it lacks, order kept."""
    out = list(first)
    for item in second:
        if item not in out:
            out.append(item)
    return out


def compose_scopes(
    section: Any,
    key: str,
    transform: Callable[[list[str]], list[str]],
    default: list[str] | None = None,
) -> None:
    """Pass the admin's ``key`` setting (a list, or a sync or async callable of the
    spawner) through ``transform``; ``default`` when unset.

    A callable is wrapped once (marked), so calling ``configure`` twice is harmless.
    """
    current = section.get(key, default if default is not None else [])
    if is_lazy(current):
        current = materialize(current, [])
    if not callable(current):
        section[key] = transform(list(current))
        return
    if getattr(current, MARK, False):
        return
    admin_callable = current

    async def scopes(spawner: Any) -> list[str]:
        result = admin_callable(spawner)
        if inspect.isawaitable(result):
            result = await result
        return transform(list(result or []))

    scopes.__name__ = key
    scopes.__wrapped__ = admin_callable  # type: ignore[attr-defined]
    setattr(scopes, MARK, True)
    section[key] = scopes
