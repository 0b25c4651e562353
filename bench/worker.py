"""Load-generator process: hosts a share of the Yjs clients of every benchmark room.

The coordinator (``bench.pool``) talks to each worker over a multiprocessing pipe with
``(command, args)`` tuples; the worker runs one asyncio loop with its
:class:`~rtc_presence.testing.yclient.YClient` instances. Every time stamp is
``time.perf_counter()`` (CLOCK_MONOTONIC on Linux, the same clock in every process), so
a send time taken in one worker and a receipt time taken in another subtract directly.

What is measured is played from a schedule of ``(time, client, kind, k)`` sends:

- ``E``: an edit, ``#K<k>;`` typed at the end of cell 0 (found verbatim in the update
  bytes the server forwards, whatever server re-encodes it);
- ``A``: the writer's cursor, an awareness state ``{"bench_s": k, ...}``;
- ``R``: a viewer renewing its awareness state as y-protocols does every 15 s in each
  browser tab: the same state (``{"bench_v": 1}``) at the next clock. Receivers know
  a renewal by its (client id, clock); the sender tells the coordinator which ``k``
  that was.

Every client records the receipts of all three; the coordinator matches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import re
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc

from rtc_presence.testing.yclient import AwarenessEntry, YClient, append_text, notebook_cells

MARK = re.compile(rb"#K(\d+);")
#: (kind, k, receiving gid, time); a renewal's k is its (client id, clock) here
Receipt = tuple[str, int | tuple[int, int], int, float]


class Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.clients: dict[int, YClient] = {}
        self.group_of: dict[int, str] = {}
        self.extra: dict[str, list[YClient]] = {}
        self.sends: dict[tuple[str, int], float] = {}
        self.recv: list[Receipt] = []
        #: (client id, clock) of each renewal this worker sent -> its k
        self.renewals: dict[tuple[int, int], int] = {}
        self.playing = False
        #: the last awareness clock each client sent: y-protocols ignores a first
        #: state at clock 0 from an unknown client (a browser's first is >= 1)
        self.clocks: dict[int, int] = {}
        self.lag: list[float] = []
        self.lag_task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.stopped = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.apply_updates = False

    # -- plumbing ----------------------------------------------------------------

    def reply(self, *msg: Any) -> None:
        self.conn.send(msg)

    def on_readable(self) -> None:
        while self.conn.poll():
            try:
                cmd, args = self.conn.recv()
            except EOFError:
                self.stopped.set()
                return
            task = self.loop.create_task(self.dispatch(cmd, args))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def dispatch(self, cmd: str, args: dict[str, Any]) -> None:
        try:
            await getattr(self, "cmd_" + cmd)(**args)
        except Exception:
            self.reply("error", cmd, traceback.format_exc())

    # -- receipts ------------------------------------------------------------------

    def on_update(self, gid: int, update: bytes, t: float) -> None:
        if self.playing:
            for m in MARK.finditer(update):
                self.recv.append(("E", int(m.group(1)), gid, t))

    def on_awareness(self, gid: int, entry: AwarenessEntry) -> None:
        state = entry.state
        if not self.playing or state is None:
            return
        k = state.get("bench_s")
        if isinstance(k, int):
            self.recv.append(("A", k, gid, entry.received_at))
        elif "bench_v" in state:
            self.recv.append(("R", (entry.client_id, entry.clock), gid, entry.received_at))

    def listen(self, gid: int, client: YClient) -> None:
        def update(u: bytes, t: float) -> None:
            self.on_update(gid, u, t)

        def awareness(e: AwarenessEntry) -> None:
            self.on_awareness(gid, e)

        client.on_update(update)
        client.on_awareness(awareness)

    # -- commands ------------------------------------------------------------------

    async def cmd_configure(self, apply_updates: bool) -> None:
        self.apply_updates = apply_updates
        self.reply("configured")

    async def _connect_one(
        self, gid: int, url: str, headers: dict[str, str], at: float, timeout: float
    ) -> tuple[int, YClient | None, float, float, str | None]:
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        t0 = time.perf_counter()
        try:
            client = await YClient.connect(
                url, headers=headers, timeout=timeout, apply_updates=self.apply_updates
            )
        except Exception as exc:
            return gid, None, t0, time.perf_counter(), repr(exc)
        return gid, client, t0, time.perf_counter(), None

    async def cmd_connect(
        self,
        url: str,
        headers: dict[str, str],
        gids: list[int],
        start_at: float,
        group: str,
        offsets: list[float] | None = None,
        timeout: float = 60,
    ) -> None:
        """Connect ``gids`` at ``start_at`` (+ ``offsets``); each waits for SyncStep2."""
        at = [start_at + (offsets[i] if offsets else 0.0) for i in range(len(gids))]
        # The clients this worker already holds stay connected (the other servers'
        # waves): frozen out of the collector, as before a play. A full pass over
        # them during a wave stalled this worker for 60-100 ms, and the join it was
        # serving counted against whichever server was joining (the same one from
        # run to run, since the allocations repeat).
        gc.collect()
        gc.freeze()
        results = await asyncio.gather(
            *(self._connect_one(gid, url, headers, at[i], timeout) for i, gid in enumerate(gids))
        )
        started: list[float] = []
        synced: list[float] = []
        errors: list[str] = []
        for gid, client, t0, t1, err in results:
            if client is None:
                errors.append(f"{gid}: {err}")
                continue
            started.append(t0)
            synced.append(t1)
            self.clients[gid] = client
            self.group_of[gid] = group
            self.listen(gid, client)
        self.reply("connected", {"started": started, "synced": synced, "errors": errors})

    async def cmd_warm(
        self, url: str, headers: dict[str, str], group: str, seed: str | None
    ) -> None:
        """Load the room with one extra client before the measured ones connect.

        ``seed`` (nbformat JSON) is written into rooms that start empty (the bare
        servers), the way jupyter_server_ydoc loads the file (``YNotebook.set``); a
        second client then checks that the server holds it.
        """
        doc: Doc[Any] | None = None
        if seed is not None:
            doc = Doc()
            YNotebook(doc).set(json.loads(seed))
        client = await YClient.connect(
            url, headers=headers, timeout=60, doc=doc, apply_updates=self.apply_updates
        )
        self.extra.setdefault(group, []).append(client)
        check = await YClient.connect(url, headers=headers, timeout=60)
        try:
            await check.wait_until(lambda: len(notebook_cells(check.doc)) > 0, 10)
        finally:
            await check.close()
        self.reply("warm", client.client_id)

    async def cmd_announce(self, group: str, window: float) -> None:
        """Every client of ``group`` announces its (viewer) state once, spread over
        ``window`` seconds, as a browser tab does when it connects: the follow's
        renewals then repeat a state the room knows, as y-protocols' do."""
        gids = [g for g, name in self.group_of.items() if name == group]
        t0 = time.perf_counter()
        for i, gid in enumerate(gids):
            delay = t0 + window * i / max(1, len(gids)) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client = self.clients[gid]
            if not client.closed:
                clock = self.clocks[gid] = self.clocks.get(gid, 0) + 1
                await client.set_awareness({"bench_v": 1}, clock=clock)
        self.reply("announced", len(gids))

    async def cmd_play(self, schedule: list[tuple[float, int, str, int]]) -> None:
        """Send at absolute times: ``(perf_counter_time, gid, kind, k)``."""
        self.playing = True
        self.sends = {}
        self.recv = []
        self.renewals = {}
        # Each YClient keeps up to 10k received awareness entries for tests to read;
        # with 300 clients per contender that is millions of objects, and the
        # collector's full passes over them stalled the loop by hundreds of ms.
        for held in self.clients.values():
            held.awareness_log.clear()
        gc.collect()
        gc.freeze()
        self.lag = []
        self.lag_task = asyncio.create_task(self.watch_lag())
        self.reply("armed")
        for at, gid, kind, k in schedule:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client = self.clients.get(gid)
            if client is None or client.closed:
                continue
            self.sends[(kind, k)] = time.perf_counter()
            if kind == "E":
                append_text(client.doc, 0, f"#K{k};")
                continue
            clock = self.clocks[gid] = self.clocks.get(gid, 0) + 1
            if kind == "A":
                state: dict[str, Any] = {"bench_s": k, "cursor": {"head": k % 97}}
            else:
                state = {"bench_v": 1}
                self.renewals[(client.client_id, clock)] = k
            await client.set_awareness(state, clock=clock)

    async def watch_lag(self) -> None:
        """How late this loop wakes from a 5 ms sleep: a late loop reads late, so a
        receipt's latency is the server's only while this stays small."""
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lag.append(time.perf_counter() - t0 - 0.005)

    async def cmd_play_collect(self) -> None:
        self.playing = False
        if self.lag_task is not None:
            self.lag_task.cancel()
            self.lag_task = None
        self.reply("played", self.sends, self.recv, self.lag, self.renewals)
        self.sends = {}
        self.recv = []
        self.renewals = {}

    async def cmd_stats(self, group: str) -> None:
        closed = [g for g, c in self.clients.items() if c.closed and self.group_of[g] == group]
        codes = {gid: self.clients[gid].close_code for gid in closed}
        errors = [repr(c.last_error) for c in self.clients.values() if c.last_error]
        self.reply("stats", {"closed": closed, "codes": codes, "errors": errors[:5]})

    async def cmd_close_group(self, group: str, warm: bool = True) -> None:
        """Close the group's measured clients (and its warm client when ``warm``)."""
        gids = [gid for gid, g in self.group_of.items() if g == group]
        clients = [self.clients.pop(gid) for gid in gids]
        for gid in gids:
            del self.group_of[gid]
        if warm:
            clients.extend(self.extra.pop(group, []))
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        self.reply("closed", len(clients))

    async def cmd_crash(
        self, url: str, headers: dict[str, str], observers: int, cap: float, timeout: float
    ) -> None:
        """Crash one client (``abort``) and hang another (``freeze``); time until every
        observer has removed each from its awareness.

        Observers behave like y-protocols in a browser (``awareness_timeout``:
        renew own state every timeout/2, drop silent remote states after timeout).
        """
        obs = [
            await YClient.connect(url, headers=headers, awareness_timeout=timeout)
            for _ in range(observers)
        ]
        victims = {
            "abort": await YClient.connect(url, headers=headers, awareness_timeout=timeout),
            "freeze": await YClient.connect(url, headers=headers, awareness_timeout=timeout),
        }
        try:
            # clock 1: y-protocols ignores an unknown client's state at clock 0
            for i, o in enumerate(obs):
                await o.set_awareness({"bench_role": "observer", "i": i}, clock=1)
            for name, v in victims.items():
                await v.set_awareness({"bench_role": name}, clock=1)
            ids = [v.client_id for v in victims.values()]
            await asyncio.gather(
                *(
                    o.wait_awareness(lambda st: all(st.get(i) is not None for i in ids), 10)
                    for o in obs
                )
            )
            t0 = time.perf_counter()
            victims["abort"].abort()
            victims["freeze"].freeze()

            async def gone(o: YClient, cid: int) -> float | None:
                try:
                    await o.wait_awareness(lambda st: st.get(cid) is None, cap)
                except (asyncio.TimeoutError, TimeoutError):
                    return None
                return time.perf_counter() - t0

            names = list(victims)
            flat = await asyncio.gather(
                *(gone(o, victims[name].client_id) for name in names for o in obs)
            )
            out: dict[str, list[float | None]] = {
                name: list(flat[i * len(obs) : (i + 1) * len(obs)]) for i, name in enumerate(names)
            }
            self.reply("crash", out)
        finally:
            for v in victims.values():
                v.abort()
            await asyncio.gather(*(o.close() for o in obs), return_exceptions=True)

    async def cmd_stop(self) -> None:
        clients = list(self.clients.values()) + [c for cs in self.extra.values() for c in cs]
        self.clients = {}
        self.group_of = {}
        self.extra = {}
        for c in clients:
            with contextlib.suppress(Exception):
                c.abort()
        self.stopped.set()


async def _amain(conn: Connection) -> None:
    worker = Worker(conn)
    loop = asyncio.get_running_loop()
    loop.add_reader(conn.fileno(), worker.on_readable)
    worker.reply("ready")
    await worker.stopped.wait()
    loop.remove_reader(conn.fileno())


def worker_main(conn: Connection) -> None:
    asyncio.run(_amain(conn))
