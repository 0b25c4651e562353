"""What the shared machine was doing during a phase, and the run's environment."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import threading
import time
from typing import Any

import psutil

from .server import git_revision, versions
from .stats import cpu_seconds, percentile


def proc_stat() -> list[int]:
    """Aggregate CPU tick counters from /proc/stat (user nice system idle iowait irq
    softirq steal ...)."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return []


class MachineProbe:
    """Busy/idle/steal from /proc/stat, the CPU of our own processes (servers, client
    workers, this coordinator), so "others" = busy - ours; and the wake-up lateness of
    a thread that sleeps 2 ms in a loop (scheduler delay)."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.lateness: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ours(self) -> float:
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(psutil.Error, OSError):
                total += cpu_seconds(pid)
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
