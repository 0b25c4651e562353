"""The owner's sharing service, on top of JupyterHub's sharing REST API.

The hub stays the source of truth: every call forwards the *caller's own*
hub token (the owner's browser OAuth token, which has ``shares!server`` and
every access-level scope when the hub is set up with
:func:`rtc_presence.hub.configure`). This server never holds a privileged hub
token. Access levels travel as custom scopes on share codes and shares
(:mod:`rtc_presence.access`); the hub refuses a scope the owner's token lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .access import (
    LEVELS,
    SCOPE_PREFIX,
    Access,
    duration_from_scopes,
    duration_scope,
    level_from_scopes,
    scope,
)


class SharingError(web.HTTPError):
    """A hub failure turned into an answer the UI can show.

    A tornado ``HTTPError`` (status and message reach the client as JSON through
    jupyter_server's ``APIHandler.write_error``); ``status`` and ``message`` are kept
    for the owner API's own error writer.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class HubTarget:
    """Where the hub API is and which server of whose we manage."""

    api_url: str
    owner: str
    server_name: str = ""

    @property
    def server(self) -> str:
        """``owner/name`` as the hub writes it in scope filters (``alice/``)."""
        return f"{self.owner}/{self.server_name}"

    def url(self, collection: str, query: dict[str, str] | None = None) -> str:
        base = self.api_url.rstrip("/")
        path = (
            f"{base}/{collection}/{quote(self.owner, safe='')}/{quote(self.server_name, safe='')}"
        )
        return path + ("?" + urlencode(query) if query else "")

    def filtered(self, name: str) -> str:
        """``name`` filtered to this server, as the hub stores it on shares."""
        return f"{name}!server={self.server}"


_HUB_STATUS_MESSAGES = {
    401: (
        401,
        "The hub did not accept your session (it may have expired). "
        "Reload the page to sign in again.",
    ),
    403: (
        403,
        "The hub refused: your session may not manage sharing of this server. Ask your "
        "administrator to enable sharing (rtc_presence.hub.configure in jupyterhub_config.py).",
    ),
    404: (404, "The hub does not know this share, link or server."),
}

#: The hub's 403 when the owner's token may not add a scope to a share by user name
#: (apihandlers/shares.py: ``read:users:name!user=<guest>`` is required).
_NAME_SCOPE_REFUSAL = "read:users:name"


class HubSharing:
    """Thin async client for the hub's ``shares`` and ``share-codes`` APIs."""

    def __init__(self, target: HubTarget, timeout: float = 10.0) -> None:
        self.target = target
        self.timeout = timeout

    async def _call(
        self,
        token: str,
        method: str,
        collection: str,
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        request = HTTPRequest(
            self.target.url(collection, query),
            method=method,
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=self.timeout,
            connect_timeout=self.timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as exc:
            status = exc.code
            detail = _hub_message(exc.response.body if exc.response is not None else b"")
            if status == 599:
                raise SharingError(
                    502, "The hub could not be reached. Try again shortly."
                ) from None
            mapped_status, message = _HUB_STATUS_MESSAGES.get(
                status, (502, f"The hub answered {status}.")
            )
            if status == 403 and _NAME_SCOPE_REFUSAL in detail:
                message = (
                    "The hub refused to change this person's access level: owners need"
                    " the read:users:name permission for it (ask your administrator:"
                    " rtc_presence.hub.configure(c, level_changes=True))."
                )
            elif status == 403 and "permission to grant" in detail:
                message = (
                    "The hub refused: your session may not grant this access level. Ask"
                    " your administrator to set up access levels"
                    " (rtc_presence.hub.configure in jupyterhub_config.py)."
                )
            if detail and status not in (401, 403):
                message = f"{message} ({detail})"
            raise SharingError(mapped_status, message) from None
        except OSError as exc:
            raise SharingError(
                502, f"The hub could not be reached ({exc.strerror or exc})."
            ) from None
        if not response.body:
            return None
        try:
            return json.loads(response.body)
        except ValueError:
            raise SharingError(502, "The hub sent an answer that is not JSON.") from None

    # -- invite links (share codes) ----------------------------------------

    def code_scopes(self, access: Access, access_for: int | None = None) -> list[str]:
        """The scopes of an invite link: open this server, at ``access``, for a term."""
        scopes = [self.target.filtered("access:servers"), self.target.filtered(scope(access))]
        if access_for is not None:
            scopes.append(self.target.filtered(duration_scope(access_for)))
        return scopes

    async def create_code(
        self, token: str, expires_in: int, access: Access = "run", access_for: int | None = None
    ) -> dict[str, Any]:
        """A new invite link at ``access`` (kept ``access_for`` seconds after accepting)."""
        body = {"expires_in": expires_in, "scopes": self.code_scopes(access, access_for)}
        result: dict[str, Any] = await self._call(token, "POST", "share-codes", body=body)
        return result

    async def list_codes(self, token: str) -> list[dict[str, Any]]:
        return await self._paged(token, "share-codes")

    async def delete_code(self, token: str, code_id: str) -> None:
        await self._call(token, "DELETE", "share-codes", query={"id": code_id})

    async def delete_all_codes(self, token: str) -> None:
        await self._call(token, "DELETE", "share-codes")

    # -- people with access (shares) ----------------------------------------

    async def list_shares(self, token: str) -> list[dict[str, Any]]:
        return await self._paged(token, "shares")

    async def revoke_user(self, token: str, username: str) -> None:
        await self._call(token, "PATCH", "shares", body={"user": username})

    async def revoke_all(self, token: str) -> None:
        await self._call(token, "DELETE", "shares")

    async def set_level(self, token: str, username: str, access: Access) -> dict[str, Any]:
        """Move ``username``'s existing share to ``access``; return the share.

        The new level's scope is granted first (``POST /shares`` unions scopes), then the
        other level scopes are revoked (``PATCH /shares`` with ``scopes``): at no moment
        does the share hold no level (which would read as ``unscoped_access``) or a level
        higher than both the old and the new one, and a downgrade leaves no higher scope.
        Only the level scope is granted, never ``access:servers``: a share revoked
        meanwhile does not come back as access. 404 when ``username`` has no share.
        """
        share = await self.find_share(token, username)
        if share is None:
            raise SharingError(404, f"{username} has no access to this server.")
        held = set(share.get("scopes") or [])
        wanted = self.target.filtered(scope(access))
        if wanted not in held:
            share = await self._call(
                token, "POST", "shares", body={"user": username, "scopes": [wanted]}
            )
            held = set(share.get("scopes") or []) if isinstance(share, dict) else held | {wanted}
        others = sorted(s for s in held if _is_level_scope(s) and s != wanted)
        if others:
            share = await self._call(
                token, "PATCH", "shares", body={"user": username, "scopes": others}
            )
            if not isinstance(share, dict) or not share:
                # The hub deleted the share: it was revoked meanwhile.
                raise SharingError(404, f"{username} has no access to this server any more.")
        result: dict[str, Any] = share
        return result

    async def find_share(self, token: str, username: str) -> dict[str, Any] | None:
        """``username``'s share of this server, or None."""
        for share in await self.list_shares(token):
            if (share.get("user") or {}).get("name") == username:
                return share
        return None

    async def _paged(self, token: str, collection: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        for _ in range(100):  # bounded: 100 pages of the hub's page size
            page = await self._call(
                token, "GET", collection, query={"offset": str(offset), "limit": "200"}
            )
            if isinstance(page, list):  # hub answered without pagination
                return page
            batch = page.get("items", []) if isinstance(page, dict) else []
            items.extend(batch)
            nxt = (page.get("_pagination") or {}).get("next") if isinstance(page, dict) else None
            if not batch or not nxt:
                break
            offset = int(nxt.get("offset", offset + len(batch)))
        return items


def _is_level_scope(held: str) -> bool:
    return held.startswith(SCOPE_PREFIX) and held[len(SCOPE_PREFIX) :].partition("!")[0] in LEVELS


def share_level(share: dict[str, Any], default: Access | None = None) -> Access | None:
    """The access level a hub share (``GET /shares`` item) carries; ``default`` when it
    carries none (made outside rtc-presence: ``c.RTCPresence.unscoped_access``)."""
    return level_from_scopes(share.get("scopes") or [], _server_of(share), default)


def _server_of(item: dict[str, Any]) -> str:
    """``owner/name`` of a hub share or share code model (its ``server`` field)."""
    server = item.get("server") or {}
    owner = (server.get("user") or {}).get("name") or ""
    return f"{owner}/{server.get('name') or ''}"


def _hub_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:300] if message else ""


def invite_model(
    code: dict[str, Any], public_base: str | None = None, unscoped_access: Access = "run"
) -> dict[str, Any]:
    """Our view of a hub share code (the code itself only when just created).

    ``access`` is the level its scopes carry (``unscoped_access`` for a link made with
    the hub's API directly), ``access_for`` its term in seconds or None.
    """
    server = _server_of(code)
    scopes = code.get("scopes") or []
    model: dict[str, Any] = {
        "id": code.get("id"),
        "created_at": code.get("created_at"),
        "expires_at": code.get("expires_at"),
        "uses": code.get("exchange_count", 0),
        "last_used": code.get("last_exchanged_at"),
        "access": level_from_scopes(scopes, server, unscoped_access),
        "access_for": duration_from_scopes(scopes, server),
    }
    if code.get("code"):
        url = code.get("full_accept_url")
        if not url and public_base:
            url = public_base.rstrip("/") + code.get("accept_url", "")
        model["url"] = url or code.get("accept_url")
    return model
