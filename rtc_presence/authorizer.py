"""What each access level may do, enforced for every request the server serves.

Two layers, so that a modified client gains nothing:

- :class:`RTCAuthorizerMixin` in front of the server's authorizer answers
  jupyter_server's own checks (``@authorized`` handlers, the kernel,
  terminal and events websockets) by action and resource. Anything it does
  not know is refused below ``run``.
- :func:`request_allowed` is asked by the gate for every HTTP request of a
  guest below ``run``, also those of handlers that never ask an authorizer
  (JupyterLab's settings and workspaces, other extensions): a change is
  refused unless its path is one the level needs.

``run`` (and the owner) is left to the wrapped authorizer: it is today's
behaviour, full access.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.utils import ensure_async

from .access import Access, allows, user_access
from .mixins import adopt

KNOWN_RESOURCES = frozenset(
    {
        "api",
        "csp",
        "config",
        "contents",
        "kernels",
        "kernelspecs",
        "nbconvert",
        "server",
        "sessions",
        "terminals",
        "events",
    }
)
"""jupyter_server's resources (``jupyter_server.auth.utils``); others are ``ext:`` ones."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Paths (relative to the server's base URL) whose changes a level needs.
_CHANGES: dict[Access, tuple[str, ...]] = {
    # Opening any document asks jupyter-collaboration for a room session
    # (PUT api/collaboration/session/<path>): a read, despite the method.
    "view": ("api/collaboration/session/", "api/rtc-presence/", "api/security/csp-report"),
    "edit": (
        "api/collaboration/",
        "api/rtc-presence/",
        "api/security/csp-report",
        "api/contents/",
    ),
}


def level_allows(level: Access, action: str, resource: str, handler: Any = None) -> bool:
    """Whether ``level`` may take ``action`` (read/write/execute) on ``resource``."""
    if allows(level, "run"):
        return True
    if resource not in KNOWN_RESOURCES:
        return False
    if action == "read":
        return True
    if action == "execute":
        # The events websocket tells what happens on the server (saves,
        # kernel actions); a viewer's Lab subscribes to it at start.
        return resource == "events"
    if action == "write":
        if resource == "csp":
            return True
        if resource == "contents":
            return allows(level, "edit") or _is_room_session(handler)
    return False


def _is_room_session(handler: Any) -> bool:
    # jupyter_server_ydoc's DocSessionHandler asks "write" on contents for what
    # is a read: the room of a document a viewer opens.
    path = str(getattr(getattr(handler, "request", None), "path", ""))
    return "/api/collaboration/session/" in path


def request_allowed(level: Access, method: str, path: str) -> bool:
    """Whether a guest at ``level`` may send ``method`` to ``path`` (base URL stripped)."""
    if allows(level, "run") or method.upper() in SAFE_METHODS:
        return True
    path = path.lstrip("/")
    return path.startswith(_CHANGES[level])


def refusal_message(level: Access, what: str = "change anything on this server") -> str:
    if level == "edit":
        return "Your access (edit) does not include running code or changing settings."
    return f"Your access ({level}) does not let you {what}."


class RTCAuthorizerMixin:
    """Puts the access levels in front of the server's authorizer's own answer."""

    async def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        allowed = await ensure_async(
            super().is_authorized(handler, user, action, resource)  # type: ignore[misc]
        )
        return bool(allowed) and level_allows(user_access(user), action, resource, handler)


def adopt_authorizer(authorizer: Authorizer) -> Authorizer:
    """Put :class:`RTCAuthorizerMixin` in front of ``authorizer``'s class, in place.

    In place for the same reason as the identity provider: the instance is
    made before extensions load (``ServerApp.init_configurables``) and is
    already held by every handler's settings; JupyterHub leaves
    jupyter_server's default (``AllowAllAuthorizer``) or the admin's choice,
    which keeps deciding first. ``tests/test_authorizer.py`` pins it.
    """
    return adopt(authorizer, RTCAuthorizerMixin, "RTC")
