"""Fault injection for test clients: a crashed client and a hung one.

Both act on the ``websockets`` connection's transport, below the websocket
protocol, so the server sees what a real failure looks like on the wire.
"""

from __future__ import annotations

import contextlib
import socket

from websockets.asyncio.client import ClientConnection

__all__ = ["crash", "hang"]


def crash(ws: ClientConnection) -> None:
    """Drop the TCP connection without a close handshake (a crashed client)."""
    transport = ws.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER 0 -> RST, like a killed process with unsent data.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
    transport.abort()


def hang(ws: ClientConnection) -> None:
    """Stop reading from the socket (a hung or partitioned client).

    The TCP connection stays open, so the server only notices through its own
    pings or timeouts (pings are not answered because nothing is read).
    """
    ws.transport.pause_reading()
