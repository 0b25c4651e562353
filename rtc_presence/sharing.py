"""The owner's sharing service, on top of JupyterHub's sharing REST API.

The hub stays the source of truth: every call forwards the *caller's own*
hub token (the owner's browser OAuth token, which has ``shares!server`` when
the hub is set up with :func:`rtc_presence.hub.configure`). This server never
holds a privileged hub token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest


class SharingError(Exception):
    """A hub failure turned into an answer the UI can show."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class HubTarget:
    """Where the hub API is and which server of whose we manage."""

    api_url: str
    owner: str
    server_name: str = ""

    def url(self, collection: str, query: dict[str, str] | None = None) -> str:
        base = self.api_url.rstrip("/")
        path = (
            f"{base}/{collection}/{quote(self.owner, safe='')}/{quote(self.server_name, safe='')}"
        )
        return path + ("?" + urlencode(query) if query else "")


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

    async def create_code(self, token: str, expires_in: int) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            token, "POST", "share-codes", body={"expires_in": expires_in}
        )
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


def _hub_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:300] if message else ""


def invite_model(code: dict[str, Any], public_base: str | None = None) -> dict[str, Any]:
    """Our view of a hub share code (the code itself only when just created)."""
    model: dict[str, Any] = {
        "id": code.get("id"),
        "created_at": code.get("created_at"),
        "expires_at": code.get("expires_at"),
        "uses": code.get("exchange_count", 0),
        "last_used": code.get("last_exchanged_at"),
    }
    if code.get("code"):
        url = code.get("full_accept_url")
        if not url and public_base:
            url = public_base.rstrip("/") + code.get("accept_url", "")
        model["url"] = url or code.get("accept_url")
    return model
