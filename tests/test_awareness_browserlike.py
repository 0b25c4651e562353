"""A real server between clients that treat awareness as stock JupyterLab tabs do.

The clients apply y-protocols' rules and echo every change back
(:class:`rtc_presence.testing.stockawareness.StockTab`). Before issue 11's
fix, two tabs of one person or a tab that came back after its socket was
dropped made the server and the tabs bounce clocks without end until
everyone was closed with 4429.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.stockawareness import StockTab

QUIET_WINDOW = 2.0  # seconds of watching a settled room


async def _tab(rtc_server: RTCServer, user: str, path: str, cursor: object) -> StockTab:
    client = await rtc_server.room(user, path)
    tab = StockTab(client, {"cursor": cursor})
    await tab.announce()
    return tab


async def _wait_seen(viewer: StockTab, tab: StockTab, user: str, timeout: float = 5) -> None:
    def seen() -> bool:
        state = viewer.awareness.states.get(tab.awareness.client_id)
        return state is not None and state.get("user", {}).get("username") == user

    await viewer.client.wait_until(seen, timeout)


async def _messages_in_window(tabs: list[StockTab]) -> int:
    """Wait until the tabs stop sending (deadline 10 s), then count a window."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    last, quiet_since = -1, loop.time()
    while loop.time() - quiet_since < 0.5:
        assert loop.time() < deadline, "the tabs never stop sending awareness"
        now_sent = sum(t.messages_sent for t in tabs)
        if now_sent != last:
            last, quiet_since = now_sent, loop.time()
        await asyncio.sleep(0.05)
    before = sum(t.messages_sent for t in tabs)
    await asyncio.sleep(QUIET_WINDOW)  # the window is what is measured
    return sum(t.messages_sent for t in tabs) - before


def _forged_and_closed(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    lines = [r.getMessage() for r in caplog.records]
    forged = sum("forged awareness" in line for line in lines)
    closed = sum("rtc-presence: closing" in line for line in lines)
    return forged, closed


async def test_two_tabs_of_one_person_settle(
    rtc_server: RTCServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = rtc_server.notebook()
    alice = await _tab(rtc_server, "alice", path, 1)
    bob = await _tab(rtc_server, "bob", path, 2)
    bob2 = await _tab(rtc_server, "bob", path, 3)
    tabs = [alice, bob, bob2]
    for viewer, tab, user in ((alice, bob, "bob"), (alice, bob2, "bob"), (bob2, bob, "bob")):
        await _wait_seen(viewer, tab, user)
    # Cursor moves in both of bob's tabs: each settles.
    for step in range(5):
        await bob.set_local_state({"cursor": step})
        await bob2.set_local_state({"cursor": -step})
    await _wait_seen(alice, bob, "bob")
    moved = await _messages_in_window(tabs)
    forged, closed = _forged_and_closed(caplog)
    print(f"two tabs: messages in {QUIET_WINDOW} s after settling={moved} forged={forged}")
    assert moved == 0, "the room keeps bouncing awareness"
    assert (forged, closed) == (0, 0)
    assert max(t.awareness.clock for t in tabs) < 20
    assert all(not t.client.closed for t in tabs)


async def test_a_dropped_tab_comes_back_with_its_client_id(
    rtc_server: RTCServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = rtc_server.notebook()
    alice = await _tab(rtc_server, "alice", path, 1)
    carol = await _tab(rtc_server, "carol", path, 3)
    bob = await _tab(rtc_server, "bob", path, 2)
    await _wait_seen(alice, bob, "bob")
    # The server drops bob (what the ping sweep does to a frozen laptop).
    (handler,) = [
        h
        for h in list(rtc_server.state.liveness.peers)
        if h.current_user.username == "bob" and not h.released
    ]
    handler.drop(1001, "ping timed out")
    await alice.client.wait_until(lambda: bob.awareness.client_id not in alice.awareness.states, 5)
    # bob's browser reconnects with the same Doc, client id and clock.
    bob.awareness.remove_remote()
    client = await rtc_server.room("bob", path, client_id=bob.awareness.client_id)
    back = StockTab(client)
    back.awareness = bob.awareness
    await back.announce()
    await _wait_seen(alice, back, "bob")
    await _wait_seen(carol, back, "bob")
    moved = await _messages_in_window([alice, carol, back])
    forged, closed = _forged_and_closed(caplog)
    print(f"dropped tab back: messages in window={moved} forged={forged} closes={closed}")
    assert moved == 0
    assert forged == 0
    assert closed == 1  # the drop itself, nothing after it
