"""Percentiles, latency summaries and a process's CPU time and memory."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

import psutil


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
    """n, p50, p95, p99, max and mean in milliseconds of samples in seconds."""
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


def cpu_seconds(pid: int) -> float:
    """CPU time of a process (all threads), in seconds.

    Read from /proc/<pid>/task/*/schedstat (nanoseconds) when available, because
    psutil's cpu_times() has clock-tick (10 ms) resolution, too coarse for the
    per-message figures at small N; falls back to psutil.
    """
    task_dir = Path(f"/proc/{pid}/task")
    try:
        total = 0
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                total += int((task / "schedstat").read_text().split()[0])
        if total:
            return total / 1e9
    except OSError:
        pass
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def rss_bytes(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def quiesce(pid: int, cores: float = 0.1, window: float = 0.25, deadline: float = 30) -> float:
    """Wait until the process uses under ``cores`` over ``window`` s (a saturated
    server works off its backlog first, which must not land in the next contender's
    block); returns the seconds waited (``deadline`` at most)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        c0 = cpu_seconds(pid)
        time.sleep(window)
        if cpu_seconds(pid) - c0 < cores * window:
            break
    return time.monotonic() - t0


def quiesce_all(
    pids: list[int], cores: float = 0.1, window: float = 0.25, deadline: float = 10
) -> float:
    """:func:`quiesce` for several processes over one shared window (the client
    workers after a block: one by one cost a window each, a minute per full run)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        c0 = [cpu_seconds(p) for p in pids]
        time.sleep(window)
        if all(cpu_seconds(p) - c < cores * window for p, c in zip(pids, c0, strict=True)):
            break
    return time.monotonic() - t0
