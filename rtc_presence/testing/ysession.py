"""Where a test client connects: the collaborative session of a document, over HTTP.

``PUT api/collaboration/session/<path>`` (what JupyterLab calls before it
opens a document) gives the room id and session id; :func:`room_url` builds
the websocket URL of that room.
"""

from __future__ import annotations

import json
import urllib.parse

import httpx

from .ywire import YClientError

__all__ = ["open_session", "room_url"]


async def open_session(
    base_url: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    file_type: str = "notebook",
    file_format: str = "json",
    timeout: float = 10,
    client: httpx.AsyncClient | None = None,
) -> tuple[str, str]:
    """Open (or join) the collaborative session of a document.

    ``PUT {base_url}api/collaboration/session/{path}``; returns
    ``(room_id, session_id)`` where ``room_id`` is ``"{format}:{type}:{fileId}"``.
    ``client``: the HTTP client to send it with (a browser's, with its cookies);
    by default a new one, whose set-up (~30 ms of CPU: TLS defaults) blocks the
    loop, which a hundred clients joining at once turn into seconds.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    url = f"{base_url}api/collaboration/session/{urllib.parse.quote(path)}"
    body = json.dumps({"format": file_format, "type": file_type})
    if client is not None:
        resp = await client.put(url, content=body, headers=headers or {}, timeout=timeout)
    else:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
            resp = await http.put(url, content=body, headers=headers or {})
    if resp.status_code not in (200, 201):
        raise YClientError(f"PUT {url} answered {resp.status_code}: {resp.text[:500]}")
    data = resp.json()
    room_id = f"{data['format']}:{data['type']}:{data['fileId']}"
    return room_id, str(data["sessionId"])


def room_url(base_ws_url: str, room_id: str, session_id: str | None = None) -> str:
    """The websocket URL of a collaboration room (``ws://host:port/base/`` + room)."""
    if base_ws_url.startswith("http"):
        base_ws_url = "ws" + base_ws_url[len("http") :]
    if not base_ws_url.endswith("/"):
        base_ws_url += "/"
    url = f"{base_ws_url}api/collaboration/room/{room_id}"
    if session_id is not None:
        url += "?" + urllib.parse.urlencode({"sessionId": session_id})
    return url
