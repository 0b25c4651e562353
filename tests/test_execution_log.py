"""The execution record's rules, without a server (rtc_presence/executionlog.py)."""

from __future__ import annotations

from typing import Any

from rtc_presence import executionlog
from rtc_presence.activitylog import ActivityLog, parse_since
from rtc_presence.executionlog import ExecutionLog, first_line
from rtc_presence.testing.waiting import until


def _log(record_code: bool = False) -> tuple[ExecutionLog, list[Any], list[str], list[Any]]:
    published: list[Any] = []
    emitted: list[Any] = []
    touched: list[str] = []
    activity = ActivityLog(
        10, published.append, lambda u: {"display_name": u.title(), "initials": u[0].upper()}
    )
    log = ExecutionLog(
        activity, lambda sid, data: emitted.append(data), touched.append, record_code
    )
    return log, emitted, touched, published


def _run(log: ExecutionLog, msg_id: str, user: str = "bob", kernel: str = "k1") -> None:
    log.requested(
        msg_id=msg_id,
        kernel_id=kernel,
        username=user,
        role="guest",
        access="run",
        code="print(1)",
        cell_id="c",
        path="a.ipynb",
    )


def test_first_line() -> None:
    assert first_line("\n  \n  x = 1  \ny") == "  x = 1"
    assert first_line("") == ""
    assert len(first_line("a" * 1000)) == 200


def test_running_started_finished_and_events() -> None:
    log, emitted, touched, published = _log()
    _run(log, "m1")
    running = log.running_of("bob")
    assert running is not None and running["cell_id"] == "c" and running["path"] == "a.ipynb"
    assert log.pending("k1") and not log.pending("k2")
    log.started("m1")
    log.finished("m1", "ok", 3)
    assert log.running_of("bob") is None and not log.pending("k1")
    assert [e["status"] for e in emitted] == ["ok"]
    assert emitted[0]["execution_count"] == 3 and "code" not in emitted[0]
    # One timeline entry, sent three times (requested, started, finished), same id.
    ids = {m["event"]["id"] for m in published}
    assert len(ids) == 1
    assert [m["event"]["status"] for m in published] == ["running", "running", "ok"]
    assert touched == ["bob", "bob", "bob"]
    # A reply nobody is waiting for changes nothing.
    log.finished("m1", "error")
    assert len(emitted) == 1


def test_record_code_and_restart_aborts_pending() -> None:
    log, emitted, _, _ = _log(record_code=True)
    _run(log, "m1")
    _run(log, "m2", user="alice")
    log.kernel_action(
        "restart",
        kernel_id="k1",
        username="carol",
        role="guest",
        access="run",
        path="a.ipynb",
        via="rest",
    )
    executes = [e for e in emitted if e["action"] == "execute"]
    assert sorted((e["username"], e["status"]) for e in executes) == [
        ("alice", "aborted"),
        ("bob", "aborted"),
    ]
    assert all(e["code"] == "print(1)" for e in executes)
    assert log.people_of("k1") == {"bob": 1, "alice": 1, "carol": 0}
    assert log.kernels_run_by("carol") == ["k1"]


def test_pending_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(executionlog, "MAX_PENDING", 3)
    log, emitted, _, _ = _log()
    for i in range(5):
        _run(log, f"m{i}")
    assert [e["msg_id"] for e in emitted] == ["m0", "m1"]
    assert {e["status"] for e in emitted} == {"unknown"}


async def test_idle_without_reply_ends_as_unknown(monkeypatch: Any) -> None:
    monkeypatch.setattr(executionlog, "REPLY_GRACE", 0.05)
    log, emitted, _, _ = _log()
    _run(log, "m1")
    log.idle("m1")
    await until(lambda: emitted, 2, "the unknown end")
    assert emitted[0]["status"] == "unknown"
    # A reply in time wins over idle.
    _run(log, "m2")
    log.idle("m2")
    log.finished("m2", "ok")
    assert [e["status"] for e in emitted] == ["unknown", "ok"]


def test_activity_ring_and_since() -> None:
    published: list[Any] = []
    activity = ActivityLog(2, published.append, lambda u: {})
    for name in ("a", "b", "c"):
        activity.record("join", name)
    entries = activity.since()
    assert [e["username"] for e in entries] == ["b", "c"]  # bounded, oldest dropped
    assert activity.since(path="x.ipynb") == []
    assert parse_since(None) is None
    assert parse_since("2026-12-02T14:03:00Z") == parse_since("2026-12-02T14:03:00+00:00")
