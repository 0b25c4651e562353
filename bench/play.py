"""Scheduled load: the class following one writer, and a typing storm.

A phase is a schedule of ``(time, client, kind, k)`` sends (see ``bench.worker``),
played by the workers; every client records what it receives. A delivered message is
the first receipt of ``(kind, k)`` at a client other than its sender; its latency is
receipt minus send (one monotonic clock for every process). Server CPU over the
phase and until the server is idle again (all threads, ns resolution) / delivered
messages = CPU per delivered message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from .config import Config
from .pool import Pool
from .profiling import PhaseProfiler
from .room import Room
from .stats import cpu_seconds, quiesce, quiesce_all, rss_bytes, summarize_ms

Send = tuple[float, int, str, int]
Schedule = Callable[[Room, float, float, int], list[Send]]
KINDS = ("E", "A", "R")


class Counter:
    """Unique marker numbers for the whole run (old states never match a new send)."""

    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def follow_schedule(cfg: Config, counter: Counter) -> Schedule:
    """The first client types (an edit and a cursor move per key); every other one is
    a viewer that renews its awareness state once per ``renew_period``."""

    def make(room: Room, t0: float, seconds: float, block: int) -> list[Send]:
        out: list[Send] = []
        writer = room.gids[0]
        for i in range(int(seconds * cfg.keys_per_second)):
            at = t0 + i / cfg.keys_per_second
            out.append((at, writer, "E", counter.next()))
            out.append((at, writer, "A", counter.next()))
        viewers = room.gids[1:]
        period = cfg.renew_period
        shift = (block * seconds) % period
        for v, gid in enumerate(viewers):
            at = t0 + (v * period / len(viewers) + shift) % period
            while at < t0 + seconds:
                out.append((at, gid, "R", counter.next()))
                at += period
        return sorted(out)

    return make


def storm_schedule(cfg: Config, counter: Counter) -> Schedule:
    """``storm_writers`` clients each type ``keys_per_second`` edits, staggered."""

    def make(room: Room, t0: float, seconds: float, block: int) -> list[Send]:
        writers = room.gids[: min(cfg.storm_writers, room.n)]
        rate = cfg.keys_per_second
        out: list[Send] = []
        for j, gid in enumerate(writers):
            for i in range(int(seconds * rate)):
                out.append((t0 + (i + j / len(writers)) / rate, gid, "E", counter.next()))
        return sorted(out)

    return make


def play_block(
    pool: Pool, room: Room, make: Schedule, seconds: float, block: int, cfg: Config
) -> dict[str, Any]:
    t0 = time.perf_counter() + 0.3
    sends = make(room, t0, seconds, block)
    owner = room.owner()
    per_worker: dict[int, list[Send]] = {w: [] for w in room.workers}
    sender: dict[tuple[str, int], int] = {}
    for s in sends:
        per_worker[owner[s[1]]].append(s)
        sender[(s[2], s[3])] = s[1]
    for w in room.workers:
        pool.send(w, "play", schedule=per_worker[w])
    pool.expect_many(room.workers, {"armed"}, 10)
    while time.perf_counter() < t0:
        time.sleep(0.001)
    cpu0 = cpu_seconds(room.pid)
    ccpu0 = sum(cpu_seconds(p) for p in pool.pids)
    time.sleep(max(0.0, t0 + seconds + cfg.drain_seconds - time.perf_counter()))
    rss = rss_bytes(room.pid)
    # A saturated server is still working off its backlog: wait for it (counted in
    # its CPU and its deliveries), so it does not land in the next contender's block.
    backlog = quiesce(room.pid)
    quiesce_all(pool.pids)  # and the clients have read what was sent
    cpu1 = cpu_seconds(room.pid)
    ccpu1 = sum(cpu_seconds(p) for p in pool.pids)
    wall = time.perf_counter() - t0
    replies = pool.broadcast(room.workers, "play_collect", "played", 60)
    sent: dict[tuple[str, int], float] = {}
    renewals: dict[tuple[int, int], int] = {}
    for msg in replies:
        sent.update(msg[1])
        renewals.update(msg[4])
    members = set(room.gids)
    seen: set[tuple[str, int, int]] = set()
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    for msg in replies:
        for kind, ref, gid, t in msg[2]:
            # A renewal is known to its receivers by (client id, clock) only.
            k = renewals.get(ref, -1) if isinstance(ref, tuple) else ref
            key = (kind, k)
            if key not in sent or gid not in members or gid == sender[key]:
                continue
            if (kind, k, gid) in seen:
                continue
            seen.add((kind, k, gid))
            lat[kind].append(t - sent[key])
    return {
        "lat": lat,
        "loop_lag": [x for msg in replies for x in msg[3]],
        "sent": {k: sum(1 for s in sent if s[0] == k) for k in KINDS},
        "scheduled": len(sends),
        "server_cpu_s": cpu1 - cpu0,
        "client_cpu_s": ccpu1 - ccpu0,
        "wall_s": wall,
        "rss_bytes": rss,
        "backlog_s": backlog,
    }


def play_interleaved(
    pool: Pool,
    rooms: list[Room],
    make: Schedule,
    seconds: float,
    blocks: int,
    cfg: Config,
    phase: str,
    profiler: PhaseProfiler | None = None,
) -> dict[str, dict[str, Any]]:
    """``seconds`` of the schedule per room, in ``blocks`` blocks alternating rooms."""
    acc: dict[str, list[dict[str, Any]]] = {r.label: [] for r in rooms}
    for b in range(blocks):
        for room in rooms if b % 2 == 0 else list(reversed(rooms)):
            recs = profiler.start(room, phase, seconds / blocks) if profiler else []
            acc[room.label].append(play_block(pool, room, make, seconds / blocks, b, cfg))
            if profiler:
                profiler.finish(recs)
    return {room.label: summarize(acc[room.label], room.n) for room in rooms}


def summarize(parts: list[dict[str, Any]], n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    delivered_all = 0
    for kind, name in (("E", "edit"), ("A", "awareness"), ("R", "renewal")):
        lat = [x for p in parts for x in p["lat"][kind]]
        sent = sum(p["sent"][kind] for p in parts)
        if not sent:
            continue
        expected = sent * (n - 1)
        delivered_all += len(lat)
        out[name] = {
            "latency_ms": summarize_ms(lat),
            "sent": sent,
            "delivered": len(lat),
            "expected": expected,
            "delivered_ratio": len(lat) / expected if expected else math.nan,
        }
    cpu = sum(p["server_cpu_s"] for p in parts)
    wall = sum(p["wall_s"] for p in parts)
    out["delivered"] = delivered_all
    out["server_cpu_s"] = cpu
    out["server_cpu_us_per_delivered"] = 1e6 * cpu / delivered_all if delivered_all else math.nan
    out["server_cpu_util"] = cpu / wall if wall else math.nan
    out["client_cpu_util"] = sum(p["client_cpu_s"] for p in parts) / wall if wall else math.nan
    out["server_rss_end_bytes"] = max(p["rss_bytes"] for p in parts)
    out["client_loop_lag_ms"] = summarize_ms([x for p in parts for x in p["loop_lag"]])
    out["backlog_s_max"] = max(p["backlog_s"] for p in parts)
    out["blocks"] = len(parts)
    out["wall_s"] = wall
    return out
