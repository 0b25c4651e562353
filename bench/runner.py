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
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import psutil

from rtc_presence.testing.yclient import open_session, room_url

from .report import render_markdown
from .server import Server, dumps, git_revision, versions
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
    setups: list[tuple[str, bool]]
    name: str
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
            return 60
        return 200 if n <= 50 else (150 if n <= 100 else 100)

    def aw_for(n: int) -> int:
        if quick:
            return 40
        if n <= 2:
            return 100
        return 200 if n <= 50 else (150 if n <= 100 else 100)

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
        storm_seconds=args.storm_seconds if args.storm_seconds else (5.0 if quick else 15.0),
        storm_rate=20.0,
        edit_gap=0.01,
        round_timeout=5.0,
        crash=not args.no_crash,
        crash_cap=8.0 if quick else 40.0,
        crash_observers=8,
        awareness_timeout=30.0,
        fresh_servers_per_n=not quick,
        setups=setups,
        name=args.name or ("aa" if args.aa else "latest"),
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


def run_rounds(
    pool: Pool, workers: list[int], kind: str, count: int, n: int, gap: float, timeout: float
) -> dict[str, Any]:
    """``count`` rounds, one sender at a time (rotating); latency sender -> each other client."""
    latencies: list[float] = []
    missing = 0
    timeouts = 0
    t_start = time.monotonic()
    for k in range(count):
        sender = k % n
        for w in workers:
            pool.send(w, "round", kind=kind, k=k, sender=sender)
        got = pool.expect_many(workers, {"done"}, timeout)
        late = [w for w, msg in got.items() if msg is None]
        if late:
            timeouts += 1
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
            raise RuntimeError(f"{kind} round {k}: sender's worker did not report")
        latencies.extend(t - t_send for t in times)
        missing += (n - 1) - len(times)
        if gap > 0:
            time.sleep(gap)
    return {
        "latency_ms": summarize_ms(latencies),
        "rounds": count,
        "missing_receipts": missing,
        "rounds_timed_out": timeouts,
        "seconds": time.monotonic() - t_start,
    }


def run_storm(
    pool: Pool,
    workers: list[int],
    assignment: list[list[int]],
    n: int,
    seconds: float,
    rate: float,
    server: psutil.Process,
) -> dict[str, Any]:
    total = int(seconds * rate)
    start_at = time.perf_counter() + 0.5
    owner = {gid: w for w, gids in zip(workers, assignment, strict=True) for gid in gids}
    schedules: dict[int, list[tuple[float, int, int]]] = {w: [] for w in workers}
    for k in range(total):
        gid = k % n
        schedules[owner[gid]].append((start_at + k / rate, gid, k))
    clients = [psutil.Process(pid) for pid in (pool.pids[w] for w in workers)]
    for w in workers:
        pool.send(w, "storm", schedule=schedules[w])
    pool.expect_many(workers, {"storm-armed"}, 10)
    # measurement window: from the first scheduled send to the end of the drain
    while time.perf_counter() < start_at:
        time.sleep(0.001)
    cpu0 = cpu_seconds(server)
    ccpu0 = sum(cpu_seconds(c) for c in clients)
    w0 = time.perf_counter()
    time.sleep(seconds + 1.5)
    cpu1 = cpu_seconds(server)
    ccpu1 = sum(cpu_seconds(c) for c in clients)
    wall = time.perf_counter() - w0
    for w in workers:
        pool.send(w, "storm_collect")
    got = pool.expect_many(workers, {"storm"}, 30)
    sends: dict[int, float] = {}
    recv: list[tuple[int, int, float]] = []
    for msg in got.values():
        if msg is None:
            continue
        sends.update(msg[1])
        recv.extend(msg[2])
    sender_of = {k: k % n for k in range(total)}
    latencies = [t - sends[k] for k, gid, t in recv if k in sends and gid != sender_of.get(k)]
    delivered = len(latencies)
    expected = len(sends) * (n - 1)
    server_cpu = cpu1 - cpu0
    return {
        "latency_ms": summarize_ms(latencies),
        "sent": len(sends),
        "scheduled": total,
        "delivered": delivered,
        "expected": expected,
        "delivered_ratio": delivered / expected if expected else math.nan,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_delivered": 1e6 * server_cpu / delivered if delivered else math.nan,
        "server_cpu_util": server_cpu / wall,
        "client_cpu_util": (ccpu1 - ccpu0) / wall,
        "client_processes": len(workers),
        "wall_s": wall,
    }


def measure_setup_n(pool: Pool, server: Server, n: int, cfg: Config, tag: str) -> dict[str, Any]:
    """All per-N phases for one server, in a fresh notebook room."""
    out: dict[str, Any] = {"n": n}
    sproc = psutil.Process(server.pid)
    nb = server.new_notebook(f"bench-{tag}-n{n}.ipynb")
    room_id, session_id = asyncio.run(open_session(server.http_url, nb, headers=server.headers))
    url = room_url(server.ws_url, room_id, session_id)
    nw = workers_for(n)
    workers = list(range(nw))
    assignment = split(list(range(n)), nw)
    out["client_processes"] = nw

    # The room is loaded by one extra client, so the measured connects find it warm.
    pool.send(0, "warm", url=url, headers=server.headers)
    pool.expect(0, {"warm"}, 60)
    time.sleep(0.5)
    rss0 = sproc.memory_info().rss

    # --- connect + initial sync, all N at once
    start_at = time.perf_counter() + 0.3
    for w, gids in zip(workers, assignment, strict=True):
        pool.send(w, "connect", url=url, headers=server.headers, gids=gids, start_at=start_at)
    got = pool.expect_many(workers, {"connected"}, 180)
    synced: list[float] = []
    errors: list[str] = []
    for w, msg in got.items():
        if msg is None:
            errors.append(f"worker {w}: connect timed out")
            continue
        synced.extend(msg[1]["synced_at"])
        errors.extend(msg[1]["errors"])
    per_client = sorted(t - start_at for t in synced)
    out["sync"] = {
        "all_synced_ms": 1000 * max(per_client) if per_client else math.nan,
        "client_ms": summarize_ms(per_client),
        "connected": len(synced),
        "errors": errors[:10],
    }
    if len(synced) != n:
        raise RuntimeError(
            f"{server.setup} N={n}: only {len(synced)} clients connected: {errors[:3]}"
        )

    time.sleep(1.0)
    rss1 = sproc.memory_info().rss
    out["rss"] = {
        "before_bytes": rss0,
        "after_bytes": rss1,
        "per_connection_bytes": (rss1 - rss0) / n,
    }

    # --- edit fan-out, one sender at a time
    out["edit"] = run_rounds(pool, workers, "E", cfg.edits[n], n, cfg.edit_gap, cfg.round_timeout)
    # --- awareness fan-out; paced so that no client sends more than 20 updates/s
    aw_gap = max(cfg.edit_gap, 0.05 / n)
    out["awareness"] = run_rounds(
        pool, workers, "A", cfg.awareness[n], n, aw_gap, cfg.round_timeout
    )
    # --- typing storm
    out["storm"] = run_storm(pool, workers, assignment, n, cfg.storm_seconds, cfg.storm_rate, sproc)

    closed: list[Any] = []
    for w in workers:
        pool.send(w, "stats")
    for msg in pool.expect_many(workers, {"stats"}, 10).values():
        if msg is not None and msg[1]["closed"]:
            closed.append(msg[1])
    out["closed_connections"] = closed

    for w in workers:
        pool.send(w, "close_all")
    pool.expect_many(workers, {"closed"}, 30)
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
    try:
        for s in servers:
            s.wait_ready()
    except BaseException:
        for s in servers:
            s.stop()
        raise
    return servers


def stop_servers(servers: list[Server], log_errors: dict[str, list[str]]) -> None:
    for s in servers:
        errs = s.errors_in_log()
        if errs:
            log_errors.setdefault(s.setup, []).extend(errs)
        s.stop()


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
    parser.add_argument("--name", default="", help="output file stem (default latest / aa)")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' temp dirs and logs"
    )
    args = parser.parse_args(argv)
    cfg = make_config(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    t_run = time.monotonic()
    env = environment()
    workdir = Path(tempfile.mkdtemp(prefix="rtc-bench-"))
    pool = Pool(max(MAX_WORKERS if max(cfg.ns) > 100 else workers_for(max(cfg.ns)), 2))
    results: dict[str, dict[str, Any]] = {label: {} for label, _ in cfg.setups}
    server_start: dict[str, list[float]] = {label: [] for label, _ in cfg.setups}
    log_errors: dict[str, list[str]] = {}
    crash: dict[str, Any] = {}
    servers: list[Server] = []
    try:
        for idx, n in enumerate(cfg.ns):
            if not servers or cfg.fresh_servers_per_n:
                stop_servers(servers, log_errors)
                servers = start_servers(cfg, workdir)
            order = servers if idx % 2 == 0 else list(reversed(servers))
            for server in order:
                t0 = time.monotonic()
                res = measure_setup_n(pool, server, n, cfg, server.setup)
                res["seconds"] = time.monotonic() - t0
                results[server.setup][str(n)] = res
                print(
                    f"[bench] {server.setup:>12} N={n:<4} "
                    f"edit p50/p99 {res['edit']['latency_ms'].get('p50', math.nan):6.2f}/"
                    f"{res['edit']['latency_ms'].get('p99', math.nan):7.2f} ms  "
                    f"aw p99 {res['awareness']['latency_ms'].get('p99', math.nan):7.2f} ms  "
                    f"sync {res['sync']['all_synced_ms']:7.1f} ms  "
                    f"({res['seconds']:.1f} s)",
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
        "processes (N=200 -> 4); every client applies every update to its own pycrdt Doc"
    )
    data = {
        "environment": env,
        "config": asdict(cfg),
        "results": results,
        "crash": crash,
        "revocation": read_revocation(out_dir),
        "server_log_errors": log_errors,
        "server_start_s": server_start,
        "run_seconds": time.monotonic() - t_run,
    }
    (out_dir / f"{cfg.name}.json").write_text(dumps(data) + "\n")
    (out_dir / f"{cfg.name}.md").write_text(render_markdown(data))
    print(f"[bench] wrote {out_dir / (cfg.name + '.json')} and .md in {data['run_seconds']:.0f} s")
    return 0
