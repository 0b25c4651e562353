"""A kernel websocket client speaking either wire protocol, for tests and benchmarks.

``json``: jupyter_server's default (legacy) protocol, one JSON text frame
per message with its ``channel``. ``v1``: ``v1.kernel.websocket.jupyter.org``,
binary frames of offsets, channel and the packed parts
(jupyter_server/services/kernels/connection/base.py). Like a browser, the
client writes whatever ``username`` it is told to in its headers.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from websockets.asyncio.client import ClientConnection, connect

Protocol = Literal["json", "v1"]
V1 = "v1.kernel.websocket.jupyter.org"


class KernelClient:
    """One kernel websocket; :meth:`recv` yields every message, all channels."""

    def __init__(self, ws: ClientConnection, protocol: Protocol, session: str) -> None:
        self.ws = ws
        self.protocol = protocol
        self.session = session
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def connect(
        cls, ws_url: str, kernel_id: str, token: str, protocol: Protocol = "json"
    ) -> KernelClient:
        session = uuid.uuid4().hex
        query = urllib.parse.urlencode({"session_id": session, "token": token})
        url = f"{ws_url}api/kernels/{kernel_id}/channels?{query}"
        ws = await connect(
            url,
            proxy=None,
            subprotocols=[V1] if protocol == "v1" else None,  # type: ignore[list-item]
            max_size=None,
        )
        if protocol == "v1" and ws.subprotocol != V1:
            raise AssertionError(f"server chose {ws.subprotocol!r}, not {V1}")
        return cls(ws, protocol, session)

    def message(
        self,
        msg_type: str,
        content: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        username: str = "",
    ) -> dict[str, Any]:
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "username": username,
            "session": self.session,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        }
        return {
            "header": header,
            "parent_header": {},
            "metadata": metadata or {},
            "content": content,
            "buffers": [],
        }

    async def send(self, channel: str, msg: dict[str, Any]) -> str:
        if self.protocol == "v1":
            parts = [
                json.dumps(msg[name]).encode()
                for name in ("header", "parent_header", "metadata", "content")
            ]
            await self.ws.send(serialize_msg_to_ws_v1(parts, channel))  # type: ignore[no-untyped-call]
        else:
            await self.ws.send(json.dumps({**msg, "channel": channel}))
        return str(msg["header"]["msg_id"])

    async def recv(self) -> dict[str, Any]:
        raw = await self.ws.recv()
        if self.protocol == "v1":
            assert isinstance(raw, bytes)
            channel, parts = deserialize_msg_from_ws_v1(raw)  # type: ignore[no-untyped-call]
            names = ("header", "parent_header", "metadata", "content")
            msg: dict[str, Any] = {n: json.loads(p) for n, p in zip(names, parts, strict=False)}
            msg["channel"] = channel
        else:
            msg = json.loads(raw)
        self.seen.append(msg)
        return msg

    async def wait_for(
        self, parent_id: str, msg_type: str, timeout: float = 30.0, **content: Any
    ) -> dict[str, Any]:
        """The first message of ``msg_type`` answering ``parent_id`` (content fields match)."""
        for msg in self.seen:
            if _matches(msg, parent_id, msg_type, content):
                return msg
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no {msg_type} for {parent_id} within {timeout} s")
            msg = await asyncio.wait_for(self.recv(), remaining)
            if _matches(msg, parent_id, msg_type, content):
                return msg

    async def execute(
        self, code: str, cell_id: str | None = None, username: str = ""
    ) -> tuple[str, dict[str, Any]]:
        """Send an execute_request; return its msg_id and its execute_reply."""
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.message(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
            metadata,
            username,
        )
        msg_id = await self.send("shell", msg)
        return msg_id, await self.wait_for(msg_id, "execute_reply")

    async def close(self) -> None:
        await self.ws.close()


def _matches(msg: dict[str, Any], parent_id: str, msg_type: str, content: dict[str, Any]) -> bool:
    if (msg.get("parent_header") or {}).get("msg_id") != parent_id:
        return False
    if msg["header"].get("msg_type") != msg_type:
        return False
    return all(msg["content"].get(k) == v for k, v in content.items())
