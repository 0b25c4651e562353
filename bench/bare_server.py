"""A bare pycrdt-websocket server (no Jupyter): ``python -m bench.bare_server PORT``.

pycrdt-websocket's ``WebsocketServer`` (rooms by URL path, in memory, no store) over
the ``websockets`` asyncio server. Like every asyncio TCP transport, sockets get
TCP_NODELAY. Prints ``ready`` on stdout once it listens.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pycrdt.websocket import WebsocketServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class Channel:
    """pycrdt's ``Channel`` over a ``websockets`` server connection."""

    def __init__(self, conn: ServerConnection, path: str) -> None:
        self._conn = conn
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> Channel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration() from None

    async def send(self, message: bytes) -> None:
        await self._conn.send(message)

    async def recv(self) -> bytes:
        message = await self._conn.recv()
        return message if isinstance(message, bytes) else message.encode()


async def amain(port: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with WebsocketServer(auto_clean_rooms=False, log=logging.getLogger("bare")) as ys:

        async def handler(conn: ServerConnection) -> None:
            path = conn.request.path.split("?")[0] if conn.request else "/"
            await ys.serve(Channel(conn, path))

        async with serve(
            handler, "127.0.0.1", port, max_size=None, compression=None, ping_interval=None
        ):
            print("ready", flush=True)
            await stop.wait()


if __name__ == "__main__":
    asyncio.run(amain(int(sys.argv[1])))
