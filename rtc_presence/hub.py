"""Hub-side helper: the JupyterHub configuration that makes rtc-presence sharing work.

Sharing scopes, access levels as custom scopes, a server token that cannot act as the
owner, and revocation when a server stops or starts. Which scopes go where is
:mod:`rtc_presence.hubscopes`; reading and composing the admin's config,
:mod:`rtc_presence.hubconfig`.

Use it from ``jupyterhub_config.py`` (or Zero to JupyterHub's ``hub.extraConfig``)::

    import rtc_presence.hub

    rtc_presence.hub.configure(c)

Call it *after* your own spawner hooks, roles and scopes are set (it composes with them;
anything assigned after the call replaces what it did).

This module runs inside the JupyterHub process: it must not import jupyter_server or the
collaboration stack. JupyterHub and SQLAlchemy are imported lazily, inside the functions
that need them, so that importing it stays cheap and works without a hub installed.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

from . import hubscopes
from .hubconfig import MARK, is_lazy, materialize, spawner_sections
from .hubscopes import (
    DEFAULT_SERVER_TOKEN_SCOPES,
    FORBIDDEN_SERVER_TOKEN_SCOPES,
    NAME_SCOPE,
    OWNER_OAUTH_SCOPES,
    SERVER_TOKEN_NEEDS,
    SHARING_SCOPE,
)

__all__ = [
    "DEFAULT_SERVER_TOKEN_SCOPES",
    "FORBIDDEN_SERVER_TOKEN_SCOPES",
    "NAME_SCOPE",
    "OWNER_OAUTH_SCOPES",
    "SERVER_TOKEN_NEEDS",
    "SHARING_SCOPE",
    "configure",
    "revoke_server_access",
]

log = logging.getLogger("rtc_presence.hub")

Hook = Callable[[Any], Any]


def configure(
    c: Any,
    *,
    revoke_on_stop: bool = True,
    revoke_on_start: bool = True,
    allowed_scopes_extra: Iterable[str] = (),
    sharing_roles: Iterable[str] = ("user",),
    level_changes: bool = True,
) -> None:
    """Configure a JupyterHub for rtc-presence sharing and access levels.

    Parameters
    ----------
    c:
        The traitlets ``Config`` of ``jupyterhub_config.py`` (``c = get_config()``), or the
        ``c`` of Zero to JupyterHub's ``hub.extraConfig``.
    revoke_on_stop:
        Revoke every share and every share code (invite link) of a server right after it
        stops (``Spawner.post_stop_hook``). Default True.
    revoke_on_start:
        Revoke them again right before a server starts (``Spawner.pre_spawn_hook``), which
        also covers servers that died while the hub was down. Default True. A server thus
        always starts with nobody else inside.
    allowed_scopes_extra:
        Extra scopes added to ``Spawner.oauth_client_allowed_scopes`` (the browser tokens
        of everyone who opens a server). Default none. Sharing scopes are refused.
    sharing_roles:
        Roles that may share their own servers (``shares!user`` and every rtc-presence
        scope ``!user``). Default ``("user",)``: every user. Any other name must be a role
        defined in ``c.JupyterHub.load_roles`` before the call.
    level_changes:
        Give the sharing roles and the owner's browser token ``read:users:name``, which
        JupyterHub requires to add a scope to an existing share by user name: changing a
        guest's level (``PATCH /api/rtc-presence/guests/<name>``) grants the new level's
        scope before it revokes the old one. It lets users look up whether a user name
        exists (not list users). False: a guest keeps the level of their invite link.
        Default True.

    What it changes, composing with what the admin already set:

    * ``c.JupyterHub.custom_scopes``: rtc-presence's access levels
      (``custom:rtc-presence:view|edit|run``) and access terms
      (``custom:rtc-presence:for-<seconds>``), with plain descriptions (the hub's
      accept and authorize pages show them). An admin's own entry for one is kept.
    * ``c.JupyterHub.load_roles``: the sharing roles get ``shares!user`` and each custom
      scope ``!user`` (so the owner holds the levels they grant). An existing ``user``
      role keeps its scopes; without one, the default user scopes ``["self"]`` are kept,
      or, when the admin uses ``c.JupyterHub.extra_user_scopes`` instead, the scopes are
      added there. Other roles are untouched.
    * ``c.Spawner.oauth_client_allowed_scopes`` (and the same key of any spawner class
      section that sets it): ``access:servers!server``, ``shares!server`` and each custom
      scope ``!server`` are merged in; a callable is wrapped. The hub intersects them with
      each person's own permissions: the owner gets sharing and every level, a guest the
      level of their share.
    * ``c.Spawner.server_token_scopes``: ``["users:activity!user", "read:shares!server"]``
      when unset or empty (the hub's default, the ``server`` role, has
      ``access:servers!server``, which lets any kernel or terminal act as the owner on
      the server). ``read:shares!server`` lets the server read its guests' levels from
      their shares (JupyterHub 6 does not put them in the guests' tokens). An admin's
      list or callable is kept (``read:shares!server`` added), refused when it holds
      ``access:servers``, ``shares``, ``tokens`` or ``inherit``.
    * ``c.Spawner.pre_spawn_hook`` / ``post_stop_hook`` (and the same keys of any spawner
      class section that sets them): wrapped, the admin's hook (sync or async) still runs.

    It sets nothing else. A refused configuration raises ``ValueError`` and is left as it
    was; a callable ``server_token_scopes`` is checked at each spawn and the spawn fails
    when it asks for a refused scope. Calling ``configure`` twice is harmless.
    """
    roles = list(sharing_roles)
    extra = list(allowed_scopes_extra)
    sections = spawner_sections(c)

    # Validate everything first: a refused configuration is left as it was.
    hubscopes.check_extra_scopes(extra, "allowed_scopes_extra")
    hubscopes.check_server_role(c)
    hubscopes.check_sharing_roles(c, roles)
    hubscopes.check_custom_scopes(c)
    for section in sections:
        current = section.get("server_token_scopes", None)
        if current is not None and not callable(current):
            hubscopes.check_server_token_scopes(
                list(materialize(current, [])), "Spawner.server_token_scopes"
            )
    for section in sections:
        for key in ("pre_spawn_hook", "post_stop_hook"):
            hook = section.get(key, None)
            if hook is not None and not is_lazy(hook) and not callable(hook):
                raise ValueError(f"{key} must be callable, got {hook!r}")

    hubscopes.add_custom_scopes(c)
    hubscopes.add_role_scopes(c, roles, hubscopes.role_scopes(level_changes=level_changes))
    owner_scopes = hubscopes.owner_oauth_scopes(extra, level_changes=level_changes)
    for section in sections:
        hubscopes.merge_oauth_scopes(section, owner_scopes)
        hubscopes.limit_server_token(section, is_base=section is c.Spawner)
        if revoke_on_start:
            _wrap_hook(section, "pre_spawn_hook", "server starting")
        if revoke_on_stop:
            _wrap_hook(section, "post_stop_hook", "server stopped")


# ---------------------------------------------------------------- revocation


def revoke_server_access(spawner: Any) -> tuple[int, int]:
    """Delete every share and share code of ``spawner``'s server; return their counts.

    Runs inside the hub, in a spawner hook. We use the hub's own database session (the
    session that loaded ``spawner.orm_spawner``) rather than the REST API: the hub is the
    source of truth and this is exactly what its ``DELETE /shares/{owner}/{server}`` and
    ``DELETE /share-codes/{owner}/{server}`` handlers do, without minting a privileged
    token, without an HTTP round trip through the proxy (which may already be gone during
    hub shutdown) and without the deprecated ``Spawner.db``. Recipients' ``shared_with_me``
    collections are expired so that the hub's next permission check reloads them.
    """
    orm_spawner = getattr(spawner, "orm_spawner", None)
    if orm_spawner is None or orm_spawner.id is None:
        return (0, 0)
    from jupyterhub import orm
    from sqlalchemy.orm import object_session

    db = object_session(orm_spawner)
    if db is None:  # pragma: no cover - a detached spawner has nothing to revoke
        return (0, 0)
    shares = db.query(orm.Share).filter_by(spawner_id=orm_spawner.id).all()
    codes = db.query(orm.ShareCode).filter_by(spawner_id=orm_spawner.id).all()
    if not shares and not codes:
        return (0, 0)
    recipients = [share.user or share.group for share in shares]
    for row in [*shares, *codes]:
        db.delete(row)
    db.commit()
    for recipient in recipients:
        if recipient is not None:
            db.expire(recipient, ["shared_with_me"])
    db.expire(orm_spawner, ["shares", "share_codes"])
    owner = orm_spawner.user
    if owner is not None:
        db.expire(owner, ["shares", "share_codes"])
    return (len(shares), len(codes))


def _revoking_hook(admin_hook: Hook | None, reason: str, *, revoke_first: bool) -> Hook:
    async def hook(spawner: Any) -> None:
        error: BaseException | None = None
        try:
            n_shares, n_codes = revoke_server_access(spawner)
        except Exception as e:
            error = e
            _spawner_log(spawner).exception(
                "rtc-presence: could not revoke access to %s (%s)", _name(spawner), reason
            )
            if revoke_first:
                # Fail closed: never start a server that may still be shared.
                raise
        else:
            if n_shares or n_codes:
                _spawner_log(spawner).info(
                    "rtc-presence: revoked %d share(s) and %d share code(s) of %s (%s)",
                    n_shares,
                    n_codes,
                    _name(spawner),
                    reason,
                )
        if admin_hook is not None:
            result = admin_hook(spawner)
            if inspect.isawaitable(result):
                await result
        if error is not None:
            raise error

    setattr(hook, MARK, True)
    if admin_hook is not None:
        hook.__wrapped__ = admin_hook  # type: ignore[attr-defined]
    hook.__name__ = f"rtc_presence_{'pre_spawn' if revoke_first else 'post_stop'}_hook"
    return hook


def _wrap_hook(section: Any, key: str, reason: str) -> None:
    current = section.get(key, None)
    if is_lazy(current):
        current = None
    if current is not None and getattr(current, MARK, False):
        return
    if current is not None and not callable(current):
        raise ValueError(f"{key} must be callable, got {current!r}")
    section[key] = _revoking_hook(current, reason, revoke_first=key == "pre_spawn_hook")


def _spawner_log(spawner: Any) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    spawner_log = getattr(spawner, "log", None)
    return spawner_log if isinstance(spawner_log, logging.Logger | logging.LoggerAdapter) else log


def _name(spawner: Any) -> str:
    user = getattr(getattr(spawner, "user", None), "name", "?")
    return f"{user}/{getattr(spawner, 'name', '')}"
