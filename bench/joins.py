"""Joining: all N at the same instant (burst), and N spread over a window (a class).

Each client opens the room's websocket and waits for the server's SyncStep2; a join's
latency is that wait. "All synced" is the last client's SyncStep2 minus the instant
the first client started.
"""

from __future__ import annotations

import time
from typing import Any

from .config import Config
from .pool import Pool
from .profiling import PhaseProfiler
from .room import Room, close
from .stats import percentile, quiesce, rss_bytes, summarize_ms


def connect(pool: Pool, room: Room, window: float) -> dict[str, Any]:
    """Connect the room's N clients: at once (``window`` 0) or evenly over ``window`` s.
    ``waits_s`` (every join's latency) is for pooling repetitions, not the record."""
    start_at = time.perf_counter() + 0.2
    n = room.n
    for w, gids in zip(room.workers, room.assignment, strict=True):
        # Interleave the arrivals of all workers: client j of the room joins at j/N.
        offsets = [window * room.gids.index(g) / n for g in gids] if window > 0 else None
        pool.send(
            w,
            "connect",
            url=room.spec.url,
            headers=room.spec.headers,
            gids=gids,
            start_at=start_at,
            group=room.label,
            offsets=offsets,
        )
    got = pool.expect_many(room.workers, {"connected"}, 120 + window)
    started: list[float] = []
    synced: list[float] = []
    errors: list[str] = []
    for w, msg in got.items():
        if msg is None:
            errors.append(f"worker {w}: connect timed out")
            continue
        started.extend(msg[1]["started"])
        synced.extend(msg[1]["synced"])
        errors.extend(msg[1]["errors"])
    if len(synced) != n:
        raise RuntimeError(f"{room.label} N={n}: only {len(synced)} clients joined: {errors[:3]}")
    waits = [b - a for a, b in zip(started, synced, strict=True)]
    # When the slowest joins started (s after the first): a tail is then
    # matched with what the server did at that moment (its log, a profile).
    slowest = sorted(zip(waits, started, strict=True), reverse=True)[:3]
    return {
        "waits_s": waits,
        "all_synced_ms": 1000 * (max(synced) - start_at),
        "join_ms": summarize_ms(waits),
        "slowest": [
            {"ms": round(1000 * w, 2), "at_s": round(t - min(started), 3)} for w, t in slowest
        ],
    }


def joins(
    pool: Pool, rooms: list[Room], cfg: Config, n: int, profiler: PhaseProfiler | None = None
) -> dict[str, dict[str, Any]]:
    """Burst repetitions (alternating contenders), then the class-like waves; the
    clients of the last wave stay connected for the phases after. ``profiler`` records the
    servers during every burst."""
    bursts: dict[str, list[dict[str, Any]]] = {r.label: [] for r in rooms}
    out: dict[str, dict[str, Any]] = {r.label: {} for r in rooms}
    reps = cfg.burst_reps[n]
    for rep in range(reps):
        for room in rooms if rep % 2 == 0 else list(reversed(rooms)):
            rss0 = rss_bytes(room.pid)
            recs = profiler.start(room, "join-burst", 2.0) if profiler else []
            bursts[room.label].append(connect(pool, room, 0.0))
            if profiler:
                profiler.finish(recs)
            if rep == 0:
                time.sleep(cfg.settle_seconds)
                rss1 = rss_bytes(room.pid)
                out[room.label]["rss"] = {
                    "before_bytes": rss0,
                    "after_bytes": rss1,
                    "per_connection_bytes": (rss1 - rss0) / n,
                }
            close(pool, room, warm=False)
            quiesce(room.pid, deadline=15)
    for room in rooms:
        runs = bursts[room.label]
        alls = sorted(x["all_synced_ms"] for x in runs)
        out[room.label]["burst"] = {
            "all_synced_ms": percentile(alls, 50),
            "all_synced_ms_runs": [x["all_synced_ms"] for x in runs],
            "join_ms_p50_runs": [x["join_ms"].get("p50") for x in runs],
        }
    out_waves = waves(pool, rooms, cfg, n)
    for room in rooms:
        out[room.label]["wave"] = out_waves[room.label]
    return out


def waves(pool: Pool, rooms: list[Room], cfg: Config, n: int) -> dict[str, dict[str, Any]]:
    """``wave_reps[n]`` class-like waves per contender, alternating; the figures pool
    every wave's joins (a p99 over one wave of 300 is its 3 slowest joins: one sample
    of the tail). The last wave's clients stay connected."""
    reps = cfg.wave_reps[n]
    runs: dict[str, list[dict[str, Any]]] = {r.label: [] for r in rooms}
    for rep in range(reps):
        for room in rooms if rep % 2 == 0 else list(reversed(rooms)):
            runs[room.label].append(connect(pool, room, cfg.join_window))
            if rep < reps - 1:
                close(pool, room, warm=False)
                quiesce(room.pid, deadline=15)
            else:
                time.sleep(cfg.settle_seconds)
    out: dict[str, dict[str, Any]] = {}
    for room in rooms:
        parts = runs[room.label]
        after = [p["all_synced_ms"] - 1000 * cfg.join_window * (n - 1) / n for p in parts]
        slowest = sorted(
            ({**s, "wave": i} for i, p in enumerate(parts) for s in p["slowest"]),
            key=lambda s: -float(s["ms"]),
        )
        out[room.label] = {
            "window_s": cfg.join_window,
            "waves": len(parts),
            "join_ms": summarize_ms([w for p in parts for w in p["waits_s"]]),
            "join_ms_p99_runs": [p["join_ms"].get("p99") for p in parts],
            "all_synced_ms": percentile(sorted(p["all_synced_ms"] for p in parts), 50),
            "after_window_ms": percentile(sorted(after), 50),
            "slowest": slowest[:3],
        }
    return out
