"""Seeded random and truncated y-websocket frames against a real server (issue 7, part 2).

Guests send them to a document room while the owner keeps typing. Each sender of a
malformed frame must be closed with 4400, everyone else keeps syncing, the notebook ends
exactly as expected (in every client and on disk), and the server forgets every closed
connection (room clients, awareness ownership, presence).

``RTC_FUZZ_FRAMES`` (default 3000) and ``RTC_FUZZ_SEED`` (default 7) size the fuzz run.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

import pytest

from rtc_presence.pytest_plugin import RTCServer
from tests.reliability.fuzzing import FrameFuzzer, classify_frame, varbytes, varuint
from tests.reliability.hostile_room import PATH, assert_nothing_left, frame_limits, setup_room
from tests.reliability.util import record

FUZZ_FRAMES = int(os.environ.get("RTC_FUZZ_FRAMES", "3000"))
FUZZ_SEED = int(os.environ.get("RTC_FUZZ_SEED", "7"))


@pytest.fixture
def rtc_config() -> dict[str, Any]:
    return frame_limits()


async def _fuzz_connection(
    rtc_server: RTCServer, seed: int, foreign: list[int], budget: int, stats: Counter[str]
) -> int:
    """One hostile guest connection: valid frames until a malformed one (or 25 frames)."""
    fuzzer = FrameFuzzer(seed, foreign)
    client = await rtc_server.room("mallory", PATH)
    stats["connections"] += 1
    sent = 0
    try:
        for _ in range(min(25, budget)):
            if fuzzer.rng.random() < 0.12:
                frame = fuzzer.hostile(client.client_id)
                verdict = classify_frame(frame)
            else:
                frame = fuzzer.valid(client.client_id)
                verdict = classify_frame(frame)
                assert verdict == "ok", frame
            await client.websocket.send(frame)
            sent += 1
            stats[f"sent_{verdict}"] += 1
            if verdict == "malformed":
                code, reason = await client.wait_closed(5)
                assert code == 4400, (frame, code, reason)
                assert reason and reason.startswith("malformed message"), reason
                stats["closed_4400"] += 1
                return sent
        # Still open and served: a state vector is always answered.
        before = client.messages_received
        await client.websocket.send(varuint(0) + varuint(0) + varbytes(b"\x00"))
        await client.wait_until(lambda: client.messages_received > before, 5)
        assert not client.closed, (client.close_code, client.close_reason)
        stats["survived_valid_run"] += 1
        await client.close()
        return sent
    finally:
        if not client.closed:
            client.abort()


async def test_seeded_fuzz_closes_only_bad_senders(rtc_server: RTCServer) -> None:
    owner = await setup_room(rtc_server)
    foreign = [owner.alice.client_id, owner.carol.client_id, 0, 1]
    stats: Counter[str] = Counter()
    owner.start()
    t0 = time.monotonic()
    total = 0
    concurrency = 6
    while total < FUZZ_FRAMES:
        first = stats["connections"]
        batch = [
            _fuzz_connection(
                rtc_server, FUZZ_SEED * 100_003 + first + i, foreign, FUZZ_FRAMES - total, stats
            )
            for i in range(concurrency)
        ]
        total += sum(await asyncio.gather(*batch))
        assert not owner.alice.closed and not owner.carol.closed
    await owner.stop()
    seconds = time.monotonic() - t0
    await owner.check_intact(rtc_server)
    assert_nothing_left(rtc_server, owner)
    resp = await rtc_server.request("alice", "GET", "api/status")
    assert resp.status_code == 200
    assert stats["closed_4400"] == stats["sent_malformed"] >= total // 20, stats
    assert stats["sent_ok"] >= total // 2, stats
    record(
        "fuzz",
        {
            "seed": FUZZ_SEED,
            "frames": total,
            "accepted_frames": stats["sent_ok"],
            "malformed_frames": stats["sent_malformed"],
            "connections": stats["connections"],
            "closed_4400": stats["closed_4400"],
            "owner_edits_during_fuzz": len(owner.typed),
            "seconds": round(seconds, 1),
            "data_lost": 0,
        },
    )
