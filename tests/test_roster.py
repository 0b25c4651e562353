"""The gate's record of who holds websockets stays bounded (rtc_presence/roster.py).

A server behind token authentication sees a new anonymous user per connection; the
record and the remembered identities grew by one per connection before.
"""

from __future__ import annotations

import gc
import logging
from typing import Any, cast

from tornado.websocket import WebSocketHandler

from rtc_presence.gate import MAX_IDENTITIES, Gate
from rtc_presence.roster import PRUNE_FLOOR, SocketRoster


class _Conn:
    def __init__(self) -> None:
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing


class FakeSocket:
    """What the roster reads of a tornado WebSocketHandler."""

    def __init__(self) -> None:
        self.ws_connection: _Conn | None = _Conn()
        self.closed_with: tuple[int, str] | None = None
        self.status = 101  # tornado's status once the handshake is over

    def get_status(self) -> int:
        return self.status

    def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        assert self.ws_connection is not None
        self.ws_connection.closing = True


def _ws(sock: FakeSocket) -> WebSocketHandler:
    return cast(WebSocketHandler, sock)


def test_people_who_left_are_dropped_as_others_arrive() -> None:
    roster = SocketRoster()
    live = [FakeSocket() for _ in range(10)]
    for i, sock in enumerate(live):
        roster.add(f"stays-{i}", _ws(sock))
    for i in range(10 * PRUNE_FLOOR):
        sock = FakeSocket()
        roster.add(f"anon-{i}", _ws(sock))
        sock.ws_connection = None  # the connection ended
    assert len(roster) <= 2 * PRUNE_FLOOR
    assert sorted(roster.connected()) == sorted(f"stays-{i}" for i in range(10))


def test_a_socket_in_its_handshake_keeps_its_person() -> None:
    # Authenticated, waiting for its kernel: no connection yet, status 200.
    # Forgetting bob here made a level change meanwhile close nothing.
    roster = SocketRoster()
    pending = FakeSocket()
    pending.ws_connection, pending.status = None, 200
    roster.add("bob", _ws(pending))
    ended = FakeSocket()
    ended.ws_connection = None  # closed after its handshake: status 101
    roster.add("carol", _ws(ended))
    refused = FakeSocket()
    refused.ws_connection, refused.status = None, 403
    roster.add("dave", _ws(refused))
    assert roster.connected() == ["bob"]
    assert roster.get("bob") is not None and roster.get("carol") is None


def test_a_person_keeps_one_record_for_many_sockets() -> None:
    roster = SocketRoster()
    socks = [FakeSocket() for _ in range(3)]
    people = {id(roster.add("bob", _ws(s))) for s in socks}
    assert len(people) == 1
    person = roster.get("bob")
    assert person is not None and len(person.open_sockets()) == 3
    assert person.close(4403, "revoked") == 3
    assert all(s.closed_with == (4403, "revoked") for s in socks)
    assert person.open_sockets() == []


def test_sockets_are_held_weakly() -> None:
    roster = SocketRoster()
    roster.add("bob", _ws(FakeSocket()))
    gc.collect()
    person = roster.get("bob")
    assert person is not None and len(person.sockets) == 0
    assert roster.connected() == []


def test_remembered_identities_are_bounded_and_keep_the_owner() -> None:
    gate = Gate("alice", logging.getLogger("test"))
    remember: Any = gate._remember
    remember("alice", {"username": "alice"})
    for i in range(MAX_IDENTITIES + 50):
        remember(f"anon-{i}", {"username": f"anon-{i}"})
    assert len(gate.identities) == MAX_IDENTITIES
    assert "alice" in gate.identities
    assert "anon-0" not in gate.identities
    assert f"anon-{MAX_IDENTITIES + 49}" in gate.identities
    remember("anon-100", {"username": "anon-100"})  # seen again: now the newest
    assert list(gate.identities)[-1] == "anon-100"
