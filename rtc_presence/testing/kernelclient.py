"""Run code in a real kernel and type in a real terminal, over the server's websockets.

What JupyterLab does, reduced to what tests need: :class:`KernelChannel` sends an
``execute_request`` on ``/api/kernels/<id>/channels`` (jupyter_server's JSON
websocket protocol, no subprotocol) and collects the reply and the streams;
:class:`TerminalChannel` types into ``/terminals/websocket/<name>`` (terminado's
``["stdin", text]`` messages) and reads what the terminal prints.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


class KernelChannel:
    """One kernel websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.session = uuid.uuid4().hex

    @classmethod
    async def open(cls, ws_url: str, kernel_id: str, headers: dict[str, str]) -> KernelChannel:
        url = f"{ws_url}api/kernels/{kernel_id}/channels"
        ws = await connect(url, additional_headers=headers, proxy=None, open_timeout=30)
        return cls(ws)

    async def execute(self, code: str, timeout: float = 30) -> dict[str, Any]:
        """Run ``code``; return ``{"status", "stdout", "stderr", "error"}`` once idle."""
        msg_id = uuid.uuid4().hex
        await self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "test",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: dict[str, Any] = {"status": None, "stdout": "", "stderr": "", "error": None}
        idle = False
        deadline = time.monotonic() + timeout
        while not (idle and out["status"] is not None):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply to {code[:60]!r} in {timeout} s: {out}")
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            content = msg["content"]
            if kind == "stream":
                out[content["name"]] += content["text"]
            elif kind == "error":
                out["error"] = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                out["status"] = content["status"]
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return out

    async def close(self) -> None:
        await self.ws.close()


class TerminalChannel:
    """One terminal websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.output = ""

    @classmethod
    async def open(cls, ws_url: str, name: str, headers: dict[str, str]) -> TerminalChannel:
        url = f"{ws_url}terminals/websocket/{name}"
        ws = await connect(url, additional_headers=headers, proxy=None, open_timeout=30)
        return cls(ws)

    async def type(self, text: str) -> None:
        await self.ws.send(json.dumps(["stdin", text]))

    async def wait_for(self, needle: str, timeout: float = 20) -> str:
        """Read until ``needle`` was printed; return everything printed so far."""
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{needle!r} not printed in {timeout} s: {self.output[-500:]!r}")
            msg = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if msg[0] == "stdout":
                self.output += msg[1]
        return self.output

    async def close(self) -> None:
        await self.ws.close()
