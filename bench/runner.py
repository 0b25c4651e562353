"""Coordinator: servers, client worker processes, phases, statistics, output."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import psutil

from rtc_presence.testing.yclient import open_session, room_url

from .profiling import Recorder, render, top_frames
from .report import render_markdown
from .server import Server, dumps, git_dirty, git_revision, versions
from .worker import worker_main

HERE = Path(__file__).resolve().parent
CLIENTS_PER_WORKER = 50
MAX_WORKERS = 4


@dataclass
class Config:
    quick: bool
    ns: list[int]
    edits: dict[int, int]
    awareness: dict[int, int]
    storm_seconds: float
    storm_rate: float
    edit_gap: float
    round_timeout: float
    crash: bool
    crash_cap: float
    crash_observers: int
    awareness_timeout: float
    fresh_servers_per_n: bool
    sync_reps: int
    block: int
    storm_blocks: int
    setups: list[tuple[str, bool]]
    name: str
    apply_updates: bool = False
    drain_seconds: float = 1.0
    settle_seconds: float = 1.0
    profile: bool = False
    profile_dir: str = ""
    notes: list[str] = field(default_factory=list)


def make_config(args: argparse.Namespace) -> Config:
    quick = bool(args.quick)
    ns = (
        [int(x) for x in args.ns.split(",")]
        if args.ns
        else ([2, 10, 50] if quick else [2, 10, 50, 100, 200])
    )

    def edits_for(n: int) -> int:
        if quick:
            return 30
        # p99 over few rounds is decided by two or three slow rounds (every
        # receiver of a round shares its delay): enough rounds that it is not.
        return 1000 if n <= 10 else (400 if n <= 100 else 200)

    def aw_for(n: int) -> int:
        if quick:
            return 24
        if n <= 2:
            return 300
        return 1000 if n <= 10 else (400 if n <= 100 else 200)

    setups = (
        [("stock", False), ("stock-B", False)]
        if args.aa
        else [("stock", False), ("rtc-presence", True)]
    )
    return Config(
        quick=quick,
        ns=ns,
        edits={n: edits_for(n) for n in ns},
        awareness={n: aw_for(n) for n in ns},
        storm_seconds=args.storm_seconds if args.storm_seconds else (2.0 if quick else 15.0),
        storm_rate=20.0,
        edit_gap=0.01,
        round_timeout=5.0,
        crash=not args.no_crash,
        crash_cap=6.5 if quick else 40.0,
        crash_observers=8,
        awareness_timeout=30.0,
        fresh_servers_per_n=not quick,
        sync_reps=1 if quick else 7,
        block=10 if quick else 20,
        storm_blocks=1 if quick else 3,
        setups=setups,
        name=args.name or ("aa" if args.aa else "latest"),
        apply_updates=bool(args.apply_updates),
        drain_seconds=0.3 if quick else 1.0,
        settle_seconds=0.3 if quick else 1.0,
    )


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize_ms(samples_s: list[float]) -> dict[str, Any]:
    v = sorted(x * 1000 for x in samples_s)
    if not v:
        return {"n": 0}
    return {
        "n": len(v),
        "p50": percentile(v, 50),
        "p95": percentile(v, 95),
        "p99": percentile(v, 99),
        "max": v[-1],
        "mean": sum(v) / len(v),
    }


# ---------------------------------------------------------------------------
# worker pool
# ---------------------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


class Pool:
    def __init__(self, size: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        for i in range(size):
            self.expect(i, {"ready"}, 60)

    @property
    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.procs]

    def send(self, i: int, cmd: str, **args: Any) -> None:
        self.conns[i].send((cmd, args))

    def expect(self, i: int, kinds: set[str], timeout: float) -> tuple[Any, ...]:
        """Next message of one of ``kinds`` from worker ``i`` (others are dropped)."""
        deadline = time.monotonic() + timeout
        conn = self.conns[i]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                raise TimeoutError(f"worker {i}: no {sorted(kinds)} within {timeout} s")
            msg = conn.recv()
            if msg[0] == "error":
                raise WorkerError(f"worker {i} failed in {msg[1]}:\n{msg[2]}")
            if msg[0] in kinds:
                return tuple(msg)

    def expect_many(
        self, workers: list[int], kinds: set[str], timeout: float
    ) -> dict[int, tuple[Any, ...] | None]:
        """One message per worker; None for the workers that timed out."""
        deadline = time.monotonic() + timeout
        out: dict[int, tuple[Any, ...] | None] = {}
        pending = {self.conns[i]: i for i in workers}
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for conn in wait(list(pending), remaining):
                assert isinstance(conn, Connection)
                i = pending[conn]
                msg = conn.recv()
                if msg[0] == "error":
                    raise WorkerError(f"worker {i} failed in {msg[1]}:\n{msg[2]}")
                if msg[0] in kinds:
                    out[i] = tuple(msg)
                    del pending[conn]
        for i in pending.values():
            out[i] = None
        return out

    def stop(self) -> None:
        for i, conn in enumerate(self.conns):
            with contextlib.suppress(OSError):
                self.send(i, "stop")
            conn.close()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()


# ---------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------


def split(gids: list[int], parts: int) -> list[list[int]]:
    size = math.ceil(len(gids) / parts)
    return [gids[i * size : (i + 1) * size] for i in range(parts)]


def workers_for(n: int) -> int:
    return max(1, min(MAX_WORKERS, math.ceil(n / CLIENTS_PER_WORKER)))


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of a process (all threads), in seconds.

    Read from /proc/<pid>/task/*/schedstat (nanoseconds) when available, because
    psutil's cpu_times() has clock-tick (10 ms) resolution, too coarse for the
    per-message figures at small N; falls back to psutil.
    """
    task_dir = Path(f"/proc/{proc.pid}/task")
    try:
        total = 0
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
        if total:
            return total / 1e9
    except OSError:
        pass
    t = proc.cpu_times()
    return float(t.user + t.system)


@dataclass
class Room:
    """One setup's notebook room at one N, and which worker hosts which client."""

    server: Server
    group: str
    url: str
    gids: list[int]
    workers: list[int]
    assignment: list[list[int]]
    sproc: psutil.Process

    @property
    def n(self) -> int:
        return len(self.gids)


class Counter:
    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def one_round(
    pool: Pool, room: Room, kind: str, k: int, sender: int, timeout: float
) -> tuple[list[float], int, bool]:
    """One round: ``sender`` sends marker ``k``; latencies to every other client."""
    for w in room.workers:
        pool.send(w, "round", kind=kind, k=k, sender=sender, group=room.group)
    got = pool.expect_many(room.workers, {"done"}, timeout)
    late = [w for w, msg in got.items() if msg is None]
    if late:
        for w in late:
            pool.send(w, "collect_round")
        got.update(pool.expect_many(late, {"partial"}, 5))
    t_send = None
    times: list[float] = []
    for msg in got.values():
        if msg is None:
            continue
        _, rk, ts, tlist = msg
        if rk != k:
            continue
        if ts is not None:
            t_send = ts
        times.extend(tlist)
    if t_send is None:
        raise RuntimeError(f"{room.group} {kind} round {k}: the sender's worker did not report")
    return [t - t_send for t in times], (room.n - 1) - len(times), bool(late)


def run_rounds_interleaved(
    pool: Pool,
    rooms: list[Room],
    kind: str,
    count: int,
    gap: float,
    timeout: float,
    block: int,
    counter: Counter,
) -> dict[str, dict[str, Any]]:
    """``count`` rounds per room, one sender at a time (rotating through the clients),
    in blocks of ``block`` rounds alternating between the rooms (A/B interleaving)."""
    acc = {
        r.group: {"lat": [], "missing": 0, "timeouts": 0, "done": 0, "seconds": 0.0} for r in rooms
    }
    while any(acc[r.group]["done"] < count for r in rooms):
        for room in rooms:
            a = acc[room.group]
            t0 = time.monotonic()
            for _ in range(min(block, count - a["done"])):
                sender = room.gids[a["done"] % room.n]
                lat, missing, late = one_round(pool, room, kind, counter.next(), sender, timeout)
                a["lat"].extend(lat)
                a["missing"] += missing
                a["timeouts"] += int(late)
                a["done"] += 1
                if gap > 0:
                    time.sleep(gap)
            a["seconds"] += time.monotonic() - t0
    return {
        g: {
            "latency_ms": summarize_ms(a["lat"]),
            "rounds": a["done"],
            "missing_receipts": a["missing"],
            "rounds_timed_out": a["timeouts"],
            "seconds": a["seconds"],
        }
        for g, a in acc.items()
    }


PROFILES: dict[str, list[Path]] = {}
SOURCES: list[str] = []
READY: list[float] = []


def proc_stat() -> list[int]:
    """Aggregate CPU tick counters from /proc/stat (user nice system idle iowait irq
    softirq steal ...)."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return []


class MachineProbe:
    """What else the shared machine was doing during a phase.

    - busy/idle/steal from /proc/stat, and the CPU of our own processes (servers,
      client workers, this coordinator), so "others" = busy - ours;
    - wake-up lateness of a thread that sleeps 2 ms in a loop (scheduler delay).
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.lateness: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ours(self) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(psutil.Error, OSError):
                total += cpu_seconds(psutil.Process(pid))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            time.sleep(0.002)
            self.lateness.append(time.perf_counter() - t0 - 0.002)

    def __enter__(self) -> MachineProbe:
        self.stat0 = proc_stat()
        self.ours0 = self._ours()
        self.t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(1)
        self.wall = time.monotonic() - self.t0
        self.stat1 = proc_stat()
        self.ours1 = self._ours()

    def result(self) -> dict[str, Any]:
        if not self.stat0 or not self.stat1:
            return {}
        d = [b - a for a, b in zip(self.stat0, self.stat1, strict=False)]
        hz = os.sysconf("SC_CLK_TCK")
        idle = (d[3] + d[4]) / hz
        steal = d[7] / hz if len(d) > 7 else 0.0
        total = sum(d[:8]) / hz
        busy = total - idle - steal
        ours = self.ours1 - self.ours0
        late = sorted(self.lateness)
        return {
            "wall_s": self.wall,
            "cpus": os.cpu_count(),
            "busy_cores": busy / self.wall,
            "ours_cores": ours / self.wall,
            "others_cores": max(0.0, busy - ours) / self.wall,
            "idle_fraction": idle / total if total else math.nan,
            "steal_fraction": steal / total if total else math.nan,
            "wakeup_late_ms_p50": 1000 * percentile(late, 50),
            "wakeup_late_ms_p99": 1000 * percentile(late, 99),
            "loadavg_end": os.getloadavg(),
        }


def start_profiles(cfg: Config, room: Room, pool: Pool, phase: str, seconds: float) -> list[Any]:
    if not cfg.profile:
        return []
    base = Path(cfg.profile_dir)
    recs = []
    for role, pid in (("server", room.sproc.pid), ("client", pool.pids[room.workers[0]])):
        key = f"{room.group} N={room.n} {phase} {role}"
        out = base / f"{room.group}-n{room.n}-{phase}-{role}-{len(PROFILES.get(key, []))}.raw"
        recs.append((key, Recorder(pid, seconds, out)))
    time.sleep(0.2)  # let py-spy attach
    return recs


def finish_profiles(recs: list[Any]) -> None:
    for key, rec in recs:
        path = rec.wait()
        if path is not None:
            PROFILES.setdefault(key, []).append(path)


def storm_block(pool: Pool, room: Room, seconds: float, rate: float, cfg: Config) -> dict[str, Any]:
    """Every client of the room types in turn, ``rate`` updates/s in total."""
    total = int(seconds * rate)
    start_at = time.perf_counter() + 0.15
    owner = {gid: w for w, gids in zip(room.workers, room.assignment, strict=True) for gid in gids}
    schedules: dict[int, list[tuple[float, int, int]]] = {w: [] for w in room.workers}
    sender_of: dict[int, int] = {}
    for k in range(total):
        gid = room.gids[k % room.n]
        sender_of[k] = gid
        schedules[owner[gid]].append((start_at + k / rate, gid, k))
    clients = [psutil.Process(pool.pids[w]) for w in room.workers]
    for w in room.workers:
        pool.send(w, "storm", schedule=schedules[w])
    pool.expect_many(room.workers, {"storm-armed"}, 10)
    recs = start_profiles(cfg, room, pool, "storm", seconds)
    while time.perf_counter() < start_at:
        time.sleep(0.001)
    cpu0 = cpu_seconds(room.sproc)
    ccpu0 = sum(cpu_seconds(c) for c in clients)
    w0 = time.perf_counter()
    time.sleep(seconds + cfg.drain_seconds)
    cpu1 = cpu_seconds(room.sproc)
    ccpu1 = sum(cpu_seconds(c) for c in clients)
    wall = time.perf_counter() - w0
    finish_profiles(recs)
    for w in room.workers:
        pool.send(w, "storm_collect")
    got = pool.expect_many(room.workers, {"storm"}, 30)
    sends: dict[int, float] = {}
    recv: list[tuple[int, int, float]] = []
    for msg in got.values():
        if msg is None:
            continue
        sends.update(msg[1])
        recv.extend(msg[2])
    members = set(room.gids)
    latencies = [
        t - sends[k]
        for k, gid, t in recv
        if k in sends and gid in members and gid != sender_of.get(k)
    ]
    return {
        "lat": latencies,
        "sent": len(sends),
        "scheduled": total,
        "expected": len(sends) * (room.n - 1),
        "server_cpu_s": cpu1 - cpu0,
        "client_cpu_s": ccpu1 - ccpu0,
        "wall_s": wall,
    }


def run_storm_interleaved(
    pool: Pool, rooms: list[Room], seconds: float, rate: float, blocks: int, cfg: Config
) -> dict[str, dict[str, Any]]:
    acc: dict[str, list[dict[str, Any]]] = {r.group: [] for r in rooms}
    for _ in range(blocks):
        for room in rooms:
            acc[room.group].append(storm_block(pool, room, seconds / blocks, rate, cfg))
    out: dict[str, dict[str, Any]] = {}
    for room in rooms:
        parts = acc[room.group]
        lat = [x for p in parts for x in p["lat"]]
        delivered = len(lat)
        expected = sum(p["expected"] for p in parts)
        cpu = sum(p["server_cpu_s"] for p in parts)
        wall = sum(p["wall_s"] for p in parts)
        out[room.group] = {
            "latency_ms": summarize_ms(lat),
            "sent": sum(p["sent"] for p in parts),
            "scheduled": sum(p["scheduled"] for p in parts),
            "delivered": delivered,
            "expected": expected,
            "delivered_ratio": delivered / expected if expected else math.nan,
            "server_cpu_s": cpu,
            "server_cpu_us_per_delivered": 1e6 * cpu / delivered if delivered else math.nan,
            "server_cpu_util": cpu / wall if wall else math.nan,
            "client_cpu_util": sum(p["client_cpu_s"] for p in parts) / wall if wall else math.nan,
            "client_processes": len(room.workers),
            "blocks": blocks,
            "wall_s": wall,
        }
    return out


def connect_group(pool: Pool, room: Room, cfg: Config, profile: bool) -> dict[str, Any]:
    """Connect all N clients of the room at the same instant; time to all synced."""
    recs = start_profiles(cfg, room, pool, "sync", 2.0) if profile else []
    start_at = time.perf_counter() + 0.15
    for w, gids in zip(room.workers, room.assignment, strict=True):
        pool.send(
            w,
            "connect",
            url=room.url,
            headers=room.server.headers,
            gids=gids,
            start_at=start_at,
            group=room.group,
        )
    got = pool.expect_many(room.workers, {"connected"}, 180)
    finish_profiles(recs)
    synced: list[float] = []
    errors: list[str] = []
    for w, msg in got.items():
        if msg is None:
            errors.append(f"worker {w}: connect timed out")
            continue
        synced.extend(msg[1]["synced_at"])
        errors.extend(msg[1]["errors"])
    if len(synced) != room.n:
        raise RuntimeError(
            f"{room.group} N={room.n}: only {len(synced)} clients connected: {errors[:3]}"
        )
    per_client = sorted(t - start_at for t in synced)
    return {"all_ms": 1000 * per_client[-1], "client_median_ms": 1000 * percentile(per_client, 50)}


def close_group(pool: Pool, room: Room, warm: bool) -> None:
    for w in room.workers:
        pool.send(w, "close_group", group=room.group, warm=warm)
    pool.expect_many(room.workers, {"closed"}, 60)


def measure_n(
    pool: Pool, servers: list[Server], n: int, cfg: Config, order: list[int], counter: Counter
) -> dict[str, dict[str, Any]]:
    """All per-N phases for every setup, interleaved A/B within each phase."""
    nw = workers_for(n)
    rooms: list[Room] = []
    for i in order:
        server = servers[i]
        nb = server.new_notebook(f"bench-n{n}.ipynb")
        room_id, session_id = asyncio.run(open_session(server.http_url, nb, headers=server.headers))
        gids = [i * 100_000 + j for j in range(n)]
        rooms.append(
            Room(
                server=server,
                group=server.setup,
                url=room_url(server.ws_url, room_id, session_id),
                gids=gids,
                workers=list(range(nw)),
                assignment=split(gids, nw),
                sproc=psutil.Process(server.pid),
            )
        )
    out: dict[str, dict[str, Any]] = {r.group: {"n": n, "client_processes": nw} for r in rooms}

    # The room is loaded by one extra client, so the measured connects find it warm.
    for room in rooms:
        pool.send(0, "warm", url=room.url, headers=room.server.headers, group=room.group)
        pool.expect(0, {"warm"}, 60)
    time.sleep(cfg.settle_seconds)

    # --- connect + initial sync of all N at once; repeated, alternating A/B.
    syncs: dict[str, list[dict[str, Any]]] = {r.group: [] for r in rooms}
    for rep in range(cfg.sync_reps):
        reps_order = rooms if rep % 2 == 0 else list(reversed(rooms))
        for room in reps_order:
            rss0 = room.sproc.memory_info().rss
            syncs[room.group].append(connect_group(pool, room, cfg, rep == 0))
            if rep == 0:
                time.sleep(cfg.settle_seconds)
                rss1 = room.sproc.memory_info().rss
                out[room.group]["rss"] = {
                    "before_bytes": rss0,
                    "after_bytes": rss1,
                    "per_connection_bytes": (rss1 - rss0) / n,
                }
            if rep < cfg.sync_reps - 1:
                close_group(pool, room, warm=False)
                time.sleep(cfg.settle_seconds / 2)
    for room in rooms:
        alls = sorted(x["all_ms"] for x in syncs[room.group])
        out[room.group]["sync"] = {
            "all_synced_ms": percentile(alls, 50),
            "all_synced_ms_runs": [x["all_ms"] for x in syncs[room.group]],
            "client_median_ms_runs": [x["client_median_ms"] for x in syncs[room.group]],
        }

    # --- edit fan-out, one sender at a time
    edits = run_rounds_interleaved(
        pool, rooms, "E", cfg.edits[n], cfg.edit_gap, cfg.round_timeout, cfg.block, counter
    )
    # --- awareness fan-out; paced so that no client sends more than 20 updates/s
    aw_gap = max(cfg.edit_gap, 0.05 / n)
    aws = run_rounds_interleaved(
        pool, rooms, "A", cfg.awareness[n], aw_gap, cfg.round_timeout, cfg.block, counter
    )
    # --- typing storm
    storms = run_storm_interleaved(
        pool, rooms, cfg.storm_seconds, cfg.storm_rate, cfg.storm_blocks, cfg
    )
    for room in rooms:
        out[room.group]["edit"] = edits[room.group]
        out[room.group]["awareness"] = aws[room.group]
        out[room.group]["storm"] = storms[room.group]
        for w in room.workers:
            pool.send(w, "stats", group=room.group)
        closed = [
            msg[1]
            for msg in pool.expect_many(room.workers, {"stats"}, 10).values()
            if msg is not None and msg[1]["closed"]
        ]
        out[room.group]["closed_connections"] = closed
    for room in rooms:
        close_group(pool, room, warm=True)
    return out


def run_crash(pool: Pool, servers: list[Server], cfg: Config) -> dict[str, Any]:
    """Crash tests for every server concurrently (they are waits, not load)."""
    out: dict[str, Any] = {}
    for i, server in enumerate(servers):
        nb = server.new_notebook("bench-crash.ipynb")
        room_id, session_id = asyncio.run(open_session(server.http_url, nb, headers=server.headers))
        url = room_url(server.ws_url, room_id, session_id)
        pool.send(
            i,
            "crash",
            url=url,
            headers=server.headers,
            observers=cfg.crash_observers,
            cap=cfg.crash_cap,
            timeout=cfg.awareness_timeout,
        )
    got = pool.expect_many(list(range(len(servers))), {"crash"}, cfg.crash_cap + 60)
    for i, server in enumerate(servers):
        msg = got[i]
        if msg is None:
            out[server.setup] = {"error": "timed out"}
            continue
        res: dict[str, Any] = {}
        for kind, times in msg[1].items():
            seen = [t for t in times if t is not None]
            res[kind] = {
                "observers": len(times),
                "gone_for_all_s": max(seen) if len(seen) == len(times) else None,
                "gone_median_s": sorted(seen)[len(seen) // 2] if seen else None,
                "not_gone_within_cap": len(times) - len(seen),
                "cap_s": cfg.crash_cap,
            }
        out[server.setup] = res
    return out


def read_revocation(out_dir: Path) -> dict[str, Any]:
    """The revocation section comes from the hub tests (they own a real hub)."""
    for candidate in (out_dir / "revocation.json", HERE / "results" / "revocation.json"):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text())
            except ValueError as exc:
                return {"status": "unreadable", "path": str(candidate), "error": str(exc)}
            return {"status": "from tests", "path": str(candidate), "data": data}
    return {
        "status": "skipped",
        "note": (
            "revoke -> cut-off is measured against a real JupyterHub by the hub tests; "
            "they write bench/results/revocation.json, which this section reads when present"
        ),
    }


def start_servers(cfg: Config, workdir: Path) -> list[Server]:
    servers = [Server(label, enabled, workdir) for label, enabled in cfg.setups]
    for s in servers:
        s.start()
    SOURCES.append(servers[0].source_digest)
    try:
        for s in servers:
            READY.append(round(s.wait_ready(), 2))
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def stop_servers(servers: list[Server], log_errors: dict[str, list[str]]) -> None:
    for s in servers:
        s.terminate()  # all at once, then wait
    for s in servers:
        s.stop()
        errs = s.errors_in_logs()
        if errs:
            log_errors.setdefault(s.setup, []).extend(errs)


def environment() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions(),
        "git": git_revision(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="stock jupyter-collaboration vs rtc-presence, interleaved, one run",
    )
    parser.add_argument("--quick", action="store_true", help="N=2,10,50, fewer samples, <1 min")
    parser.add_argument("--out", default=str(HERE / "results"), help="output directory")
    parser.add_argument("--ns", default="", help="comma-separated client counts (override)")
    parser.add_argument("--aa", action="store_true", help="stock vs stock (harness check)")
    parser.add_argument("--no-crash", action="store_true", help="skip the crashed-client test")
    parser.add_argument("--storm-seconds", type=float, default=0.0)
    parser.add_argument(
        "--apply-updates",
        action="store_true",
        help="receiving clients apply every update to their Doc (heavier clients)",
    )
    parser.add_argument("--name", default="", help="output file stem (default latest / aa)")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' temp dirs and logs"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the servers and client worker 0 during sync and storm phases "
        "(numbers of a profiled run are not comparable; writes <name>-profile.md)",
    )
    args = parser.parse_args(argv)
    cfg = make_config(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        cfg.profile = True
        cfg.name = args.name or "profile"
        cfg.profile_dir = str(out_dir / f"{cfg.name}-raw")

    t_run = time.monotonic()
    env = environment()
    workdir = Path(tempfile.mkdtemp(prefix="rtc-bench-"))
    pool = Pool(max(workers_for(max(cfg.ns)), 2))
    for i in range(len(pool.conns)):
        pool.send(i, "configure", apply_updates=cfg.apply_updates)
        pool.expect(i, {"configured"}, 10)
    results: dict[str, dict[str, Any]] = {label: {} for label, _ in cfg.setups}
    log_errors: dict[str, list[str]] = {}
    crash: dict[str, Any] = {}
    servers: list[Server] = []
    counter = Counter()
    machine: dict[str, dict[str, Any]] = {}
    try:
        for idx, n in enumerate(cfg.ns):
            if not servers or cfg.fresh_servers_per_n:
                stop_servers(servers, log_errors)
                servers = start_servers(cfg, workdir)
            order = list(range(len(servers)))
            if idx % 2 == 1:
                order.reverse()
            t0 = time.monotonic()
            probe = MachineProbe([s.pid for s in servers] + pool.pids + [os.getpid()])
            with probe:
                per_setup = measure_n(pool, servers, n, cfg, order, counter)
            machine[str(n)] = probe.result()
            took = time.monotonic() - t0
            for label, res in per_setup.items():
                res["seconds_for_both"] = took
                results[label][str(n)] = res
                print(
                    f"[bench] {label:>12} N={n:<4} "
                    f"edit p50/p99 {res['edit']['latency_ms'].get('p50', math.nan):6.2f}/"
                    f"{res['edit']['latency_ms'].get('p99', math.nan):7.2f} ms  "
                    f"aw p50/p99 {res['awareness']['latency_ms'].get('p50', math.nan):6.2f}/"
                    f"{res['awareness']['latency_ms'].get('p99', math.nan):7.2f} ms  "
                    f"sync {res['sync']['all_synced_ms']:7.1f} ms  "
                    f"storm p99 {res['storm']['latency_ms'].get('p99', math.nan):7.2f} ms",
                    flush=True,
                )
            m = machine[str(n)]
            print(
                f"[bench] N={n} took {took:.1f} s; machine: others used "
                f"{m.get('others_cores', math.nan):.2f} of {m.get('cpus')} cores, "
                f"idle {100 * m.get('idle_fraction', math.nan):.0f}%, wake-up lateness p99 "
                f"{m.get('wakeup_late_ms_p99', math.nan):.2f} ms",
                flush=True,
            )
        if cfg.crash:
            if cfg.fresh_servers_per_n:
                stop_servers(servers, log_errors)
                servers = start_servers(cfg, workdir)
            crash = run_crash(pool, servers, cfg)
            print(f"[bench] crash: {json.dumps(crash)}", flush=True)
    finally:
        stop_servers(servers, log_errors)
        pool.stop()
        if args.keep_logs:
            print(f"[bench] server dirs and logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    cfg.notes.append(
        f"client load: {CLIENTS_PER_WORKER} clients per worker process, at most {MAX_WORKERS} "
        "processes (N=200 -> 4); receiving clients "
        + (
            "apply every update to their pycrdt Doc"
            if cfg.apply_updates
            else "do not apply updates after the initial sync (lighter load generator)"
        )
    )
    data = {
        "environment": env,
        "config": asdict(cfg),
        "results": results,
        "machine": machine,
        "crash": crash,
        "revocation": read_revocation(out_dir),
        "server_log_errors": log_errors,
        "server_ready_s": READY,
        "rtc_presence_source": {
            "digests_at_server_starts": SOURCES,
            "changed_during_run": len(set(SOURCES)) > 1,
            "uncommitted_changes_at_end": git_dirty(),
        },
        "run_seconds": time.monotonic() - t_run,
    }
    if cfg.profile:
        sections = [f"# py-spy profiles ({cfg.name})", ""]
        for key, paths in sorted(PROFILES.items()):
            sections.append(render(key, top_frames(paths)))
        (out_dir / f"{cfg.name}-profile.md").write_text("\n".join(sections))
    (out_dir / f"{cfg.name}.json").write_text(dumps(data) + "\n")
    (out_dir / f"{cfg.name}.md").write_text(render_markdown(data))
    print(f"[bench] wrote {out_dir / (cfg.name + '.json')} and .md in {data['run_seconds']:.0f} s")
    return 0
