"""The listen backlog holds a class connecting at once (rtc_presence/listenbacklog.py).

Each test fills the accept queue while nobody accepts: a tornado server whose loop
never runs, or a real ``jupyter server`` stopped with SIGSTOP (the kernel still
completes handshakes into the queue of a stopped process). With tornado's 128 the
kernel completes 129 handshakes and drops the other SYNs; with ours, all of them.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from rtc_presence.listenbacklog import listening_sockets, widen_listen_backlog
from rtc_presence.pytest_plugin import TEST_USERS
from tests.reliability.util import SubprocessServer

CLIENTS = 400
LOG = logging.getLogger("test")


@contextmanager
def connecting(port: int, n: int = CLIENTS) -> Iterator[list[socket.socket]]:
    """``n`` non-blocking connects to 127.0.0.1:``port``, closed afterwards."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def handshakes_done(socks: list[socket.socket], settle: float) -> int:
    """How many of ``socks`` connected: poll until all have or none did for ``settle`` s
    (a dropped SYN is retried after 1 s; a full queue drops the retry too)."""
    pending = {s.fileno(): s for s in socks}
    done = 0
    with selectors.DefaultSelector() as sel:
        for sock in socks:
            sel.register(sock, selectors.EVENT_WRITE)
        quiet_until = time.monotonic() + settle
        while pending and time.monotonic() < quiet_until:
            for key, _ in sel.select(timeout=0.05):
                sock = pending.pop(key.fd)
                sel.unregister(sock)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    done += 1
                quiet_until = time.monotonic() + settle
    return done


@pytest.fixture
def tornado_server() -> Iterator[HTTPServer]:
    """A tornado HTTPServer bound as jupyter_server binds it; its loop never runs."""
    server = HTTPServer(Application())
    server.add_sockets(bind_sockets(0, "127.0.0.1"))
    try:
        yield server
    finally:
        server.stop()


def _port(server: HTTPServer) -> int:
    (sock,) = listening_sockets(server)
    return int(sock.getsockname()[1])


def test_tornado_keeps_its_listening_sockets_where_we_read_them(
    tornado_server: HTTPServer,
) -> None:
    # Pins tornado's private TCPServer._sockets (fd -> socket), the only handle on them.
    sockets = listening_sockets(tornado_server)
    assert len(sockets) == 1
    assert sockets[0].fileno() in tornado_server._sockets


def test_tornado_default_backlog_drops_a_class(tornado_server: HTTPServer) -> None:
    with connecting(_port(tornado_server)) as socks:
        done = handshakes_done(socks, settle=0.5)
    assert done < CLIENTS, done


def test_widened_backlog_queues_a_class(tornado_server: HTTPServer) -> None:
    assert widen_listen_backlog(tornado_server, 1024, LOG) == 1
    with connecting(_port(tornado_server)) as socks:
        assert handshakes_done(socks, settle=0.5) == CLIENTS


def test_zero_leaves_the_backlog_alone(tornado_server: HTTPServer) -> None:
    assert widen_listen_backlog(tornado_server, 0, LOG) == 0
    assert widen_listen_backlog(object(), 1024, LOG) == 0  # no sockets to find


@pytest.mark.parametrize(("backlog", "all_queued"), [(None, True), (0, False)])
def test_real_server_queues_a_class_while_busy(
    tmp_path: Path, backlog: int | None, all_queued: bool
) -> None:
    """The extension's start hook widens the real server's socket (default), and
    ``listen_backlog = 0`` keeps tornado's."""
    rtc_config = {} if backlog is None else {"listen_backlog": backlog}
    server = SubprocessServer(tmp_path / "server", TEST_USERS, rtc_config)
    server.start()
    try:
        server.wait_ready()
        os.kill(server.pid, signal.SIGSTOP)  # busy: nothing is accepted
        try:
            with connecting(server.port) as socks:
                done = handshakes_done(socks, settle=0.5)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert (done == CLIENTS) is all_queued, done
        server.wait_ready()  # and it serves on afterwards
    finally:
        server.stop()
