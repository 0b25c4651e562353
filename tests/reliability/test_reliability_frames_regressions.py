"""Bugs the hostile-frame suite found (docs/reliability.md), pinned one by one.

Non-JSON numbers and lone surrogates in awareness states, malformed RAW and text frames,
frames in flight after an eviction; and the presence stream, which reads nothing from
clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest

from rtc_presence.awareness import _SERVER
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import YClient, append_text
from rtc_presence.testing.yclient import notebook_cells as doc_cells
from tests.reliability.fuzzing import awareness_frame, varbytes, varuint
from tests.reliability.hostile_room import PATH, frame_limits, live_room_handlers, setup_room
from tests.reliability.util import doc_sources, record


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    return frame_limits()


@pytest.mark.parametrize(
    "state",
    ['{"cursor":NaN}', '{"a":Infinity}', '{"a":[-Infinity]}', '{"a":1e999}'],
)
async def test_non_json_numbers_in_awareness_are_refused(rtc_server: RTCServer, state: str) -> None:
    """Python's json accepts NaN/Infinity (and turns 1e999 into Infinity); browsers'
    JSON.parse does not. Such a state used to be forwarded to everyone as is."""
    owner = await setup_room(rtc_server)
    forwarded: list[str] = []
    mallory = await rtc_server.room("mallory", PATH)
    original = owner.carol._handle

    def spy(message: bytes, received_at: float) -> None:
        if message and message[0] == 1:
            forwarded.append(message.decode("utf-8", "replace"))
        original(message, received_at)

    owner.carol._handle = spy  # type: ignore[method-assign]
    await mallory.websocket.send(awareness_frame([(mallory.client_id, 1, state.encode())]))
    with contextlib.suppress(Exception):
        await mallory.set_awareness({"marker": "after"}, clock=2)
    await asyncio.sleep(0.5)
    for text in forwarded:
        body = text[text.index("{") :] if "{" in text else ""
        assert "NaN" not in body and "Infinity" not in body, body
    assert mallory.closed and mallory.close_code == 4400, (mallory.close_code, forwarded)


async def test_lone_surrogate_escape_in_awareness_closes_4400(rtc_server: RTCServer) -> None:
    r"""``{"a":"\ud800"}`` is valid UTF-8 but cannot be written back: the server used to hit
    an uncaught UnicodeEncodeError and drop the connection without a close frame (1006)."""
    owner = await setup_room(rtc_server)
    mallory = await rtc_server.room("mallory", PATH)
    await mallory.websocket.send(awareness_frame([(mallory.client_id, 1, b'{"a":"\\ud800"}')]))
    code, reason = await mallory.wait_closed(5)
    assert code == 4400, (code, reason)
    await owner.carol.wait_awareness(lambda s: s.get(mallory.client_id) is None, 5)


@pytest.mark.parametrize(
    "frame",
    [
        varuint(2) + varbytes(b"save"),  # save without its request id
        varuint(2) + varbytes(b"save") + b"\x80",  # request id cut in the middle
        varuint(2) + varbytes(b"\xff\xfe"),  # RAW string that is not UTF-8
    ],
    ids=["save-without-id", "save-id-truncated", "raw-not-utf8"],
)
async def test_malformed_raw_frames_close_4400(rtc_server: RTCServer, frame: bytes) -> None:
    """README: malformed RAW frames close their connection with 4400. They used to reach
    jupyter-collaboration's handler, which raised: a logged traceback and a connection
    dropped without a close frame (1006)."""
    owner = await setup_room(rtc_server)
    mallory = await rtc_server.room("mallory", PATH)
    await mallory.websocket.send(frame)
    code, reason = await mallory.wait_closed(5)
    assert (code, (reason or "").startswith("malformed message")) == (4400, True), (code, reason)
    append_text(owner.alice.doc, 1, "ok")
    await owner.carol.wait_until(lambda: doc_sources(owner.carol.doc)[1].endswith("ok"), 5)


async def test_text_frame_close_reason_is_the_documented_one(rtc_server: RTCServer) -> None:
    """README: 4400 ``malformed message: ...`` for "a frame that is not valid y-websocket
    sync/awareness/RAW, or a text frame" (the reason used to be different)."""
    await setup_room(rtc_server)
    mallory = await rtc_server.room("mallory", PATH)
    await mallory.websocket.send("hello")
    code, reason = await mallory.wait_closed(5)
    assert code == 4400
    assert (reason or "").startswith("malformed message: "), reason


async def test_frames_in_flight_after_eviction_are_dropped(rtc_server: RTCServer) -> None:
    """Frames a revoked guest sent just before the server closed his connection must not
    be applied after it. They used to be: his cursor came back for everyone (a ghost
    that no close ever removed) and his late edit landed in the notebook."""
    owner = await setup_room(rtc_server)
    bob = await rtc_server.room("bob", PATH)
    await bob.set_awareness({"cursor": 1})
    await owner.carol.wait_awareness(lambda s: s.get(bob.client_id) is not None, 5)
    # Queue frames in bob's socket, then revoke him before the server reads them
    # (one event loop: nothing runs between the sends and evict()).
    for clock in range(10, 15):
        state = json.dumps({"cursor": clock}).encode()
        await bob.websocket.send(awareness_frame([(bob.client_id, clock, state)]))
    late = pycrdt_update_for(bob, "late-edit")
    await bob.websocket.send(late)
    rtc_server.state.gate.evict("bob", by="alice")
    code, _ = await bob.wait_closed(5)
    assert code == 4403
    await asyncio.sleep(1.0)
    assert owner.carol.awareness.get(bob.client_id) is None, owner.carol.awareness
    assert "late-edit" not in "".join(doc_sources(owner.carol.doc))
    live = live_room_handlers(rtc_server)
    guard = rtc_server.state.room_awareness(live[0].room)
    assert set(guard.owners().values()) <= {*live, _SERVER}, guard.owners()


def pycrdt_update_for(client: YClient, text: str) -> bytes:
    """A SYNC_UPDATE frame that appends ``text`` to cell 1 of ``client``'s document,
    without sending it through the client (so that the test decides when it leaves)."""
    doc = client.doc
    before = doc.get_state()
    cell = doc_cells(doc)[1]
    source = cell["source"]
    client.apply_updates = False
    sub = client._subscription
    if sub is not None:
        doc.unobserve(sub)
        client._subscription = None
    source.insert(len(source), text)
    return varuint(0) + varuint(2) + varbytes(doc.get_update(before))


async def test_presence_stream_ignores_client_junk(rtc_server: RTCServer) -> None:
    """The presence stream reads nothing from clients: junk in any amount is ignored, a
    message over its 4 KiB limit closes only that stream with 1009, and the other
    subscribers keep receiving updates."""
    watcher = await rtc_server.stream("alice")
    assert json.loads(await asyncio.wait_for(watcher.recv(), 5))["type"] == "snapshot"
    junk = await rtc_server.stream("mallory")
    await asyncio.wait_for(junk.recv(), 5)
    sent = 0
    for i in range(500):
        n = i % 200  # up to 2 KB: under the stream's 4 KiB limit
        await junk.send(b"\x00\xff" * n if i % 2 else "not json {" * n)
        sent += 1
    huge = await rtc_server.stream("mallory")
    await asyncio.wait_for(huge.recv(), 5)
    with contextlib.suppress(Exception):
        await huge.send(b"x" * (4096 + 1))
    closed_code = None
    with contextlib.suppress(Exception):
        while True:
            await asyncio.wait_for(huge.recv(), 10)
    closed_code = huge.close_code
    assert closed_code == 1009, closed_code
    # the junk sender's stream still works, and so does everyone else's
    await rtc_server.global_room("bob")
    for ws in (watcher, junk):
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if msg["type"] == "join":
                assert msg["person"]["username"] == "bob"
                break
    await watcher.close()
    await junk.close()
    record("presence_stream_junk", {"junk_messages": sent, "oversized_closed_1009": 1})
