"""The awareness rules converge with the stock browser client (issue 11).

Each scenario runs :class:`RoomAwareness` between models of stock JupyterLab
tabs (:class:`StockAwareness`: y-protocols + y-websocket's echo of every
change) and routes messages as the server does: forwarded frames to every
connection (the sender included), nudges to the sender, removals to the
others when a connection goes. A rule that loops shows as a message count
that does not settle; a rule that fights the client shows as forged entries.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import pytest

from rtc_presence.awareness import AwarenessLimits, RoomAwareness, removal_frame
from rtc_presence.frames import OverLimit, encode_awareness, parse_awareness
from rtc_presence.testing.stockawareness import Entry, StockAwareness

SETTLE_LIMIT = 200  # messages; a loop runs into it at once


def _user(person: str) -> str:
    return json.dumps({"username": person, "name": person})


class Conn:
    def __init__(self, tab: StockAwareness, person: str) -> None:
        self.tab = tab
        self.person = person
        self.open = True


class SimRoom:
    """A room with the server's rules and in-order delivery."""

    def __init__(self, limits: AwarenessLimits | None = None) -> None:
        self.guard = RoomAwareness(limits=limits)
        self.conns: list[Conn] = []
        self.room_states: dict[int, tuple[int, str]] = {}
        self.queue: deque[tuple[str, Conn, list[Entry]]] = deque()
        self.forged = 0
        self.messages = 0

    # -- what the server does ------------------------------------------------

    def connect(self, tab: StockAwareness, person: str) -> Conn:
        conn = Conn(tab, person)
        self.conns.append(conn)
        self._to_server(conn, tab.on_open())
        if self.room_states:  # the snapshot of who is here
            snapshot = [(c, k, json.loads(s)) for c, (k, s) in self.room_states.items()]
            self.queue.append(("client", conn, snapshot))
        return conn

    def drop(self, conn: Conn) -> None:
        """The server closes (or sees closed) ``conn``; the tab is not told."""
        conn.open = False
        self.conns.remove(conn)
        gone = self.guard.release(conn)
        if gone:
            for cid, _ in gone:
                self.room_states.pop(cid, None)
            entries = _entries(removal_frame(gone))
            for other in self.conns:
                self.queue.append(("client", other, entries))

    def _to_server(self, conn: Conn, entries: list[Entry]) -> None:
        if entries and conn.open:
            self.queue.append(("server", conn, entries))

    def _server_receives(self, conn: Conn, entries: list[Entry]) -> None:
        frame = encode_awareness(
            [(c, k, "null" if s is None else json.dumps(s)) for c, k, s in entries]
        )
        verdict = self.guard.filter(conn, _user(conn.person), frame, conn.person)
        self.forged += verdict.forged
        if verdict.nudge is not None:
            self.queue.append(("client", conn, _entries(verdict.nudge)))
        if verdict.frame is not None:
            forwarded = _entries(verdict.frame)
            for cid, clock, state in forwarded:
                if state is None:
                    self.room_states.pop(cid, None)
                else:
                    self.room_states[cid] = (clock, json.dumps(state))
            for other in self.conns:
                self.queue.append(("client", other, forwarded))

    # -- running -------------------------------------------------------------

    def send(self, conn: Conn, entries: list[Entry]) -> None:
        self._to_server(conn, entries)

    def settle(self) -> int:
        """Deliver until nothing moves; return how many messages that took."""
        count = 0
        while self.queue:
            count += 1
            if count > SETTLE_LIMIT:
                raise AssertionError(f"awareness does not settle: {count} messages and counting")
            where, conn, entries = self.queue.popleft()
            if not conn.open:
                continue
            if where == "server":
                self._server_receives(conn, entries)
            else:
                self._to_server(conn, conn.tab.apply(entries))
        self.messages += count
        return count


def _entries(frame: bytes) -> list[Entry]:
    return [(e.client_id, e.clock, json.loads(e.state_json)) for e in parse_awareness(frame)]


def _sees(viewer: StockAwareness, tab: StockAwareness, person: str) -> bool:
    state = viewer.states.get(tab.client_id)
    return state is not None and state.get("user", {}).get("username") == person


def _everyone_sees_everyone(people: list[tuple[StockAwareness, str]]) -> bool:
    return all(
        _sees(viewer, tab, person)
        for viewer, _ in people
        for tab, person in people
        if viewer is not tab
    )


def _others_see_at_once_and_are_seen_at_their_renewal(
    room: SimRoom, people: list[tuple[StockAwareness, str, Conn]], back: StockAwareness
) -> None:
    """After a reconnect: everyone sees the tab that came back at once (the
    nudge), and it sees each idle peer again at that peer's next renewal.

    The returning tab kept its peers' clocks when its provider dropped their
    states, so it ignores them at those clocks (stock y-websocket servers
    behave the same); asking every peer to re-announce would cost N^2
    messages per reconnect in a classroom. A peer who moves is seen at once.
    """
    names = {id(t): p for t, p, _ in people}
    for viewer, _, _ in people:
        if viewer is not back:
            assert _sees(viewer, back, names[id(back)])
    for tab, _, conn in people:
        if tab is not back and conn.open:
            room.send(conn, tab.tick(now=tab.meta[tab.client_id].last_updated + 15))
            assert room.settle() <= 12
    assert _everyone_sees_everyone([(t, p) for t, p, _ in people])
    assert room.forged == 0


@pytest.fixture
def room() -> SimRoom:
    return SimRoom()


def _three(room: SimRoom) -> list[tuple[StockAwareness, str, Conn]]:
    out = []
    for cid, person in ((101, "alice"), (202, "bob"), (303, "carol")):
        tab = StockAwareness(cid, {"cursor": cid})
        out.append((tab, person, room.connect(tab, person)))
        room.settle()
    return out


def test_three_people_settle_and_renewals_stay_quiet(room: SimRoom) -> None:
    people = _three(room)
    assert _everyone_sees_everyone([(t, p) for t, p, _ in people])
    # Renewals every 15 s and cursor moves: each costs a bounded number of
    # messages (the update, its fan-out, the echoes), never a loop.
    for step in range(20):
        tab, _, conn = people[step % 3]
        room.send(conn, tab.set_local_state({"cursor": step}))
        assert room.settle() <= 10
    assert room.forged == 0


def test_a_second_tab_of_the_same_person(room: SimRoom) -> None:
    people = _three(room)
    bob2 = StockAwareness(222, {"cursor": "tab 2"})
    conn2 = room.connect(bob2, "bob")
    assert room.settle() <= 30
    for step in range(12):
        for tab, conn in ((people[1][0], people[1][2]), (bob2, conn2)):
            room.send(conn, tab.set_local_state({"cursor": step}))
            assert room.settle() <= 12
    assert room.forged == 0
    everyone = [(t, p) for t, p, _ in people] + [(bob2, "bob")]
    assert _everyone_sees_everyone(everyone)
    assert max(t.clock for t, _ in everyone) < 30  # clocks move with the clients only


def test_a_frozen_tab_dropped_by_pings_comes_back(room: SimRoom) -> None:
    people = _three(room)
    bob, _, conn = people[1]
    room.drop(conn)  # the sweeper closed the frozen tab's socket
    room.settle()
    assert not _sees(people[0][0], bob, "bob")
    # The tab resumes: its socket is dead, the provider drops remote states
    # and reconnects with the same client id and clock.
    bob.remove_remote()
    room.connect(bob, "bob")
    assert room.settle() <= 30
    _others_see_at_once_and_are_seen_at_their_renewal(room, people, bob)


def test_a_half_open_socket_is_taken_over_by_the_reconnect(room: SimRoom) -> None:
    people = _three(room)
    bob, _, old = people[1]
    # The network dropped: bob's browser reconnects while the server still
    # holds the old socket (it will be swept later).
    bob.remove_remote()
    room.connect(bob, "bob")
    assert room.settle() <= 30
    room.drop(old)  # the sweep of the old socket must not remove bob
    room.settle()
    _others_see_at_once_and_are_seen_at_their_renewal(room, people, bob)


def test_a_server_restart_with_everyone_present() -> None:
    first = SimRoom()
    people = _three(first)
    tabs = [(t, p) for t, p, _ in people]
    second = SimRoom()  # new process: no memory of ids, clocks or removals
    again = []
    for tab, person in tabs:
        tab.remove_remote()
        again.append((tab, person, second.connect(tab, person)))
        assert second.settle() <= 30
    # The last one back is seen by all at once; all are seen by all after one renewal.
    _others_see_at_once_and_are_seen_at_their_renewal(second, again, tabs[-1][0])


def test_a_guest_revoked_and_allowed_back_with_a_new_page(room: SimRoom) -> None:
    people = _three(room)
    room.drop(people[2][2])  # carol revoked: her sockets closed
    room.settle()
    carol = StockAwareness(333, {"cursor": "new page"})  # she reloads
    room.connect(carol, "carol")
    assert room.settle() <= 30
    assert _everyone_sees_everyone([(t, p) for t, p, _ in people[:2]] + [(carol, "carol")])
    assert room.forged == 0


def test_timeouts_in_a_tab_are_not_forgeries(room: SimRoom) -> None:
    people = _three(room)
    alice, _, conn = people[0]
    # alice's tab did not hear from the others for 30 s (a long stall) and
    # drops them locally; its provider tells the server.
    room.send(conn, alice.tick(now=alice.meta[alice.client_id].last_updated + 31))
    assert room.settle() <= 20
    assert room.forged == 0


def test_forgeries_are_still_dropped(room: SimRoom) -> None:
    people = _three(room)
    alice = people[0][0]
    mallory = StockAwareness(666, {})
    conn = room.connect(mallory, "mallory")
    room.settle()
    # mallory overwrites and removes alice's state with higher clocks
    room.send(conn, [(alice.client_id, alice.clock + 50, {"user": {"username": "alice"}})])
    room.send(conn, [(alice.client_id, alice.clock + 51, None)])
    room.settle()
    assert room.forged == 2
    assert _sees(people[1][0], alice, "alice")
    # bob's id, once released, stays reserved for bob for a while
    bob_id = people[1][0].client_id
    room.drop(people[1][2])
    room.settle()
    room.send(conn, [(bob_id, 10_000, {"cursor": 1})])
    room.settle()
    assert room.forged == 3
    assert room.guard.owner_of(bob_id) is None


def test_limits_per_connection() -> None:
    guard = RoomAwareness(
        limits=AwarenessLimits(max_client_ids=2, max_entries=3, max_state_bytes=100)
    )
    conn = object()

    def send(entries: list[tuple[int, int, str]]) -> None:
        guard.filter(conn, _user("bob"), encode_awareness(entries), "bob")

    send([(1, 1, "{}"), (2, 1, "{}")])
    with pytest.raises(OverLimit, match="client ids"):
        send([(3, 1, "{}")])
    with pytest.raises(OverLimit, match="entries"):
        send([(1, 50 + i, "{}") for i in range(4)])
    with pytest.raises(OverLimit, match="bytes"):
        send([(1, 99, json.dumps({"x": "y" * 200}))])


def test_model_matches_y_protocols_own_removal() -> None:
    # The nudge relies on this y-protocols rule: a removal of the tab's own
    # live state at a clock >= its own is answered by a re-announcement.
    tab = StockAwareness(7, {"a": 1})
    clock = tab.clock
    echo: list[Any] = tab.apply([(7, clock + 3, None)])
    assert echo == [(7, clock + 4, {"a": 1})]
