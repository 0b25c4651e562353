"""A hostile guest against the awareness bounds (issue 13, finding 5 and 6).

A real ``jupyter_server`` subprocess, so that its responsiveness can be
measured from outside: a prober asks ``/api/status`` every 50 ms while bob
sends what once froze the server (300,000 client ids in one message), floods
it with large states, opens 300 room connections, squats on alice's client
id and sends JSON nested 5,000 deep. Each ends with bob's connection closed
with a documented code, others unaffected, and the server answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from rtc_presence.closecodes import CloseCode
from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, encode_awareness_update, open_session, room_url
from tests.reliability.fuzzing import awareness_frame, varbytes, varuint
from tests.reliability.util import StartServer, SubprocessServer, record

USERS = {
    "alice-token": {"username": "alice", "display_name": "Alice Martin"},
    "bob-token": {"username": "bob", "display_name": "Bob Dupont"},
}


class StatusProber:
    """GET /api/status every 50 ms; keeps the slowest answer."""

    def __init__(self, server: SubprocessServer) -> None:
        self.server = server
        self.worst = 0.0
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            while True:
                t0 = time.perf_counter()
                response = await http.get(
                    self.server.http_url + "api/status", headers=self.server.auth("alice")
                )
                assert response.status_code == 200
                self.worst = max(self.worst, time.perf_counter() - t0)
                self.count += 1
                await asyncio.sleep(0.05)

    def reset(self) -> None:
        self.worst = 0.0
        self.count = 0

    async def __aenter__(self) -> StatusProber:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


CONFIG = {"max_room_connections": 100}


class AliceElsewhere:
    """alice's client on its own thread and event loop.

    This test's loop is busy for seconds at a time (300 connections opening),
    and a client on it would miss the server's pings: alice's pongs must not
    depend on what bob's side of the test is doing.
    """

    def __init__(self, server: SubprocessServer, path: str) -> None:
        self._server = server
        self._path = path
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.closed: tuple[int | None, str | None] | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        client = await _watching_alice(self._server, self._path)
        self._ready.set()
        await asyncio.to_thread(self._stop.wait)
        if client.closed:
            self.closed = (client.close_code, client.close_reason)
        await client.close()

    def __enter__(self) -> AliceElsewhere:
        self._thread.start()
        assert self._ready.wait(30), "alice could not connect"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


async def _watching_alice(server: SubprocessServer, path: str) -> YClient:
    alice = await server.room("alice", path)
    await alice.set_awareness({"cursor": 1})
    return alice


def _notebook(server: SubprocessServer) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nbformat.write(nb, server.root / "bounds.ipynb")  # type: ignore[no-untyped-call]
    return "bounds.ipynb"


async def _closed_with(client: YClient, timeout: float = 30) -> tuple[int | None, float]:
    t0 = time.monotonic()
    code, _ = await client.wait_closed(timeout)
    return code, time.monotonic() - t0


async def test_hostile_awareness_is_bounded(subprocess_server: StartServer) -> None:
    await _hostile_awareness_is_bounded(await subprocess_server(USERS, CONFIG))


async def _hostile_awareness_is_bounded(server: SubprocessServer) -> None:
    path = _notebook(server)
    # Built before anyone connects: building 300,000 entries blocks this test's
    # loop for seconds, and alice's client would miss the server's pings.
    frames = {
        n: awareness_frame([(i + 1_000_000, 1, b"{}") for i in range(n)]) for n in (300_000, 3_000)
    }
    figures: dict[str, Any] = {}
    rss0 = _rss_kib(server.pid)
    with AliceElsewhere(server, path) as alice:
        await _attacks(server, path, frames, figures)
    # alice was never disturbed, and the server's memory stayed bounded.
    assert alice.closed is None, alice.closed
    figures["rss_growth_mib"] = round((_rss_kib(server.pid) - rss0) / 1024, 1)
    record("awareness_bounds", figures)
    for key in ("ids_300000", "ids_3000", "state_flood", "connections_300"):
        assert figures[key]["status_worst_s"] < 1.0, figures
    assert figures["rss_growth_mib"] < 200, figures


async def _attacks(
    server: SubprocessServer, path: str, frames: dict[int, bytes], figures: dict[str, Any]
) -> None:
    async with StatusProber(server) as prober:
        # 1. 300,000 client ids in one 2.3 MiB message (over the byte rate at once),
        #    and 3,000 in 21 KiB (over max_awareness_entries).
        for ids, expected in ((300_000, CloseCode.FLOOD), (3_000, CloseCode.OVER_LIMIT)):
            bob = await server.room("bob", path)
            big = frames[ids]
            await bob.send_raw(big)
            code, took = await _closed_with(bob)
            assert code == expected, (ids, code)
            figures[f"ids_{ids}"] = {
                "message_kib": round(len(big) / 1024, 1),
                "close_code": code,
                "closed_in_s": round(took, 3),
                "status_worst_s": round(prober.worst, 3),
            }
        # 2. Large states as fast as bob can send them (160 MiB offered).
        prober.reset()
        bob = await server.room("bob", path)
        state = json.dumps({"pad": "x" * 60_000})
        sent = 0
        t0 = time.monotonic()
        with contextlib.suppress(Exception):
            for clock in range(1, 160 * 1024 // 60 + 1):
                if bob.closed:
                    break
                await bob.send_raw(awareness_frame([(bob.client_id, clock, state.encode())]))
                sent += 60_000
        code, _ = await _closed_with(bob)
        assert code == CloseCode.FLOOD
        figures["state_flood"] = {
            "accepted_mib_before_close": round(sent / 2**20, 1),
            "closed_after_s": round(time.monotonic() - t0, 3),
            "status_worst_s": round(prober.worst, 3),
        }
        # 3. 300 room connections at once on one room link (the cheapest flood:
        #    one collaboration session, 300 websockets): the 101st and later are
        #    closed at once.
        room_id, session = await open_session(server.http_url, path, headers=server.auth("bob"))
        link = room_url(server.ws_url, room_id, session)
        prober.reset()
        clients = await asyncio.gather(
            *(
                YClient.connect(link, headers=server.auth("bob"), wait_synced=False, timeout=60)
                for _ in range(300)
            ),
            return_exceptions=True,
        )
        opened = [c for c in clients if isinstance(c, YClient)]
        # Refused while the client was still sending its first message: 4413 too.
        refused_early = [c for c in clients if not isinstance(c, YClient)]
        assert all("4413" in str(c) for c in refused_early), refused_early[:3]

        def refused() -> int:
            late = sum(c.close_code == CloseCode.OVER_LIMIT for c in opened)
            return late + len(refused_early)

        await until(
            lambda: Counter(c.close_code for c in opened),
            30,
            "200 connections over the bound refused (close codes of the opened ones)",
            accept=lambda _: refused() >= 200,
        )
        kept = [c for c in opened if not c.closed]
        assert len(kept) == 100
        figures["connections_300"] = {
            "opened": len(opened),
            "kept": len(kept),
            "closed_4413": refused(),
            "status_worst_s": round(prober.worst, 3),
        }
        for c in opened:
            c.abort()
        # 4. JSON nested 5,000 deep.
        bob = await server.room("bob", path)
        deep = ("[" * 5000 + "]" * 5000).join(['{"a":', "}"]).encode()
        await bob.send_raw(awareness_frame([(bob.client_id, 1, deep)]))
        code, _ = await _closed_with(bob)
        assert code == CloseCode.MALFORMED
        figures["status_worst_s_overall"] = round(prober.worst, 3)
        assert prober.count > 0


async def test_a_released_id_is_reserved_for_its_person(subprocess_server: StartServer) -> None:
    await _a_released_id_is_reserved(await subprocess_server(USERS, CONFIG))


async def _a_released_id_is_reserved(server: SubprocessServer) -> None:
    path = _notebook(server)
    alice = await _watching_alice(server, path)
    watcher = await server.room("alice", path)
    alice_id = alice.client_id
    alice.abort()  # her socket drops
    await watcher.wait_until(lambda: watcher.awareness.get(alice_id, 0) is None, 10)
    bob = await server.room("bob", path)
    await bob.set_awareness({"cursor": 2})
    payload = encode_awareness_update([(alice_id, 10_000, {"user": {"name": "Alice"}})])
    await bob.send_raw(varuint(1) + varbytes(payload))
    # alice comes back with her id and is seen again; bob's squat never was.
    back = await server.room("alice", path, client_id=alice_id)
    await back.set_awareness({"cursor": 3}, clock=5)
    await watcher.wait_until(lambda: (watcher.awareness.get(alice_id) or {}).get("cursor") == 3, 10)
    assert all(e.clock != 10_000 for e in watcher.awareness_log if e.client_id == alice_id)
    assert not bob.closed
