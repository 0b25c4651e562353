"""Finding and ending the processes a person started, from ``/proc``.

Everything a guest with run access starts runs as the owner's unix user, so
the operating system cannot tell it apart from the owner's own processes.
What it can tell: the environment a kernel or terminal was started with is
inherited by everything it starts (``nohup``, ``setsid``, a double fork), and
``/proc/<pid>/environ`` shows the environment a process was started with.
:mod:`rtc_presence.processes` puts a random ``RTC_PRESENCE_SESSION`` id in
the environment of each kernel and terminal a guest starts; this module finds
every process of our uid carrying one of a person's ids, plus what hangs on
them: their descendants, and the members of the process groups and sessions
they lead (a child started with a clean environment stays in its parent's
group). It ends them with SIGTERM, then SIGKILL after a grace period.

Linux only (``/proc``); elsewhere :func:`scan` finds nothing. No jupyter
imports: the rules are tested on their own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")

ENV_STARTED_BY = "RTC_PRESENCE_STARTED_BY"
"""The user name of the person who started a kernel or terminal (informative)."""
ENV_SESSION = "RTC_PRESENCE_SESSION"
"""A random id per kernel or terminal a guest started: what a revoke matches on."""

_WANTED = (ENV_STARTED_BY.encode() + b"=", ENV_SESSION.encode() + b"=")


@dataclass(frozen=True)
class Proc:
    """One process as ``/proc`` showed it."""

    pid: int
    ppid: int
    pgrp: int
    sid: int
    start: int
    """Start time in clock ticks since boot: with the pid, names one process (pids are reused)."""
    state: str
    started_by: str | None = None
    session: str | None = None

    @property
    def alive(self) -> bool:
        # A zombie has exited; it only waits for its parent to reap it.
        return self.state not in ("Z", "X")


def read_proc(pid: int, uid: int | None = None) -> Proc | None:
    """``/proc/<pid>`` as a :class:`Proc`, or None (gone, another uid, unreadable)."""
    base = PROC / str(pid)
    try:
        if uid is not None and base.stat().st_uid != uid:
            return None
        stat = (base / "stat").read_bytes()
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(b")") + 2 :].split()
        environ = (base / "environ").read_bytes()
    except (OSError, ValueError):
        return None
    started_by = session = None
    for entry in environ.split(b"\0"):
        if entry.startswith(_WANTED[0]):
            started_by = entry[len(_WANTED[0]) :].decode("utf-8", "replace")
        elif entry.startswith(_WANTED[1]):
            session = entry[len(_WANTED[1]) :].decode("utf-8", "replace")
    return Proc(
        pid=pid,
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        sid=int(fields[3]),
        start=int(fields[19]),
        state=fields[0].decode(),
        started_by=started_by,
        session=session,
    )


def scan(uid: int | None = None) -> dict[int, Proc]:
    """Every process of ``uid`` (default: ours) that ``/proc`` lets us read."""
    uid = os.getuid() if uid is None else uid
    found: dict[int, Proc] = {}
    try:
        entries = os.listdir(PROC)
    except OSError:
        return found
    for name in entries:
        if name.isdigit():
            proc = read_proc(int(name), uid)
            if proc is not None:
                found[proc.pid] = proc
    return found


def protected() -> set[int]:
    """This process and its ancestors: never signalled, whatever their environment says."""
    pids = {os.getpid()}
    pid = os.getppid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        proc = read_proc(pid)
        if proc is None:
            break
        pid = proc.ppid
    return pids


def targets(
    procs: dict[int, Proc],
    sessions: Iterable[str],
    keep: set[int],
    leaders: set[int] | None = None,
    roots: Iterable[int] = (),
) -> set[int]:
    """The live processes to end for a person whose marker ids are ``sessions``.

    Marked processes (and ``roots``, pids taken as marked), their descendants
    (a child may have been started with a clean environment), and the members
    of every process group and session a marked process leads (terminals and
    kernels lead their own). ``leaders``, if given, collects those leaders'
    pids, and its pids count as leaders even once they are gone (their group
    outlives them). ``keep`` is never included.
    """
    wanted = set(sessions)
    marked = {p.pid for p in procs.values() if p.session is not None and p.session in wanted}
    marked.update(pid for pid in roots if pid in procs)
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    found = set(marked)
    todo = list(marked)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    led = {pid for pid in marked if procs[pid].pgrp == pid or procs[pid].sid == pid}
    if leaders is not None:
        leaders.update(led)
        led = leaders
    found.update(p.pid for p in procs.values() if p.pgrp in led or p.sid in led)
    return {pid for pid in found if procs[pid].alive and pid not in keep}


def _signal(proc: Proc, sig: int) -> bool:
    """Send ``sig`` to exactly the process scanned (not a later one given its pid)."""
    if not hasattr(os, "pidfd_open"):  # old Python or kernel: a plain kill
        try:
            os.kill(proc.pid, sig)
        except OSError:
            return False
        return True
    try:
        # A pidfd pins the process: once open, the pid cannot name another one.
        pidfd = os.pidfd_open(proc.pid)
    except OSError:
        return False
    try:
        now = read_proc(proc.pid)
        if now is None or now.start != proc.start:
            return False
        signal.pidfd_send_signal(pidfd, sig)
        return True
    except OSError:
        return False
    finally:
        os.close(pidfd)


@dataclass
class KillReport:
    """What :func:`end_sessions` did."""

    terminated: list[int] = field(default_factory=list)
    """Pids sent SIGTERM."""
    killed: list[int] = field(default_factory=list)
    """Pids still alive after the grace period, sent SIGKILL."""
    survivors: list[int] = field(default_factory=list)
    """Pids still alive when :func:`end_sessions` gave up (should stay empty)."""
    seconds: float = 0.0


def tree_of(pid: int) -> dict[int, int]:
    """``pid``, its descendants and the members of the group and session it leads,
    as pid -> start time (to end them later with :func:`end_sessions`)."""
    procs = scan()
    return {p: procs[p].start for p in targets(procs, (), protected(), roots=(pid,))}


async def end_sessions(
    sessions: Iterable[str],
    *,
    also: dict[int, int] | None = None,
    grace: float = 1.0,
    give_up: float = 5.0,
    poll: float = 0.05,
) -> KillReport:
    """End every process of ours that belongs to one of ``sessions``.

    ``also``: more processes to end (pid -> start time, from :func:`tree_of`).
    SIGTERM (with SIGCONT, so a stopped process gets it) to each one found,
    rescanning every ``poll`` seconds for processes started meanwhile; SIGKILL
    to whatever is alive after ``grace`` seconds, until none is left or
    ``give_up`` seconds passed.
    """
    wanted = frozenset(sessions)
    report = KillReport()
    if not wanted and not also:
        return report
    keep = protected()
    t0 = time.monotonic()
    leaders: set[int] = set()
    # pid -> start time, of every process targeted so far
    chosen: dict[int, int] = {p: t for p, t in (also or {}).items() if p not in keep}
    termed: set[int] = set()
    while True:
        procs = await asyncio.to_thread(scan)
        for pid in targets(procs, wanted, keep, leaders):
            chosen.setdefault(pid, procs[pid].start)
        # Once targeted, a process stays targeted: its marked parent or leader may
        # be gone by the next scan, and with it the link that found it.
        alive = [procs[pid] for pid, start in sorted(chosen.items()) if _same(procs, pid, start)]
        elapsed = time.monotonic() - t0
        if not alive:
            break
        if elapsed > give_up:
            report.survivors = [p.pid for p in alive]
            break
        for proc in alive:
            if elapsed >= grace:
                if _signal(proc, signal.SIGKILL) and proc.pid not in report.killed:
                    report.killed.append(proc.pid)
            elif proc.pid not in termed:
                termed.add(proc.pid)
                if _signal(proc, signal.SIGTERM):
                    report.terminated.append(proc.pid)
                    _signal(proc, signal.SIGCONT)
        await asyncio.sleep(poll)
    report.seconds = time.monotonic() - t0
    return report


def _same(procs: dict[int, Proc], pid: int, start: int) -> bool:
    proc = procs.get(pid)
    return proc is not None and proc.alive and proc.start == start


def marked_processes(uid: int | None = None) -> list[Proc]:
    """Every live process of ours carrying an rtc-presence marker (any server's)."""
    return [p for p in scan(uid).values() if p.alive and (p.session or p.started_by)]
