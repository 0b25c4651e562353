"""Hub-side helper: the JupyterHub configuration that makes rtc-presence sharing work.

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

__all__ = [
    "FORBIDDEN_SERVER_TOKEN_SCOPES",
    "OWNER_OAUTH_SCOPES",
    "SHARING_SCOPE",
    "configure",
    "revoke_server_access",
]

log = logging.getLogger("rtc_presence.hub")

#: Scope given to the sharing roles: a user may share their *own* servers.
SHARING_SCOPE = "shares!user"

#: Scopes the owner's browser OAuth token may hold (the hub intersects them with the
#: scopes of whoever logs in, so a visitor never gets ``shares`` on someone else's server).
OWNER_OAUTH_SCOPES: tuple[str, ...] = ("access:servers!server", "shares!server")

#: Scopes that must never reach the server's own ``$JUPYTERHUB_API_TOKEN``: every visitor
#: of a shared server can run code and read that variable.
FORBIDDEN_SERVER_TOKEN_SCOPES: tuple[str, ...] = ("shares", "inherit")

#: Marker attribute set on the hooks and callables this module installs (idempotence).
_MARK = "__rtc_presence_wrapped__"

Hook = Callable[[Any], Any]


def configure(
    c: Any,
    *,
    revoke_on_stop: bool = True,
    revoke_on_start: bool = True,
    allowed_scopes_extra: Iterable[str] = (),
    sharing_roles: Iterable[str] = ("user",),
) -> None:
    """Configure a JupyterHub for rtc-presence sharing.

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
        Extra scopes added to ``Spawner.oauth_client_allowed_scopes``, next to
        ``access:servers!server`` and ``shares!server`` (the scopes the owner's browser
        token needs to manage sharing). Default none.
    sharing_roles:
        Roles that receive ``shares!user`` (permission to share one's own servers).
        Default ``("user",)``: every user. Any other name must be a role defined in
        ``c.JupyterHub.load_roles`` before the call.

    What it changes, composing with what the admin already set:

    * ``c.JupyterHub.load_roles``: the sharing roles get ``shares!user``. An existing
      ``user`` role keeps its scopes (``shares!user`` is appended); without one, the
      default user scopes ``["self"]`` plus ``shares!user`` are used, or, when the admin
      uses ``c.JupyterHub.extra_user_scopes`` instead, ``shares!user`` is added there.
      Other roles are untouched.
    * ``c.Spawner.oauth_client_allowed_scopes`` (and the same key of any spawner class
      section that sets it): the owner scopes above are merged in; a callable is wrapped.
    * ``c.Spawner.pre_spawn_hook`` / ``post_stop_hook`` (and the same keys of any spawner
      class section that sets them): wrapped, the admin's hook (sync or async) still runs.

    It sets nothing else. It refuses (``ValueError``) a configuration in which the server's
    own token (``Spawner.server_token_scopes``, or the ``server`` role when that is unset)
    would hold a sharing scope; a callable ``server_token_scopes`` is checked at each spawn
    and the spawn fails when it asks for one. Calling ``configure`` twice is harmless.
    """
    roles = list(sharing_roles)
    extra = list(allowed_scopes_extra)
    owner_scopes = [*OWNER_OAUTH_SCOPES, *extra]
    sections = _spawner_sections(c)

    # Validate everything first: a refused configuration is left as it was.
    _check_scopes_allowed(extra, "allowed_scopes_extra")
    _check_server_role(c)
    _check_sharing_roles(c, roles)
    for section in sections:
        current = section.get("server_token_scopes", None)
        if current is not None and not callable(current):
            _check_scopes_allowed(list(_materialize(current, [])), "Spawner.server_token_scopes")

    _add_sharing_scope(c, roles)
    for section in sections:
        _merge_oauth_scopes(section, owner_scopes)
        _guard_server_token_scopes(section)
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

    setattr(hook, _MARK, True)
    if admin_hook is not None:
        hook.__wrapped__ = admin_hook  # type: ignore[attr-defined]
    hook.__name__ = f"rtc_presence_{'pre_spawn' if revoke_first else 'post_stop'}_hook"
    return hook


def _wrap_hook(section: Any, key: str, reason: str) -> None:
    current = section.get(key, None)
    if _is_lazy(current):
        current = None
    if current is not None and getattr(current, _MARK, False):
        return
    if current is not None and not callable(current):
        raise ValueError(f"{key} must be callable, got {current!r}")
    section[key] = _revoking_hook(current, reason, revoke_first=key == "pre_spawn_hook")


# ---------------------------------------------------------------- roles and scopes


def _add_sharing_scope(c: Any, roles: list[str]) -> None:
    hub = c.JupyterHub
    load_roles: list[dict[str, Any]] = (
        _materialize(hub["load_roles"], []) if "load_roles" in hub else []
    )
    load_roles = [dict(role) for role in load_roles]
    by_name = {role.get("name"): role for role in load_roles}
    for name in roles:
        role = by_name.get(name)
        if role is None:
            extra = set()
            if "extra_user_scopes" in hub:
                extra = set(_materialize(hub["extra_user_scopes"], set()))
            if extra:
                # The admin extends the default user role through extra_user_scopes; a
                # `user` entry in load_roles would make the hub ignore that setting.
                hub["extra_user_scopes"] = {*extra, SHARING_SCOPE}
                continue
            role = {"name": "user", "scopes": ["self"]}
            load_roles.append(role)
            by_name[name] = role
        scopes = list(role.get("scopes", ["self"] if name == "user" else []))
        if SHARING_SCOPE not in scopes:
            scopes.append(SHARING_SCOPE)
        role["scopes"] = scopes
    hub["load_roles"] = load_roles


def _check_sharing_roles(c: Any, roles: list[str]) -> None:
    hub = c.JupyterHub
    defined = (
        {r.get("name") for r in _materialize(hub["load_roles"], [])}
        if "load_roles" in hub
        else set()
    )
    missing = [name for name in roles if name != "user" and name not in defined]
    if missing:
        raise ValueError(
            f"sharing role(s) {missing} not defined in c.JupyterHub.load_roles;"
            " define them before calling rtc_presence.hub.configure(c)"
        )


def _compose_scopes(section: Any, key: str, transform: Callable[[list[str]], list[str]]) -> None:
    """Pass the admin's ``key`` setting through ``transform``.

    The setting may be a list or a (sync or async) callable of the spawner;
    a callable is wrapped once (marked), so ``configure`` is idempotent.
    """
    current = section.get(key, [])
    if _is_lazy(current):
        current = _materialize(current, [])
    if not callable(current):
        section[key] = transform(list(current))
        return
    if getattr(current, _MARK, False):
        return
    admin_callable = current

    async def scopes(spawner: Any) -> list[str]:
        result = admin_callable(spawner)
        if inspect.isawaitable(result):
            result = await result
        return transform(list(result or []))

    scopes.__name__ = key
    setattr(scopes, _MARK, True)
    section[key] = scopes


def _merge_oauth_scopes(section: Any, owner_scopes: list[str]) -> None:
    _compose_scopes(
        section, "oauth_client_allowed_scopes", lambda scopes: _union(scopes, owner_scopes)
    )


def _guard_server_token_scopes(section: Any) -> None:
    if "server_token_scopes" not in section:
        return

    def checked(scopes: list[str]) -> list[str]:
        _check_scopes_allowed(scopes, "Spawner.server_token_scopes")
        return scopes

    _compose_scopes(section, "server_token_scopes", checked)


def _check_server_role(c: Any) -> None:
    """The default server token gets the ``server`` role's scopes: keep sharing out."""
    hub = c.JupyterHub
    if "load_roles" not in hub:
        return
    for role in _materialize(hub["load_roles"], []):
        if role.get("name") == "server" and "scopes" in role:
            _check_scopes_allowed(list(role["scopes"]), "the 'server' role")


def _check_scopes_allowed(scopes: Iterable[str], where: str) -> None:
    bad = [s for s in scopes if s.partition("!")[0] in FORBIDDEN_SERVER_TOKEN_SCOPES]
    if bad:
        raise ValueError(
            f"rtc-presence: {where} must not contain {bad}: the server's own token"
            " ($JUPYTERHUB_API_TOKEN) is readable by every visitor of a shared server,"
            " so it must never be able to share (or inherit the owner's right to share)."
        )


# ---------------------------------------------------------------- config plumbing


def _spawner_sections(c: Any) -> list[Any]:
    """``c.Spawner`` plus every other section that sets a spawner key we manage.

    Subclass sections (``c.KubeSpawner.pre_spawn_hook``) win over ``c.Spawner``, so a hook
    or scope list set there must be composed too, or it would silently drop ours.
    """
    keys = (
        "pre_spawn_hook",
        "post_stop_hook",
        "oauth_client_allowed_scopes",
        "server_token_scopes",
    )
    sections = [c.Spawner]
    for name, section in list(c.items()):
        if name in ("Spawner", "JupyterHub") or not _is_section(section):
            continue
        if any(key in section for key in keys):
            sections.append(section)
    return sections


def _is_section(value: Any) -> bool:
    from traitlets.config import Config

    return isinstance(value, Config)


def _is_lazy(value: Any) -> bool:
    from traitlets.config.loader import LazyConfigValue

    return isinstance(value, LazyConfigValue)


def _materialize(value: Any, initial: Any) -> Any:
    """Turn a ``LazyConfigValue`` (``c.X.y.append(...)`` on an unset key) into its value."""
    if _is_lazy(value):
        return value.get_value(initial)
    return value


def _union(first: list[str], second: Iterable[str]) -> list[str]:
    out = list(first)
    for item in second:
        if item not in out:
            out.append(item)
    return out


def _spawner_log(spawner: Any) -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    spawner_log = getattr(spawner, "log", None)
    return spawner_log if isinstance(spawner_log, logging.Logger | logging.LoggerAdapter) else log


def _name(spawner: Any) -> str:
    user = getattr(getattr(spawner, "user", None), "name", "?")
    return f"{user}/{getattr(spawner, 'name', '')}"
