"""The room the hostile-frame tests (``test_reliability_frames_*.py``) attack: alice
types into ``target.ipynb`` while carol watches, and what must be left afterwards."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from rtc_presence.awareness import _SERVER
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import YClient, append_text
from tests.reliability.util import doc_sources, file_sources, marker, save_until_success

MAX_MESSAGE = 1 << 20  # 1 MiB
PATH = "target.ipynb"
INITIAL = ["# cell 0\n", "# cell 1\n"]


def frame_limits() -> dict[str, Any]:
    """The ``rtc_config`` of every hostile-frame test: 1 MiB frames.

    States as large as a frame may be, so that the frame limit (1009) is what is tested
    there; the state bound (4413) is tested in test_reliability_bounds.py.
    """
    return {"max_message_size": MAX_MESSAGE, "max_awareness_state_bytes": MAX_MESSAGE}


class Owner:
    """alice types markers into cell 0 while the hostile traffic runs; carol watches."""

    def __init__(self, alice: YClient, carol: YClient) -> None:
        self.alice = alice
        self.carol = carol
        self.typed: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def _type(self) -> None:
        while not self._stop.is_set():
            m = marker("alice", len(self.typed))
            append_text(self.alice.doc, 0, m)
            self.typed.append(m)
            await asyncio.sleep(0.05)

    def start(self) -> None:
        self._task = asyncio.create_task(self._type())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def expected(self) -> list[str]:
        return [INITIAL[0] + "".join(self.typed), INITIAL[1]]

    async def check_intact(self, rtc_server: RTCServer) -> None:
        """The notebook in both clients and on disk is exactly what alice typed."""
        expected = self.expected()
        await self.carol.wait_until(lambda: doc_sources(self.carol.doc) == expected, 10)
        assert doc_sources(self.alice.doc) == expected
        await save_until_success(self.carol, 9000)
        assert file_sources(rtc_server.root / PATH) == expected


async def setup_room(rtc_server: RTCServer) -> Owner:
    rtc_server.notebook(PATH, cells=2)
    alice = await rtc_server.room("alice", PATH)
    carol = await rtc_server.room("carol", PATH)
    await alice.set_awareness({"cursor": {"head": 0}})
    await carol.wait_awareness(lambda s: s.get(alice.client_id) is not None, 5)
    return Owner(alice, carol)


def live_room_handlers(rtc_server: RTCServer) -> list[Any]:
    gc.collect()
    return [h for h in list(rtc_server.state.liveness.peers) if not h.released]


def assert_nothing_left(rtc_server: RTCServer, owner: Owner) -> None:
    """Only alice's and carol's connections are known to the room and to presence."""
    live = live_room_handlers(rtc_server)
    assert {h.current_user.username for h in live} == {"alice", "carol"}, live
    room = live[0].room
    assert set(room.clients) == set(live)
    guard = rtc_server.state.room_awareness(room)
    assert set(guard.owners().values()) <= {*live, _SERVER}, guard.owners()
    assert guard.cached_ids() <= set(guard.owners())
    people = {p["username"]: p for p in rtc_server.state.presence.people()}
    assert set(people) == {"alice", "carol"}, people
    assert all(p["connections"] == 1 for p in people.values())
    # the legitimate awareness states are still the only ones others see
    carol_view = {cid for cid, s in owner.carol.awareness.items() if s is not None}
    assert owner.alice.client_id in carol_view
