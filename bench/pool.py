"""The coordinator's side of the worker protocol: a pool of client worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from .worker import worker_main


class WorkerError(RuntimeError):
    pass


class Pool:
    """``size`` spawned worker processes, each behind a pipe of ``(command, args)``."""

    def __init__(self, size: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for _ in range(size):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child,), daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)
        for i in range(size):
            self.expect(i, {"ready"}, 60)

    @property
    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.procs]

    def send(self, i: int, cmd: str, **args: Any) -> None:
        self.conns[i].send((cmd, args))

    def expect(self, i: int, kinds: set[str], timeout: float) -> tuple[Any, ...]:
        """Next message of one of ``kinds`` from worker ``i`` (others are dropped)."""
        deadline = time.monotonic() + timeout
        conn = self.conns[i]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                raise TimeoutError(f"worker {i}: no {sorted(kinds)} within {timeout} s")
            msg = conn.recv()
            if msg[0] == "error":
                raise WorkerError(f"worker {i} failed in {msg[1]}:\n{msg[2]}")
            if msg[0] in kinds:
                return tuple(msg)

    def expect_many(
        self, workers: list[int], kinds: set[str], timeout: float
    ) -> dict[int, tuple[Any, ...] | None]:
        """One message per worker; None for the workers that timed out."""
        deadline = time.monotonic() + timeout
        out: dict[int, tuple[Any, ...] | None] = {}
        pending = {self.conns[i]: i for i in workers}
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for conn in wait(list(pending), remaining):
                assert isinstance(conn, Connection)
                i = pending[conn]
                msg = conn.recv()
                if msg[0] == "error":
                    raise WorkerError(f"worker {i} failed in {msg[1]}:\n{msg[2]}")
                if msg[0] in kinds:
                    out[i] = tuple(msg)
                    del pending[conn]
        for i in pending.values():
            out[i] = None
        return out

    def broadcast(
        self, workers: list[int], cmd: str, reply: str, timeout: float, **args: Any
    ) -> list[tuple[Any, ...]]:
        """Send one command to ``workers`` and wait for every reply (TimeoutError if not)."""
        for w in workers:
            self.send(w, cmd, **args)
        got = self.expect_many(workers, {reply}, timeout)
        late = [w for w, msg in got.items() if msg is None]
        if late:
            raise TimeoutError(f"workers {late}: no {reply!r} within {timeout} s")
        return [msg for msg in got.values() if msg is not None]

    def stop(self) -> None:
        for i, conn in enumerate(self.conns):
            with contextlib.suppress(OSError):
                self.send(i, "stop")
            conn.close()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
