"""Load-generator process: hosts a share of the Yjs clients of a benchmark room.

The coordinator (``bench.runner``) talks to each worker over a multiprocessing
pipe with ``(command, args)`` tuples; the worker runs one asyncio loop with
its :class:`~rtc_presence.testing.yclient.YClient` instances. Every time stamp
is ``time.perf_counter()`` (CLOCK_MONOTONIC on Linux, the same clock in every
process), so a send time taken in one worker and a receipt time taken in
another can be subtracted.

Edits are recognised by a marker in the inserted text (``#E<k>;`` for one-at-a-
time edits, ``#S<k>;`` for the typing storm) that is found verbatim in the
update bytes the server forwards; awareness rounds by a ``bench_k`` field.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from rtc_presence.testing.yclient import AwarenessEntry, YClient, append_text

MARK = re.compile(rb"#([ES])(\d+);")


class Round:
    """One edit or awareness round: sender ``gid`` sends marker ``k``."""

    def __init__(self, kind: str, k: int, sender: int, expected: set[int]) -> None:
        self.kind = kind
        self.k = k
        self.sender = sender
        self.expected = expected
        self.times: dict[int, float] = {}
        self.t_send: float | None = None
        self.replied = False


class Worker:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.clients: dict[int, YClient] = {}
        self.group_of: dict[int, str] = {}
        self.extra: dict[str, list[YClient]] = {}
        self.round: Round | None = None
        self.early: dict[tuple[str, int], dict[int, float]] = {}
        self.storm_sends: dict[int, float] = {}
        self.storm_recv: list[tuple[int, int, float]] = []
        self.storming = False
        self.loop = asyncio.get_running_loop()
        self.stopped = asyncio.Event()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.apply_updates = False

    async def cmd_configure(self, apply_updates: bool) -> None:
        self.apply_updates = apply_updates
        self.reply("configured")

    # -- plumbing ------------------------------------------------------------

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
            handler = getattr(self, "cmd_" + cmd)
            await handler(**args)
        except Exception:
            self.reply("error", cmd, traceback.format_exc())

    # -- receipts ---------------------------------------------------------------

    def on_update(self, gid: int, update: bytes, t: float) -> None:
        for m in MARK.finditer(update):
            kind = "E" if m.group(1) == b"E" else "S"
            k = int(m.group(2))
            if kind == "S":
                if self.storming:
                    self.storm_recv.append((k, gid, t))
            else:
                self.receipt("E", k, gid, t)

    def on_awareness(self, gid: int, entry: AwarenessEntry) -> None:
        state = entry.state
        if state is not None and "bench_k" in state:
            k = state["bench_k"]
            if isinstance(k, int):
                self.receipt("A", k, gid, entry.received_at)

    def receipt(self, kind: str, k: int, gid: int, t: float) -> None:
        rnd = self.round
        if rnd is not None and rnd.kind == kind and rnd.k == k:
            if gid in rnd.expected and gid not in rnd.times:
                rnd.times[gid] = t
                self.maybe_done(rnd)
        else:
            self.early.setdefault((kind, k), {}).setdefault(gid, t)

    def maybe_done(self, rnd: Round) -> None:
        if rnd.replied or len(rnd.times) < len(rnd.expected):
            return
        if rnd.sender in self.clients and rnd.t_send is None:
            return
        rnd.replied = True
        self.reply("done", rnd.k, rnd.t_send, list(rnd.times.values()))

    # -- commands ---------------------------------------------------------------

    async def cmd_ping(self) -> None:
        self.reply("pong", time.perf_counter())

    async def _connect_one(
        self, gid: int, url: str, headers: dict[str, str], timeout: float
    ) -> tuple[int, YClient | None, float, str | None]:
        try:
            client = await YClient.connect(
                url, headers=headers, timeout=timeout, apply_updates=self.apply_updates
            )
        except Exception as exc:
            return gid, None, time.perf_counter(), repr(exc)
        return gid, client, time.perf_counter(), None

    async def cmd_connect(
        self,
        url: str,
        headers: dict[str, str],
        gids: list[int],
        start_at: float,
        group: str,
        timeout: float = 60,
    ) -> None:
        """Connect ``gids`` concurrently at ``start_at``; each waits for its SyncStep2."""
        delay = start_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        started = time.perf_counter()
        results = await asyncio.gather(
            *(self._connect_one(gid, url, headers, timeout) for gid in gids)
        )
        synced_at: list[float] = []
        errors: list[str] = []
        for gid, client, t, err in results:
            if client is None:
                errors.append(f"{gid}: {err}")
                continue
            synced_at.append(t)
            self.clients[gid] = client
            self.group_of[gid] = group
            client.on_update(lambda u, t, gid=gid: self.on_update(gid, u, t))
            client.on_awareness(lambda e, gid=gid: self.on_awareness(gid, e))
        self.reply(
            "connected",
            {
                "started": started,
                "synced_at": synced_at,
                "errors": errors,
                "client_ids": {
                    gid: self.clients[gid].client_id for gid in gids if gid in self.clients
                },
            },
        )

    async def cmd_warm(self, url: str, headers: dict[str, str], group: str) -> None:
        """One extra client that loads the room before the measured ones connect."""
        client = await YClient.connect(
            url, headers=headers, timeout=60, apply_updates=self.apply_updates
        )
        self.extra.setdefault(group, []).append(client)
        self.reply("warm", client.client_id)

    async def cmd_round(self, kind: str, k: int, sender: int, group: str) -> None:
        expected = {gid for gid, g in self.group_of.items() if g == group and gid != sender}
        rnd = Round(kind, k, sender, expected)
        self.round = rnd
        early = self.early.pop((kind, k), {})
        for gid, t in early.items():
            if gid in expected:
                rnd.times[gid] = t
        self.early.clear()
        client = self.clients.get(sender)
        if client is not None:
            if kind == "E":
                rnd.t_send = time.perf_counter()
                append_text(client.doc, 0, f"#E{k};")
            else:
                rnd.t_send = time.perf_counter()
                await client.set_awareness({"bench_k": k, "cursor": k % 97})
        self.maybe_done(rnd)

    async def cmd_collect_round(self) -> None:
        """Report whatever arrived for the current round (after a timeout)."""
        rnd = self.round
        if rnd is None:
            self.reply("partial", None, None, [])
            return
        rnd.replied = True
        self.reply("partial", rnd.k, rnd.t_send, list(rnd.times.values()))

    async def cmd_storm(self, schedule: list[tuple[float, int, int]]) -> None:
        """Send ``#S<k>;`` edits at absolute times: ``(perf_counter_time, gid, k)``."""
        self.storming = True
        self.storm_sends = {}
        self.storm_recv = []
        self.reply("storm-armed")
        for at, gid, k in schedule:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            client = self.clients.get(gid)
            if client is None or client.closed:
                continue
            self.storm_sends[k] = time.perf_counter()
            append_text(client.doc, 0, f"#S{k};")

    async def cmd_storm_collect(self) -> None:
        self.storming = False
        self.reply("storm", self.storm_sends, self.storm_recv)
        self.storm_sends = {}
        self.storm_recv = []

    async def cmd_stats(self, group: str) -> None:
        closed = [
            gid for gid, c in self.clients.items() if c.closed and self.group_of[gid] == group
        ]
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
        self.round = None
        self.early.clear()
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
            for i, o in enumerate(obs):
                await o.set_awareness({"bench_role": "observer", "i": i})
            for name, v in victims.items():
                await v.set_awareness({"bench_role": name})
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
            waits = [gone(o, victims[name].client_id) for name in names for o in obs]
            flat = await asyncio.gather(*waits)
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
