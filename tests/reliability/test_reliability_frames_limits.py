"""Frames over the limits against a real server (issue 7, part 2).

Frames over ``max_message_size`` (1 MiB here) close with 1009, awareness floods with
4429, invalid UTF-8 in awareness states with 4400, while the owner keeps typing; everyone
else keeps syncing, the notebook ends exactly as expected and the server forgets every
closed connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import pytest

from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import YClient
from tests.reliability.fuzzing import awareness_frame, classify_frame, varbytes, varuint
from tests.reliability.hostile_room import (
    MAX_MESSAGE,
    PATH,
    assert_nothing_left,
    frame_limits,
    setup_room,
)
from tests.reliability.util import record


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    return frame_limits()


async def _send_huge(client: YClient, size: int, fragmented: bool) -> None:
    payload = varuint(1) + varbytes(b"x" * size)  # an awareness frame, over the limit
    if fragmented:

        async def chunks() -> Any:
            for i in range(0, len(payload), 64 * 1024):
                yield payload[i : i + 64 * 1024]

        await client.websocket.send(chunks())
    else:
        await client.websocket.send(payload)


async def test_huge_frames_close_1009_and_large_valid_ones_pass(rtc_server: RTCServer) -> None:
    owner = await setup_room(rtc_server)
    owner.start()
    # Just under the limit and valid: accepted and forwarded.
    bob = await rtc_server.room("bob", PATH)
    big_state = json.dumps({"note": "y" * (MAX_MESSAGE - 4096)}).encode()
    await bob.websocket.send(awareness_frame([(bob.client_id, 1, big_state)]))
    await owner.carol.wait_awareness(
        lambda s: len((s.get(bob.client_id) or {}).get("note", "")) == MAX_MESSAGE - 4096, 10
    )
    # Over the limit, in one frame or in fragments: closed with 1009.
    closed = []
    for fragmented in (False, True, False):
        mallory = await rtc_server.room("mallory", PATH)
        await _send_huge(mallory, MAX_MESSAGE + 1, fragmented)
        code, reason = await mallory.wait_closed(10)
        assert code == 1009, (code, reason)
        closed.append(code)
    assert not bob.closed
    await owner.stop()
    await owner.check_intact(rtc_server)
    await bob.close()
    assert_nothing_left(rtc_server, owner)
    record(
        "huge_frames",
        {"max_message_size": MAX_MESSAGE, "closed_1009": len(closed), "data_lost": 0},
    )


async def test_awareness_floods_close_4429_others_unaffected(rtc_server: RTCServer) -> None:
    owner = await setup_room(rtc_server)
    owner.start()
    flooders = [await rtc_server.room(u, PATH) for u in ("mallory", "mallory", "bob", "bob")]
    sent = Counter[int]()

    async def flood(client: YClient) -> tuple[int | None, str | None]:
        n = 0
        while not client.closed and n < 5000:
            try:
                await client.set_awareness({"n": n, "cursor": {"head": n}})
            except Exception:
                break
            n += 1
            sent[id(client)] = n
            if n % 20 == 0:
                await asyncio.sleep(0)
        return await client.wait_closed(5)

    async def alice_moves() -> int:
        moves = 0
        while not all(f.closed for f in flooders):
            moves += 1
            await owner.alice.set_awareness({"cursor": {"head": moves}})
            await asyncio.sleep(0.1)
        return moves

    t0 = time.monotonic()
    results, moves = await asyncio.gather(
        asyncio.gather(*(flood(f) for f in flooders)), alice_moves()
    )
    seconds = time.monotonic() - t0
    assert [code for code, _ in results] == [4429] * len(flooders), results
    assert all(reason == "too many awareness updates" for _, reason in results)
    # alice's last cursor reached carol, and her edits kept flowing
    await owner.carol.wait_awareness(
        lambda s: (s.get(owner.alice.client_id) or {}).get("cursor") == {"head": moves}, 5
    )
    # no flooder's state may come back after its connection was closed
    await asyncio.sleep(0.5)
    ghosts = {f.client_id: owner.carol.awareness.get(f.client_id) for f in flooders}
    assert all(state is None for state in ghosts.values()), ghosts
    await owner.stop()
    await owner.check_intact(rtc_server)
    assert_nothing_left(rtc_server, owner)
    record(
        "awareness_flood",
        {
            "flooders": len(flooders),
            "updates_sent_before_close": sorted(sent.values()),
            "closed_4429": len(results),
            "rate_limit_per_s": rtc_server.state.settings.awareness_rate_limit,
            "seconds": round(seconds, 2),
            "data_lost": 0,
        },
    )


INVALID_UTF8_STATES = {
    "lone continuation byte": b'{"name":"\x80"}',
    "bytes ff fe": b"\xff\xfe",
    "overlong slash": b'{"a":"\xc0\xaf"}',
    "utf-8 encoded surrogate": b'{"a":"\xed\xa0\x80"}',
    "truncated 3-byte sequence": b'{"a":"\xe6\x97"}',
    "code point above U+10FFFF": b'{"a":"\xf4\x90\x80\x80"}',
}


async def test_invalid_utf8_in_awareness_closes_4400(rtc_server: RTCServer) -> None:
    owner = await setup_room(rtc_server)
    owner.start()
    for label, state in INVALID_UTF8_STATES.items():
        frame = awareness_frame([(424242, 1, state)])
        assert classify_frame(frame) == "malformed", label
        mallory = await rtc_server.room("mallory", PATH)
        await mallory.websocket.send(frame)
        code, reason = await mallory.wait_closed(5)
        assert (code, reason) == (4400, "malformed message: awareness state is not valid UTF-8"), (
            label
        )
    await owner.stop()
    await owner.check_intact(rtc_server)
    assert_nothing_left(rtc_server, owner)
    assert all(e.client_id != 424242 for e in owner.carol.awareness_log)
    record("invalid_utf8_awareness", {"variants": len(INVALID_UTF8_STATES), "closed_4400": 6})
