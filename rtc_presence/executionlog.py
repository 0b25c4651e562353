"""Who ran what: the server's record of code execution and kernel actions.

Fed by the kernel websocket connections (:mod:`rtc_presence.execution`)
with the *verified* person of each connection, never with the ``username``
a client wrote in its message. No tornado and no zmq in here: the rules and
the bookkeeping only.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .activitylog import ActivityLog, Kind
from .presence import iso

EVENTS_SCHEMA = Path(__file__).parent / "events" / "execution.yaml"
EVENTS_SCHEMA_ID = "https://schema.jupyter.org/rtc_presence/execution/v1"

MAX_PENDING = 10_000
"""Executions awaiting their reply that are remembered (a client flooding its
kernel with requests cannot grow the server's memory without bound)."""

FIRST_LINE_CHARS = 200

REPLY_GRACE = 2.0
"""Seconds an execution whose kernel went idle waits for its ``execute_reply``
(which travels on another socket, to the connection that sent the request, and
never comes if that connection closed) before it ends as ``unknown``."""


def first_line(code: str) -> str:
    """The first non-blank line of ``code``, cut at 200 characters."""
    for line in code.splitlines():
        if line.strip():
            return line.rstrip()[:FIRST_LINE_CHARS]
    return ""


@dataclass(eq=False)
class Execution:
    """One ``execute_request`` as the server saw it."""

    msg_id: str
    kernel_id: str
    username: str
    role: str
    access: str
    path: str | None
    cell_id: str | None
    code_sha256: str
    code_first_line: str
    code: str | None
    requested: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    status: str = "running"
    execution_count: int | None = None
    entry: dict[str, Any] | None = None

    def event(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": "execute",
            "username": self.username,
            "role": self.role,
            "access": self.access,
            "kernel_id": self.kernel_id,
            "msg_id": self.msg_id,
            "code_sha256": self.code_sha256,
            "code_first_line": self.code_first_line,
            "requested": iso(self.requested),
            "status": self.status,
        }
        optional = {
            "path": self.path,
            "cell_id": self.cell_id,
            "code": self.code,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "execution_count": self.execution_count,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data


Emit = Callable[[str, dict[str, Any]], None]


class ExecutionLog:
    """Executions and kernel actions per kernel and per person."""

    def __init__(
        self,
        activity: ActivityLog,
        emit: Emit,
        touch: Callable[[str], None],
        record_code: bool = False,
    ) -> None:
        self.activity = activity
        self.record_code = record_code
        self._emit = emit
        self._touch = touch
        self._pending: OrderedDict[str, Execution] = OrderedDict()
        self._pending_per_kernel: Counter[str] = Counter()
        #: kernel id -> notebook path of its session (kept by the connections)
        self.kernel_paths: dict[str, str] = {}
        # kernel id -> user name -> executions sent (what kernels_run_by reads)
        self._runs: defaultdict[str, dict[str, int]] = defaultdict(dict)

    # -- reading -------------------------------------------------------------

    def kernels_run_by(self, username: str) -> list[str]:
        """Ids of the kernels ``username`` ran code in (or interrupted, restarted)."""
        return [kid for kid, people in self._runs.items() if username in people]

    def people_of(self, kernel_id: str) -> dict[str, int]:
        """Who ran code in ``kernel_id``: user name -> executions sent."""
        return dict(self._runs.get(kernel_id, {}))

    def running_of(self, username: str) -> dict[str, Any] | None:
        """What ``username`` has running now (their newest unfinished execution)."""
        mine = [e for e in self._pending.values() if e.username == username]
        if not mine:
            return None
        # The one the kernel is executing, else the newest queued.
        current = next((e for e in mine if e.started is not None), mine[-1])
        return {
            "path": current.path,
            "cell_id": current.cell_id,
            "kernel_id": current.kernel_id,
            "since": iso(current.started or current.requested),
        }

    def pending(self, kernel_id: str) -> bool:
        """Whether ``kernel_id`` has executions awaiting their end (cheap: per message)."""
        return self._pending_per_kernel[kernel_id] > 0

    # -- feeding -------------------------------------------------------------

    def requested(
        self,
        *,
        msg_id: str,
        kernel_id: str,
        username: str,
        role: str,
        access: str,
        code: str,
        cell_id: str | None,
        path: str | None,
    ) -> Execution:
        """An ``execute_request`` of ``username`` was forwarded to the kernel."""
        run = Execution(
            msg_id=msg_id,
            kernel_id=kernel_id,
            username=username,
            role=role,
            access=access,
            path=path,
            cell_id=cell_id,
            code_sha256=hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest(),
            code_first_line=first_line(code),
            code=code if self.record_code else None,
        )
        self._count(kernel_id, username)
        if msg_id in self._pending:  # a client reusing a msg_id: the old one is unknown
            self._end(self._pop(msg_id), "unknown", None)
        self._pending[msg_id] = run
        self._pending_per_kernel[kernel_id] += 1
        while len(self._pending) > MAX_PENDING:
            self._end(self._pop(next(iter(self._pending))), "unknown", None)
        run.entry = self.activity.record("execute", username, **self._fields(run))
        self._touch(username)
        return run

    def started(self, msg_id: str, when: float | None = None) -> None:
        """The kernel began executing ``msg_id`` (iopub ``status: busy``)."""
        run = self._pending.get(msg_id)
        if run is None or run.started is not None:
            return
        run.started = when or time.time()
        if run.entry is not None:
            self.activity.update(run.entry, **self._fields(run))
        self._touch(run.username)

    def finished(
        self,
        msg_id: str,
        status: str,
        execution_count: int | None = None,
        started: float | None = None,
    ) -> None:
        """``msg_id`` ended (its ``execute_reply``, or iopub ``status: idle``)."""
        run = self._pop(msg_id)
        if run is None:
            return
        if started is not None and run.started is None:
            run.started = started
        self._end(run, status, execution_count)

    def idle(self, msg_id: str) -> None:
        """The kernel finished handling ``msg_id`` (iopub ``status: idle``)."""
        if msg_id not in self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.finished(msg_id, "unknown")
            return
        loop.call_later(REPLY_GRACE, self.finished, msg_id, "unknown")

    def kernel_action(
        self,
        action: Kind,
        *,
        kernel_id: str,
        username: str,
        role: str,
        access: str,
        path: str | None,
        via: str,
    ) -> None:
        """``username`` interrupted, restarted or shut down ``kernel_id``."""
        self._count(kernel_id, username, runs=0)
        data: dict[str, Any] = {
            "action": action,
            "username": username,
            "role": role,
            "access": access,
            "kernel_id": kernel_id,
            "via": via,
        }
        if path:
            data["path"] = path
        self._emit(EVENTS_SCHEMA_ID, data)
        self.activity.record(
            action, username, kernel_id=kernel_id, path=path, role=role, access=access, via=via
        )
        if action in ("restart", "shutdown"):
            # The kernel forgets its queue: nothing pending there will reply.
            for run in [e for e in self._pending.values() if e.kernel_id == kernel_id]:
                self._end(self._pop(run.msg_id), "aborted", None)

    def _pop(self, msg_id: str) -> Execution | None:
        run = self._pending.pop(msg_id, None)
        if run is not None:
            self._pending_per_kernel[run.kernel_id] -= 1
            if self._pending_per_kernel[run.kernel_id] <= 0:
                del self._pending_per_kernel[run.kernel_id]
        return run

    def _count(self, kernel_id: str, username: str, runs: int = 1) -> None:
        people = self._runs[kernel_id]
        people[username] = people.get(username, 0) + runs

    def _end(self, run: Execution | None, status: str, execution_count: int | None) -> None:
        if run is None:
            return
        run.finished = time.time()
        run.status = status
        run.execution_count = execution_count
        self._emit(EVENTS_SCHEMA_ID, run.event())
        if run.entry is not None:
            self.activity.update(run.entry, **self._fields(run))
        self._touch(run.username)

    @staticmethod
    def _fields(run: Execution) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "kernel_id": run.kernel_id,
            "msg_id": run.msg_id,
            "path": run.path,
            "cell_id": run.cell_id,
            "role": run.role,
            "access": run.access,
            "code_first_line": run.code_first_line,
            "code_sha256": run.code_sha256,
            "status": run.status,
            "started": iso(run.started),
            "finished": iso(run.finished),
            "execution_count": run.execution_count,
        }
        return fields
