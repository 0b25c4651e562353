"""Awareness coalescing in busy rooms (rtc_presence.awarenessbatch)."""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest

from rtc_presence.awarenessbatch import AwarenessBatch, BatchPolicy
from rtc_presence.frames import parse_awareness
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.waiting import until


class Channel:
    """A room client that is not a tornado websocket: the fan-out gives it a task."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    async def send(self, message: bytes) -> None:
        self.frames.append(message)


class TaskGroup:
    def start_soon(self, fn: Any, *args: Any) -> None:
        fn.__self__.frames.append(args[0])  # delivered at once: nothing to await


class Room:
    def __init__(self, clients: int) -> None:
        self.clients = {Channel() for _ in range(clients)}
        self._task_group = TaskGroup()
        self.awareness = pycrdt.Awareness(pycrdt.Doc())

    def frames(self) -> list[list[tuple[int, int, str]]]:
        """What one client received, one list of (id, clock, state) per frame."""
        got = next(iter(self.clients)).frames
        assert all(c.frames == got for c in self.clients)  # everyone got the same
        return [
            [(e.client_id, e.clock, e.state_json) for e in parse_awareness(f, 100, 10_000)]
            for f in got
        ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state(n: int) -> str:
    return f'{{"cursor":{n}}}'


async def test_a_small_room_gets_every_frame_at_once() -> None:
    room = Room(3)
    batch = AwarenessBatch(room, BatchPolicy(min_clients=4, interval=10, renewal_hold=10))
    batch.push([(1, 1, state(1))])
    batch.push([(1, 2, state(1))], renewal=True)
    batch.push([(2, 1, state(2))])
    assert room.frames() == [[(1, 1, state(1))], [(1, 2, state(1))], [(2, 1, state(2))]]


async def test_a_busy_room_sends_a_change_at_once_then_coalesces() -> None:
    room, clock = Room(3), Clock()
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=0.05), clock)
    batch.push([(1, 1, state(1))])
    assert room.frames() == [[(1, 1, state(1))]]  # nothing sent lately: no wait
    batch.push([(2, 1, state(2))])
    batch.push([(1, 2, state(3))])  # the latest state of 1 wins
    assert len(room.frames()) == 1 and batch.pending
    await until(lambda: len(room.frames()) == 2, 5, "the coalesced frame")
    assert sorted(room.frames()[1]) == [(1, 2, state(3)), (2, 1, state(2))]
    # The room's own awareness follows what the peers were told.
    assert room.awareness.states[1] == {"cursor": 3}
    assert room.awareness.meta[1]["clock"] == 2


async def test_a_renewal_rides_along_with_the_next_change() -> None:
    room, clock = Room(3), Clock()
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=0.05, renewal_hold=60), clock)
    batch.push([(7, 5, state(7))], renewal=True)
    assert room.frames() == []
    clock.now += 1
    batch.push([(1, 1, state(1))])
    assert [sorted(f) for f in room.frames()] == [[(1, 1, state(1)), (7, 5, state(7))]]
    assert not batch.pending


async def test_a_renewal_alone_goes_after_the_hold() -> None:
    room = Room(3)
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=0.05, renewal_hold=0.2))
    batch.push([(7, 5, state(7))], renewal=True)
    batch.push([(8, 2, state(8))], renewal=True)
    assert room.frames() == []
    await until(lambda: room.frames(), 5, "the held renewals")
    assert [sorted(f) for f in room.frames()] == [[(7, 5, state(7)), (8, 2, state(8))]]


async def test_a_change_does_not_wait_for_a_held_renewal_timer() -> None:
    room, clock = Room(3), Clock()
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=0.1, renewal_hold=60), clock)
    batch.push([(1, 1, state(1))])  # sent; the next change waits up to 0.1 s
    batch.push([(7, 5, state(7))], renewal=True)  # due in 60 s
    batch.push([(1, 2, state(2))])  # due in 0.1 s: the earlier timer wins
    await until(lambda: len(room.frames()) == 2, 5, "the change")
    assert sorted(room.frames()[1]) == [(1, 2, state(2)), (7, 5, state(7))]


async def test_removals_are_applied_to_the_room_awareness() -> None:
    room = Room(3)
    batch = AwarenessBatch(room, BatchPolicy(min_clients=0))
    batch.push([(1, 1, state(1)), (2, 1, state(2))])
    assert set(room.awareness.states) >= {1, 2}
    assert batch.snapshot([1, 2]) is not None
    batch.push([(1, 1, "null")])
    assert 1 not in room.awareness.states and 2 in room.awareness.states
    frame = batch.snapshot([1, 2])
    assert frame is not None and [e.client_id for e in parse_awareness(frame, 9, 999)] == [2]


async def test_the_snapshot_for_a_newcomer_includes_what_is_pending() -> None:
    room, clock = Room(3), Clock()
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=60), clock)
    batch.push([(1, 1, state(1)), (2, 1, state(2)), (3, 1, state(3))])
    batch.push([(1, 2, state(10)), (2, 2, "null")])  # pending: 1 moved, 2 left
    frame = batch.snapshot([1, 2, 3])
    assert frame is not None
    got = {e.client_id: (e.clock, e.state_json) for e in parse_awareness(frame, 100, 10_000)}
    assert got == {1: (2, state(10)), 3: (1, state(3))}
    assert batch.snapshot([]) is None
    batch.close()


async def test_a_room_that_is_gone_is_not_written_to() -> None:
    room = Room(3)
    batch = AwarenessBatch(room, BatchPolicy(min_clients=3, interval=0.05))
    del room
    batch.push([(1, 1, state(1))])  # no error, nothing kept
    assert not batch.pending


# -- a real server with real Yjs clients --------------------------------------


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    return {
        "awareness_batch_min_clients": 2,
        "awareness_batch_interval": 0.2,
        "awareness_renewal_hold": 0.5,
    }


async def test_a_busy_room_coalesces_cursor_moves_and_keeps_everyone_right(
    rtc_server: RTCServer,
) -> None:
    path = rtc_server.notebook()
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    carol = await rtc_server.room("carol", path)
    for c in (alice, bob, carol):
        await c.set_awareness({"cursor": 0})
    everyone = (alice, bob, carol)
    for c in everyone:
        others = [o.client_id for o in everyone if o is not c]
        await c.wait_awareness(lambda s, ids=others: all(s.get(i) for i in ids), 10)
    handler = next(iter(rtc_server.state.liveness.peers))
    batch = rtc_server.state.awareness_batch(handler.room)
    sent = batch.frames_sent
    for i in range(1, 21):
        await alice.set_awareness({"cursor": i})
    for c in (bob, carol):
        await c.wait_awareness(lambda s: (s.get(alice.client_id) or {}).get("cursor") == 20, 10)
    # Twenty moves in well under the 0.2 s interval: a few frames, not twenty.
    assert batch.frames_sent - sent < 20
    assert bob.awareness[alice.client_id]["user"]["username"] == "alice"  # type: ignore[index]

    # A newcomer sees everybody at once; somebody leaving disappears for all.
    dave = await rtc_server.room("bob", path)  # a second tab
    await dave.wait_awareness(lambda s: all(s.get(c.client_id) for c in (alice, bob, carol)), 10)
    await carol.close()
    for c in (alice, bob, dave):
        await c.wait_awareness(lambda s: s.get(carol.client_id) is None, 10)
