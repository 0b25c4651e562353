"""Which scopes rtc-presence gives whom on the hub: roles, OAuth tokens, the server token.

Used by :func:`rtc_presence.hub.configure`. Three kinds of token matter:

* the **owner's browser OAuth token** for their server: manages sharing (``shares!server``)
  and grants access levels, so it must hold every level scope it puts on a share code;
* a **guest's browser OAuth token** for that server: carries the level the guest was
  given (the hub intersects the OAuth client's allowed scopes with the guest's own
  permissions, shares included), never ``shares`` on someone else's server;
* the **server's own token** (``$JUPYTERHUB_API_TOKEN``): inherited by every kernel and
  terminal, so readable by every guest who may run code. It only posts activity.

Runs in the hub process: imports :mod:`rtc_presence.access` (stdlib only) and traitlets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .access import all_scopes
from .hubconfig import compose_scopes, materialize, union

#: Scope given to the sharing roles: a user may share their *own* servers.
SHARING_SCOPE = "shares!user"

#: JupyterHub asks for ``read:users:name!user=<guest>`` to add a scope to a share by user
#: name (``POST /hub/api/shares``, apihandlers/shares.py): what raising a guest's level
#: needs. It lets a user look up whether a name exists, not list users (``list:users``).
NAME_SCOPE = "read:users:name"

#: Scopes the owner's browser OAuth token may hold (the hub intersects them with the
#: scopes of whoever logs in, so a visitor never gets ``shares`` on someone else's server).
OWNER_OAUTH_SCOPES: tuple[str, ...] = ("access:servers!server", "shares!server")

#: What the server's own token needs, added to what the admin asks for: reading the
#: server's shares. JupyterHub 6 never puts a share's custom scopes into the guest's
#: OAuth token (``OAuthAuthorizeHandler`` resolves the requested scopes against the
#: guest's *roles* only, apihandlers/auth.py; shares count at request time, for scopes
#: the token already holds), so the server reads each guest's level from the share
#: itself (:class:`rtc_presence.sharescopes.ShareScopes`). Read-only: who has access and at
#: which level, never the codes, never a change.
SERVER_TOKEN_NEEDS: tuple[str, ...] = ("read:shares!server",)

#: What ``$JUPYTERHUB_API_TOKEN`` holds unless the admin says otherwise: posting activity
#: (what jupyterhub-singleuser needs) and reading the server's shares (what rtc-presence
#: needs). Not ``access:servers!server``, which the hub's default ``server`` role has.
#:
#: Does jupyterhub-singleuser need ``access:servers!server`` itself? No (read from
#: jupyterhub 6.1.1, singleuser/extension.py and services/auth.py). It uses its token
#: (``HubAuth.api_token``) as the OAuth client secret in the code-for-token exchange
#: (``HubOAuth._token_for_code``; the hub compares it as a secret, oauth/provider.py,
#: scopes play no part) and to post activity (``notify_activity``: ``users:activity``).
#: Incoming requests are checked with the caller's own token
#: (``_check_hub_authorization``), the version check at start is anonymous
#: (``check_hub_version``), and the token in Lab's page config is cleared. The scope only
#: lets the token itself open the server, i.e. lets any kernel or terminal, and any guest
#: who runs code, act as the owner (issue 13). ``tests/test_hub_levels.py`` runs a
#: server without it: OAuth logins, activity, and 403 for the token everywhere.
DEFAULT_SERVER_TOKEN_SCOPES: tuple[str, ...] = ("users:activity!user", *SERVER_TOKEN_NEEDS)

#: Scopes (any filter) that must never reach the server's own token, and why.
_SERVER_TOKEN_REFUSALS: dict[str, str] = {
    "shares": "share the server",
    "users:shares": "share the server",
    "inherit": "inherit the owner's permissions, sharing included",
    "tokens": "mint a new token with all of the owner's permissions",
    "access:servers": (
        "open the owner's server as the owner (jupyterhub-singleuser does not need it: it"
        " uses this token only as its OAuth client secret and to post activity)"
    ),
}

#: Scopes that ``allowed_scopes_extra`` (the owner's OAuth token) may not add.
_EXTRA_REFUSALS: dict[str, str] = {
    key: _SERVER_TOKEN_REFUSALS[key] for key in ("shares", "users:shares", "inherit", "tokens")
}

#: Kept for compatibility: the scope names refused in the server token.
FORBIDDEN_SERVER_TOKEN_SCOPES: tuple[str, ...] = tuple(_SERVER_TOKEN_REFUSALS)


def custom_scopes() -> dict[str, str]:
    """rtc-presence's custom scopes (levels, access terms) and their plain descriptions."""
    return all_scopes()


def role_scopes(*, level_changes: bool) -> list[str]:
    """What the sharing roles get: share one's own servers, grant every level on them."""
    scopes = [SHARING_SCOPE, *(f"{name}!user" for name in custom_scopes())]
    return [*scopes, NAME_SCOPE] if level_changes else scopes


def owner_oauth_scopes(extra: Iterable[str], *, level_changes: bool) -> list[str]:
    """``oauth_client_allowed_scopes`` of every server: the owner's sharing scopes, every
    custom scope filtered to that server (owner and guests carry their level), extras."""
    scopes = [*OWNER_OAUTH_SCOPES, *(f"{name}!server" for name in custom_scopes())]
    if level_changes:
        scopes.append(NAME_SCOPE)
    return union(scopes, extra)


# ---------------------------------------------------------------- validation


def check_server_token_scopes(scopes: Iterable[str], where: str) -> None:
    """Refuse scopes that would let ``$JUPYTERHUB_API_TOKEN`` act as the owner."""
    _refuse(scopes, where, _SERVER_TOKEN_REFUSALS)


def check_extra_scopes(scopes: Iterable[str], where: str) -> None:
    _refuse(scopes, where, _EXTRA_REFUSALS)


def _refuse(scopes: Iterable[str], where: str, refusals: dict[str, str]) -> None:
    bad = [s for s in scopes if s.partition("!")[0] in refusals]
    if bad:
        why = "; ".join(
            sorted({f"{s.partition('!')[0]} would {refusals[s.partition('!')[0]]}" for s in bad})
        )
        raise ValueError(
            f"rtc-presence: {where} must not contain {bad}: the server's own token"
            " ($JUPYTERHUB_API_TOKEN) is inherited by every kernel and terminal, so every"
            f" visitor who may run code can read it ({why})."
        )


def check_server_role(c: Any) -> None:
    """A ``server`` role the admin defined (the server token when no scopes are
    requested) may not share either."""
    hub = c.JupyterHub
    if "load_roles" not in hub:
        return
    for role in materialize(hub["load_roles"], []):
        if role.get("name") == "server" and "scopes" in role:
            check_extra_scopes(list(role["scopes"]), "the 'server' role")


def check_sharing_roles(c: Any, roles: list[str]) -> None:
    hub = c.JupyterHub
    defined = (
        {r.get("name") for r in materialize(hub["load_roles"], [])}
        if "load_roles" in hub
        else set()
    )
    missing = [name for name in roles if name != "user" and name not in defined]
    if missing:
        raise ValueError(
            f"sharing role(s) {missing} not defined in c.JupyterHub.load_roles;"
            " define them before calling rtc_presence.hub.configure(c)"
        )


def check_custom_scopes(c: Any) -> None:
    hub = c.JupyterHub
    current = materialize(hub["custom_scopes"], {}) if "custom_scopes" in hub else {}
    if not isinstance(current, dict):
        raise ValueError(f"c.JupyterHub.custom_scopes must be a dict, got {current!r}")


# ---------------------------------------------------------------- changes


def add_custom_scopes(c: Any) -> None:
    """Define rtc-presence's scopes next to the admin's (an admin's own description of one
    of ours, e.g. a translation, is kept)."""
    hub = c.JupyterHub
    current = dict(materialize(hub["custom_scopes"], {})) if "custom_scopes" in hub else {}
    for name, description in custom_scopes().items():
        current.setdefault(name, {"description": description})
    hub["custom_scopes"] = current


def add_role_scopes(c: Any, roles: list[str], scopes: list[str]) -> None:
    """Append ``scopes`` to each sharing role (created as ``user``'s default if absent)."""
    hub = c.JupyterHub
    load_roles: list[dict[str, Any]] = (
        materialize(hub["load_roles"], []) if "load_roles" in hub else []
    )
    load_roles = [dict(role) for role in load_roles]
    by_name = {role.get("name"): role for role in load_roles}
    for name in roles:
        role = by_name.get(name)
        if role is None:
            extra = set()
            if "extra_user_scopes" in hub:
                extra = set(materialize(hub["extra_user_scopes"], set()))
            if extra:
                # The admin extends the default user role through extra_user_scopes; a
                # `user` entry in load_roles would make the hub ignore that setting.
                hub["extra_user_scopes"] = {*extra, *scopes}
                continue
            role = {"name": "user", "scopes": ["self"]}
            load_roles.append(role)
            by_name[name] = role
        role["scopes"] = union(role.get("scopes", ["self"] if name == "user" else []), scopes)
    hub["load_roles"] = load_roles


def merge_oauth_scopes(section: Any, owner_scopes: list[str]) -> None:
    compose_scopes(
        section, "oauth_client_allowed_scopes", lambda scopes: union(scopes, owner_scopes)
    )


def limit_server_token(section: Any, *, is_base: bool) -> None:
    """The admin's ``server_token_scopes`` checked at each spawn (a callable) or now (a
    list), plus :data:`SERVER_TOKEN_NEEDS`; unset or empty on ``c.Spawner``:
    :data:`DEFAULT_SERVER_TOKEN_SCOPES`.

    An empty list would make the hub fall back to its ``server`` role, which holds
    ``access:servers!server``: that is what we replace.
    """
    if not is_base and "server_token_scopes" not in section:
        return

    def checked(scopes: list[str]) -> list[str]:
        if not scopes:
            return list(DEFAULT_SERVER_TOKEN_SCOPES)
        check_server_token_scopes(scopes, "Spawner.server_token_scopes")
        return union(scopes, SERVER_TOKEN_NEEDS)

    compose_scopes(section, "server_token_scopes", checked, default=[])
