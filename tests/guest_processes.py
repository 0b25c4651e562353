"""Helpers of the guest-process tests (``tests/test_processes_*.py``): whether a process
lives (``/proc``), polling with a deadline, and the loops a hostile guest starts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rtc_presence.proctable import ENV_STARTED_BY, read_proc
from rtc_presence.testing.waiting import until


def alive(pid: int) -> bool:
    proc = read_proc(pid)
    return proc is not None and proc.alive


async def until_timed(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` with a deadline (the kit's one helper); return the seconds taken."""
    t0 = time.monotonic()
    await until(predicate, timeout, what, interval=0.02)
    return time.monotonic() - t0


def loop(path: Path) -> str:
    """Shell: write our pid to path.pid, then a line to path every 0.05 s."""
    return f"echo $$ > {path}.pid; while :; do echo x >> {path}; sleep 0.05; done"


GUEST_LOOPS = """
import os, subprocess, threading, time
def beat():
    while True:
        with open({thread!r}, "a") as f:
            f.write("x\\n")
        time.sleep(0.05)
threading.Thread(target=beat, daemon=True).start()
subprocess.Popen(["sh", "-c", {sub!r}])
subprocess.Popen("setsid nohup sh -c {detached!r} >/dev/null 2>&1 &", shell=True)
"""
"""What a hostile guest's kernel starts, on both servers: a thread, a subprocess and a
``setsid nohup`` loop (a new session, reparented by the shell's ``&``)."""


def guest_code(template: str, beat: dict[str, Path], **more: str) -> str:
    """``template`` with the loops writing to ``beat``'s files."""
    loops = {name: loop(beat[name]) for name in ("sub", "detached", "clean") if name in beat}
    return template.format(thread=str(beat["thread"]), by=ENV_STARTED_BY, **loops, **more)


def pid_of(path: Path) -> int:
    return int(Path(f"{path}.pid").read_text())


def grows(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0
