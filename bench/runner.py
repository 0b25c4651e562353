"""Coordinator: contenders, client workers, the phases of every N, the run record."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import Config, make_config, parser
from .contenders import Contender, make
from .crash import run_crash
from .joins import joins
from .machine import MachineProbe, environment
from .play import Counter, follow_schedule, play_interleaved, storm_schedule
from .pool import Pool
from .profiling import PhaseProfiler
from .report import render_markdown
from .room import announce, close, closed_connections, open_rooms, warm, workers_for
from .server import dumps, git_dirty, source_digest
from .stats import quiesce

HERE = Path(__file__).resolve().parent


class Run:
    """What one run collects (written to ``<name>.json``)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.results: dict[str, dict[str, Any]] = {label: {} for label, _ in cfg.contenders}
        self.machine: dict[str, dict[str, Any]] = {}
        self.log_errors: dict[str, list[str]] = {}
        self.ready_s: list[dict[str, float]] = []
        self.digests: list[str] = []
        self.crash: dict[str, Any] = {}


def start_contenders(cfg: Config, workdir: Path, run: Run) -> list[Contender]:
    contenders = [make(label, kind, workdir) for label, kind in cfg.contenders]
    run.digests.append(source_digest())
    try:
        for c in contenders:
            c.start()
        run.ready_s.append({c.label: round(c.wait_ready(), 2) for c in contenders})
    except BaseException:
        stop_contenders(contenders, run)
        raise
    return contenders


def stop_contenders(contenders: list[Contender], run: Run) -> None:
    for c in contenders:
        c.terminate()  # all at once, then wait
    for c in contenders:
        c.stop()
        errs = c.errors_in_logs()
        if errs:
            run.log_errors.setdefault(c.label, []).extend(errs)


def measure_n(
    pool: Pool,
    contenders: list[Contender],
    n: int,
    cfg: Config,
    counter: Counter,
    profiler: PhaseProfiler | None,
) -> dict[str, dict[str, Any]]:
    """Every phase at one N, the contenders interleaved within each phase."""
    rooms = open_rooms(contenders, n, f"bench-n{n}.ipynb")
    for room in rooms:
        warm(pool, room)
    time.sleep(cfg.settle_seconds)
    out: dict[str, dict[str, Any]] = {
        r.label: {"n": n, "client_processes": len(r.workers)} for r in rooms
    }
    for label, res in joins(pool, rooms, cfg, n, profiler).items():
        out[label].update(res)
    # The class has arrived; each tab says who it is before the teacher types.
    for room in rooms:
        announce(pool, room, window=0.5 if cfg.quick else 2.0)
    for room in rooms:
        quiesce(room.pid, deadline=15)
    follow = play_interleaved(
        pool,
        rooms,
        follow_schedule(cfg, counter),
        cfg.follow_seconds[n],
        cfg.follow_blocks,
        cfg,
        "follow",
        profiler,
    )
    storm = play_interleaved(
        pool,
        rooms,
        storm_schedule(cfg, counter),
        cfg.storm_seconds,
        cfg.storm_blocks,
        cfg,
        "storm",
        profiler,
    )
    for room in rooms:
        out[room.label]["follow"] = follow[room.label]
        out[room.label]["storm"] = storm[room.label]
        out[room.label]["closed_connections"] = closed_connections(pool, room)
    for room in rooms:
        close(pool, room, warm=True)
    return out


def line(label: str, n: int, res: dict[str, Any]) -> str:
    def g(*path: str) -> float:
        cur: Any = res
        for p in path:
            cur = cur.get(p, {}) if isinstance(cur, dict) else {}
        return float(cur) if isinstance(cur, (int, float)) else math.nan

    edit = "follow", "edit", "latency_ms"
    return (
        f"[bench] {label:>14} N={n:<4} edit p50/p99 "
        f"{g(*edit, 'p50'):6.2f}/{g(*edit, 'p99'):7.2f} ms"
        f"  aw p99 {g('follow', 'awareness', 'latency_ms', 'p99'):7.2f} ms"
        f"  burst {g('burst', 'all_synced_ms'):7.1f} ms"
        f"  wave p99 {g('wave', 'join_ms', 'p99'):6.1f} ms"
        f"  cpu/msg {g('follow', 'server_cpu_us_per_delivered'):6.1f} us"
        f"  storm p99 {g('storm', 'edit', 'latency_ms', 'p99'):7.1f} ms"
        f" ({g('storm', 'edit', 'delivered_ratio'):.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = make_config(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    profiler: PhaseProfiler | None = None
    if args.profile:
        cfg.profile = True
        cfg.name = args.name or "profile"
        cfg.profile_dir = str(out_dir / f"{cfg.name}-raw")
        profiler = PhaseProfiler(Path(cfg.profile_dir))
    run = Run(cfg)
    t_run = time.monotonic()
    env = environment()
    workdir = Path(tempfile.mkdtemp(prefix="rtc-bench-"))
    pool = Pool(max(workers_for(max(cfg.ns)), len(cfg.contenders)))
    for i in range(len(pool.conns)):
        pool.send(i, "configure", apply_updates=cfg.apply_updates)
        pool.expect(i, {"configured"}, 10)
    contenders: list[Contender] = []
    counter = Counter()
    try:
        for idx, n in enumerate(cfg.ns):
            if not contenders or cfg.fresh_servers_per_n:
                stop_contenders(contenders, run)
                contenders = start_contenders(cfg, workdir, run)
            # Who goes first alternates from one N to the next.
            order = contenders if idx % 2 == 0 else list(reversed(contenders))
            t0 = time.monotonic()
            probe = MachineProbe([c.pid for c in contenders] + pool.pids + [os.getpid()])
            with probe:
                per = measure_n(pool, order, n, cfg, counter, profiler)
            run.machine[str(n)] = m = probe.result()
            took = time.monotonic() - t0
            for label, res in per.items():
                res["seconds_for_all"] = took
                run.results[label][str(n)] = res
                print(line(label, n, res), flush=True)
            print(
                f"[bench] N={n} took {took:.1f} s; others used "
                f"{m.get('others_cores', math.nan):.2f} of {m.get('cpus')} cores, idle "
                f"{100 * m.get('idle_fraction', math.nan):.0f}%, wake-up lateness p99 "
                f"{m.get('wakeup_late_ms_p99', math.nan):.2f} ms",
                flush=True,
            )
        if cfg.crash:
            if cfg.fresh_servers_per_n:
                stop_contenders(contenders, run)
                contenders = start_contenders(cfg, workdir, run)
            try:
                run.crash = run_crash(pool, contenders, cfg)
            except (RuntimeError, TimeoutError) as exc:  # WorkerError included
                # The per-N results are in; a failed wait must not lose them.
                run.crash = {"error": str(exc)[:2000]}
            print(f"[bench] crash: {json.dumps(run.crash)}", flush=True)
    finally:
        stop_contenders(contenders, run)
        pool.stop()
        if args.keep_logs:
            print(f"[bench] server dirs and logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    data = record(run, env, time.monotonic() - t_run, profiler)
    if profiler is not None:
        (out_dir / f"{cfg.name}-profile.md").write_text(profiler.render(cfg.name))
    (out_dir / f"{cfg.name}.json").write_text(dumps(data) + "\n")
    (out_dir / f"{cfg.name}.md").write_text(render_markdown(data))
    print(f"[bench] wrote {out_dir / (cfg.name + '.json')} and .md in {data['run_seconds']:.0f} s")
    return 0


def record(
    run: Run, env: dict[str, Any], seconds: float, profiler: PhaseProfiler | None
) -> dict[str, Any]:
    cfg = run.cfg
    cfg.notes.append(
        "clients: 75 per worker process, at most 4 processes; every contender's clients "
        "stay connected while the others are measured; receiving clients "
        + (
            "apply every update to their pycrdt Doc"
            if cfg.apply_updates
            else "do not apply updates after the initial sync (lighter load generator)"
        )
    )
    return {
        "environment": env,
        "config": asdict(cfg),
        "results": run.results,
        "machine": run.machine,
        "crash": run.crash,
        "revocation": read_revocation(),
        "server_log_errors": run.log_errors,
        "server_ready_s": run.ready_s,
        "profile": profiler.summary() if profiler else {},
        "rtc_presence_source": {
            "digests_at_server_starts": run.digests,
            "changed_during_run": len(set(run.digests)) > 1,
            "uncommitted_changes_at_end": git_dirty(),
        },
        "run_seconds": seconds,
    }


def read_revocation() -> dict[str, Any]:
    """Revoke -> cut-off is measured on a real hub by tests/test_hub_sharing.py, which
    writes bench/results/revocation.json; shown as is when present."""
    path = HERE / "results" / "revocation.json"
    if not path.is_file():
        return {"status": "skipped", "note": "no bench/results/revocation.json"}
    try:
        return {"status": "from tests", "path": str(path), "data": json.loads(path.read_text())}
    except ValueError as exc:
        return {"status": "unreadable", "path": str(path), "error": str(exc)}
