"""Who a person is on this server and what they may do: role and access level.

The role says whose server it is (``owner``) or not (``guest``). The access
level says what a guest may do: ``view`` (read and follow along), ``edit``
(change documents) or ``run`` (edit, kernels and terminals: code runs as the
owner). The owner always has ``run``.

Levels travel as JupyterHub custom scopes on share codes and shares
(``custom:rtc-presence:<level>``, filtered by the hub to the owner's server),
so the hub stays the one source of truth; :func:`level_from_scopes` reads them
back from the guest's token model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Literal, cast, get_args

Role = Literal["owner", "guest"]
Access = Literal["view", "edit", "run"]

LEVELS: tuple[Access, ...] = cast(tuple[Access, ...], get_args(Access))
"""From least to most: each level allows everything of the ones before it."""

SCOPE_PREFIX = "custom:rtc-presence:"

DESCRIPTIONS: dict[Access, str] = {
    "view": "View the shared server's notebooks and files without changing them.",
    "edit": "Edit the shared server's notebooks and files (no running code).",
    "run": "Edit and run code on the shared server, as its owner's user account.",
}
"""What each level means, in plain words (the hub's accept page shows these)."""

REQUESTER: ContextVar[str | None] = ContextVar("rtc_presence_requester", default=None)
"""The verified user name of the request being handled (set by the gate at admission).

A context variable because the managers that start kernels and terminals are not
told who asked: tornado runs each request in its own asyncio task, so code awaited
by the handler (``MappingKernelManager.start_kernel``, the terminal manager) reads
the name of the person whose request it serves."""

DURATIONS: dict[int, str] = {
    15 * 60: "15 minutes",
    3600: "1 hour",
    8 * 3600: "8 hours",
    24 * 3600: "1 day",
    7 * 24 * 3600: "1 week",
}
"""The ``access_for`` an invite may carry, in seconds. Each is a hub custom scope
(``custom:rtc-presence:for-3600``) on the share code, so the hub keeps the term with
the share; the server counts it from the person's first visit after accepting."""

DURATION_PREFIX = SCOPE_PREFIX + "for-"


def _held(scopes: Iterable[str], prefix: str, server: str) -> Iterator[str]:
    """Names after ``prefix`` of the scopes that apply to ``server`` (``"alice/"``):
    unfiltered, or filtered to this server (``!server=alice/``) or its owner
    (``!user=alice``)."""
    owner = server.split("/", 1)[0]
    filters = {"", f"!server={server}", f"!user={owner}"}
    for held in scopes:
        if held.startswith(prefix):
            name, bang, rest = held[len(prefix) :].partition("!")
            if bang + rest in filters:
                yield name


def duration_scope(seconds: int) -> str:
    return f"{DURATION_PREFIX}{seconds}"


def all_scopes() -> dict[str, str]:
    """Every custom scope rtc-presence defines, with its plain-words description
    (for ``c.JupyterHub.custom_scopes``)."""
    scopes = {scope(level): DESCRIPTIONS[level] for level in LEVELS}
    for seconds, words in DURATIONS.items():
        scopes[duration_scope(seconds)] = f"Keep that access for {words} after accepting."
    return scopes


def duration_from_scopes(scopes: Iterable[str], server: str) -> int | None:
    """The longest ``access_for`` among ``scopes`` for ``server``; None: no limit."""
    best: int | None = None
    for name in _held(scopes, DURATION_PREFIX, server):
        if name.isdigit() and int(name) in DURATIONS:
            best = max(best or 0, int(name))
    return best


ROLE_ATTR = "rtc_role"
ACCESS_ATTR = "rtc_access"


def is_level(value: object) -> bool:
    return isinstance(value, str) and value in LEVELS


def scope(level: Access) -> str:
    """The hub custom scope of ``level``, unfiltered: ``custom:rtc-presence:view``."""
    return SCOPE_PREFIX + level


def allows(level: Access, needed: Access) -> bool:
    """Whether a person at ``level`` may do what needs ``needed``."""
    return LEVELS.index(level) >= LEVELS.index(needed)


def level_from_scopes(scopes: Iterable[str], server: str, default: Access | None) -> Access | None:
    """The highest level among ``scopes`` for ``server`` (``"alice/"`` or ``"alice/name"``).

    A scope counts unfiltered or filtered to this server (``!server=alice/``)
    or to its owner (``!user=alice``). ``default`` when none is held: the
    level of a share made outside rtc-presence (the hub's own API), which
    carries no level.
    """
    best: Access | None = None
    for name in _held(scopes, SCOPE_PREFIX, server):
        if name not in LEVELS:
            continue
        level: Access = name  # narrowed by "name not in LEVELS" above
        if best is None or allows(level, best):
            best = level
    return best if best is not None else default


def user_role(user: Any) -> Role:
    """The role the gate gave ``user`` for this request; ``guest`` if none (fail closed)."""
    role = getattr(user, ROLE_ATTR, None)
    return "owner" if role == "owner" else "guest"


def user_access(user: Any) -> Access:
    """The access level the gate gave ``user``; ``view`` if none (fail closed)."""
    level = getattr(user, ACCESS_ATTR, None)
    return cast(Access, level) if is_level(level) else "view"


def stamp(user: Any, role: Role, level: Access) -> None:
    """Record the gate's decision on ``user`` (jupyter_server's User for this request)."""
    setattr(user, ROLE_ATTR, role)
    setattr(user, ACCESS_ATTR, level)
