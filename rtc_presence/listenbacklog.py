"""A listen backlog that holds a class arriving at once.

tornado binds the server's sockets with a backlog of 128 (``bind_sockets``'s default,
which jupyter_server does not change). When 300 websockets open within a few
milliseconds (a class clicking the link; the hub's proxy opens one upstream
connection per browser websocket) the server is still busy with the first ones, the
kernel's accept queue fills and the rest of the SYNs are dropped. Their clients
retry after the kernel's initial retransmission timeout, one second: 300 joins that
take 0.35 s take 1.1 s instead (bench/README.md "Where the time goes"). Node's
servers listen with 511.

Linux takes a second ``listen()`` on a listening socket as a new backlog (capped by
``net.core.somaxconn``), so :func:`widen_listen_backlog` can raise it once the
server is bound, from the extension's start hook, without rebinding anything.
"""

from __future__ import annotations

import logging
import socket
from typing import Any


def listening_sockets(http_server: Any) -> list[socket.socket]:
    """The TCP and Unix stream sockets ``http_server`` (a tornado ``TCPServer``)
    accepts on. tornado has no public accessor: ``_sockets`` (fd -> socket) is
    private, pinned by ``tests/test_listenbacklog.py``."""
    sockets = getattr(http_server, "_sockets", None)
    if not isinstance(sockets, dict):
        return []
    return [s for s in sockets.values() if isinstance(s, socket.socket)]


def widen_listen_backlog(http_server: Any, backlog: int, log: logging.Logger) -> int:
    """``listen(backlog)`` again on every socket of ``http_server``; returns how many
    took it. ``backlog`` <= 0 leaves tornado's as it is."""
    if backlog <= 0:
        return 0
    widened = 0
    for sock in listening_sockets(http_server):
        try:
            if sock.type != socket.SOCK_STREAM or sock.fileno() < 0:
                continue
            sock.listen(backlog)
        except OSError as exc:
            log.warning("rtc-presence: could not raise the listen backlog: %s", exc)
            continue
        widened += 1
    return widened


__all__ = ["listening_sockets", "widen_listen_backlog"]
