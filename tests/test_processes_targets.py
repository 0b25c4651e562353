"""Which processes a revoked guest's ending reaches, and what their environment holds
(issue 13, finding 2): the rules on their own, on real subprocesses, no server.

The same on a real Jupyter server: ``test_processes_server.py``; on a real hub:
``test_processes_hub.py``.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from rtc_presence.processes import HUB_TOKEN_VARS, ProcessLedger
from rtc_presence.proctable import ENV_SESSION, ENV_STARTED_BY, Proc, end_sessions, targets
from tests.guest_processes import alive, until_timed

# ---------------------------------------------------------------- the rules, on their own


def _p(pid: int, ppid: int, pgrp: int, sid: int, session: str | None = None, state: str = "S"):
    return Proc(pid, ppid, pgrp, sid, start=pid, state=state, session=session)


def test_targets_follow_markers_children_groups_and_sessions() -> None:
    procs = {
        p.pid: p
        for p in (
            _p(1, 0, 1, 1),  # init
            _p(10, 1, 10, 10),  # the server
            _p(20, 10, 20, 20, "s-bob"),  # bob's kernel, leads its session
            _p(21, 20, 20, 20),  # a clean-env child in the kernel's session
            _p(22, 1, 22, 22, "s-bob"),  # setsid + double fork: reparented, still marked
            _p(23, 22, 22, 22),  # its clean-env child
            _p(24, 1, 24, 20),  # own group, kernel's session
            _p(25, 20, 20, 20, state="Z"),  # a zombie: already dead
            _p(30, 10, 30, 30, "s-carol"),  # carol's
            _p(40, 10, 40, 40),  # alice's kernel
            _p(41, 40, 40, 40),
        )
    }
    assert targets(procs, {"s-bob"}, keep=set()) == {20, 21, 22, 23, 24}
    assert targets(procs, {"s-bob"}, keep={21}) == {20, 22, 23, 24}
    assert targets(procs, {"s-carol"}, keep=set()) == {30}
    assert targets(procs, set(), keep=set()) == set()
    # A leader found once keeps its group targeted after it is gone.
    leaders: set[int] = set()
    targets(procs, {"s-bob"}, set(), leaders)
    del procs[20]
    assert {21, 24} <= targets(procs, {"s-bob"}, set(), leaders)


async def test_end_sessions_terms_then_kills_and_spares_the_rest(tmp_path: Path) -> None:
    def start(script: str, session: str | None) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ["PATH"]}
        if session:
            env[ENV_SESSION] = session
        return subprocess.Popen(["sh", "-c", script], env=env, start_new_session=True)

    stubborn = start("trap '' TERM; while :; do sleep 0.05; done", "s-bob")
    # A child with a clean environment, in the marked leader's session.
    pidfile = tmp_path / "clean.pid"
    parent = start(f"env -i sh -c 'echo $$ > {pidfile}; exec sleep 60' & wait", "s-bob")
    bystander = start("exec sleep 60", None)
    carol = start("exec sleep 60", "s-carol")
    await until_timed(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, "clean child")
    clean = int(pidfile.read_text())
    try:
        t0 = time.monotonic()
        report = await end_sessions({"s-bob"}, grace=0.5)
        took = time.monotonic() - t0
        for pid in (stubborn.pid, parent.pid, clean):
            assert not alive(pid), pid
        assert stubborn.pid in report.killed  # ignored SIGTERM
        assert clean in report.terminated
        assert report.survivors == []
        assert took < 2.0, took
        assert alive(bystander.pid) and alive(carol.pid)
    finally:
        for proc in (stubborn, parent, bystander, carol):
            proc.kill()
            proc.wait(5)


def test_env_policy() -> None:
    import logging

    ledger = ProcessLedger(
        lambda name: "owner" if name == "alice" else "guest", logging.getLogger()
    )
    base = {"PATH": "/bin", ENV_SESSION: "inherited", **dict.fromkeys(HUB_TOKEN_VARS, "t")}
    from rtc_presence.access import REQUESTER

    for who in ("alice", "bob", None):
        token = REQUESTER.set(who)
        try:
            env, mark = ledger.prepare_env(base, "kernel")
        finally:
            REQUESTER.reset(token)
        assert not set(HUB_TOKEN_VARS) & env.keys()
        assert env["PATH"] == "/bin"
        assert mark.started_by == who
        if who == "bob":
            assert env[ENV_STARTED_BY] == "bob"
            assert env[ENV_SESSION] == mark.session
            assert ledger.sessions_of("bob") == {mark.session}
        else:
            assert ENV_STARTED_BY not in env and ENV_SESSION not in env
            assert mark.session is None
    ledger.keep_hub_token = True
    env, _ = ledger.prepare_env(base, "terminal")
    assert env["JUPYTERHUB_API_TOKEN"] == "t"


def _ledger() -> ProcessLedger:
    import logging

    return ProcessLedger(lambda name: "guest", logging.getLogger("test.processes"))


def test_spawn_outside_a_loop_logs_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    _ledger().on_evicted("bob", "alice", 0)  # the gate's listener call must not raise
    assert "not ended" in caplog.text


async def test_a_failing_ending_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def boom() -> None:
        raise RuntimeError("boom")

    ledger = _ledger()
    ledger.spawn(boom())
    await ledger.settled()
    assert "ending a guest's processes failed" in caplog.text
