"""Who started which kernel and terminal, and ending a revoked guest's processes.

Code a guest with run access starts runs as the owner's unix user: nothing in
the operating system says it is theirs. So the server records, from the
verified user name of each request (:data:`~.access.REQUESTER`), who started
every kernel and terminal, and puts a marker in the environment of those a
guest starts (``RTC_PRESENCE_STARTED_BY`` and a random ``RTC_PRESENCE_SESSION``)
that everything they start inherits. Revoking the guest shuts down their
kernels and terminals through the server's managers, then ends every process
of our uid carrying one of their markers (:mod:`.proctable`).

The hub token of the server (``JUPYTERHUB_API_TOKEN``, ``JPY_API_TOKEN``) is
removed from every kernel's and terminal's environment, the owner's too,
unless ``c.RTCPresence.kernel_hub_token`` is True: a notebook that calls the
hub API with it stops working, and a guest who could read it would act with
the server's own credentials.

The hooks are mixins put in front of the live managers' classes (like the
identity provider's, :func:`~.mixins.adopt`): jupyter_server creates the
kernel manager from ``ServerApp.kernel_manager_class`` before extensions load
and jupyter_server_terminals creates its terminal manager itself, so swapping
their classes in place keeps every other behaviour and setting. Pinned by
``tests/test_processes_server.py`` and ``tests/test_processes_hub.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .access import REQUESTER
from .mixins import adopt
from .proctable import ENV_SESSION, ENV_STARTED_BY, KillReport, end_sessions, tree_of

HUB_TOKEN_VARS = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")
"""The server's hub token, as JupyterHub's spawner passes it (``Spawner.get_env``)."""

Kind = Literal["kernel", "terminal"]


@dataclass
class Mark:
    """Who started one kernel or terminal, and the marker its processes carry."""

    kind: Kind
    started_by: str | None
    """The verified user name of the request that started it (None: the server itself)."""
    session: str | None
    """The random id in its environment; None for the owner's (they are not ended)."""
    started_at: float = field(default_factory=time.time)
    restarts: list[tuple[str | None, float]] = field(default_factory=list)


class ProcessLedger:
    """The record of who started what, and the environment policy of new processes."""

    def __init__(
        self,
        role_of: Callable[[str], str],
        log: logging.Logger,
        *,
        keep_hub_token: bool = False,
        grace: float = 1.0,
    ) -> None:
        self.role_of = role_of
        self.log = log
        self.keep_hub_token = keep_hub_token
        self.grace = grace
        self.kernels: dict[str, Mark] = {}
        """Kernel id -> mark, for every kernel started since the server started."""
        self.kernel_manager: Any = None
        self.terminal_manager: Any = None
        self._sessions: dict[str, set[str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.last_report: dict[str, dict[str, Any]] = {}
        """User name -> what the last :meth:`end_processes_of` did (for logs and tests)."""
        self.on_start: Callable[[str], None] | None = None
        """Called with the user name of each guest who starts a kernel or terminal."""
        self.on_created: list[Callable[[Kind, str], None]] = []
        """Called with the kind and the verified user name of every kernel or
        terminal started, the owner's too (the activity timeline)."""

    # -- starting ---------------------------------------------------------

    def prepare_env(self, env: Mapping[str, str], kind: Kind) -> tuple[dict[str, str], Mark]:
        """The environment a new kernel or terminal gets, and its mark.

        Read in the request that starts it: :data:`REQUESTER` names the person.
        """
        requester = REQUESTER.get()
        out = dict(env)
        if not self.keep_hub_token:
            for name in HUB_TOKEN_VARS:
                out.pop(name, None)
        # Inherited markers are never trusted: the server could itself have been
        # started from a marked process.
        out.pop(ENV_STARTED_BY, None)
        out.pop(ENV_SESSION, None)
        session = None
        if requester is not None:
            for listener in self.on_created:
                listener(kind, requester)
        if requester is not None and self.role_of(requester) != "owner":
            session = secrets.token_hex(16)
            self._sessions.setdefault(requester, set()).add(session)
            out[ENV_STARTED_BY] = requester
            out[ENV_SESSION] = session
            if self.on_start is not None:
                self.on_start(requester)
        return out, Mark(kind, requester, session)

    def scrub(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` without the hub token (unless kept): for later environment updates."""
        if self.keep_hub_token:
            return dict(env)
        return {k: v for k, v in env.items() if k not in HUB_TOKEN_VARS}

    def kernel_started(self, kernel_id: str, mark: Mark) -> None:
        km = self.kernel_manager
        if km is not None:  # forget kernels that are gone (the record stays bounded)
            for gone in [kid for kid in self.kernels if kid not in km]:
                del self.kernels[gone]
        self.kernels[kernel_id] = mark
        if mark.session is not None:
            self.log.info("rtc-presence: %s started kernel %s", mark.started_by, kernel_id)

    def kernel_restarted(self, kernel_id: str) -> None:
        mark = self.kernels.get(kernel_id)
        if mark is not None:
            mark.restarts.append((REQUESTER.get(), time.time()))

    # -- who started what -------------------------------------------------

    def kernels_started_by(self, username: str) -> list[str]:
        """Ids of the running kernels ``username`` started."""
        km = self.kernel_manager
        return [
            kid
            for kid, mark in self.kernels.items()
            if mark.started_by == username and (km is None or kid in km)
        ]

    def terminals_started_by(self, username: str) -> list[str]:
        """Names of the running terminals ``username`` started."""
        tm = self.terminal_manager
        if tm is None:
            return []
        return [
            name
            for name, term in list(tm.terminals.items())
            if getattr(getattr(term, "rtc_mark", None), "started_by", None) == username
        ]

    def sessions_of(self, username: str) -> frozenset[str]:
        """Every marker id given to ``username``'s kernels and terminals on this server."""
        return frozenset(self._sessions.get(username, ()))

    # -- ending -----------------------------------------------------------

    def on_evicted(self, username: str, by: str, closed: int) -> None:
        """:meth:`Gate.on_evicted` listener: end what the person started, now."""
        self.spawn(self.end_processes_of(username))

    def spawn(self, job: Coroutine[Any, Any, Any]) -> None:
        """Run ``job`` in the background; its errors are logged, never raised to the gate."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            job.close()
            self.log.error("rtc-presence: no event loop: a guest's processes were not ended")
            return
        task = loop.create_task(self._logged(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _logged(self, job: Coroutine[Any, Any, Any]) -> None:
        try:
            await job
        except Exception:
            self.log.exception("rtc-presence: ending a guest's processes failed")

    async def settled(self) -> None:
        """Wait until every ending started so far is done (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def end_processes_of(self, username: str) -> dict[str, Any]:
        """Shut down ``username``'s kernels and terminals and end every marked process.

        The managers first (so no restarter brings a kernel back), the marked
        processes at the same time: SIGTERM, SIGKILL after ``grace`` seconds.
        """
        t0 = time.monotonic()
        kernels = self.kernels_started_by(username)
        terminals = self.terminals_started_by(username)
        for kid in kernels:
            # A kernel whose process dies is restarted by its restarter unless stopped.
            self.kernel_manager.get_kernel(kid).stop_restarter()
        jobs: list[Coroutine[Any, Any, Any]] = [
            self.kernel_manager.shutdown_kernel(kid, now=True) for kid in kernels
        ]
        jobs += [self.terminal_manager.terminate(name, force=True) for name in terminals]
        ending = asyncio.ensure_future(end_sessions(self.sessions_of(username), grace=self.grace))
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, Exception):
                self.log.warning(
                    "rtc-presence: ending %s's kernel or terminal: %r", username, outcome
                )
        killed: KillReport = await ending
        report = {
            "kernels": kernels,
            "terminals": terminals,
            "terminated": killed.terminated,
            "killed": killed.killed,
            "survivors": killed.survivors,
            "seconds": round(time.monotonic() - t0, 3),
        }
        self.last_report[username] = report
        if kernels or terminals or killed.terminated:
            log = self.log.error if killed.survivors else self.log.warning
            log(
                "rtc-presence: ended what %s started: %d kernel(s), %d terminal(s), "
                "%d process(es) (%d killed after %.1f s, %d survived) in %.2f s",
                username,
                len(kernels),
                len(terminals),
                len(killed.terminated),
                len(killed.killed),
                self.grace,
                len(killed.survivors),
                report["seconds"],
            )
        return report

    async def restart_kernels(self, kernel_ids: Iterable[str]) -> dict[str, str]:
        """Restart shared kernels (a revoked guest ran code in them): id -> outcome.

        A restart kills the kernel's process group (jupyter_client's
        LocalProvisioner); what its code started in another group of the same
        session, or below it, is ended here too. A process that left the
        session (``setsid``) and its parent is out of reach: docs/security.md.
        """
        km = self.kernel_manager
        outcomes: dict[str, str] = {}
        leftovers: dict[int, int] = {}
        for kid in dict.fromkeys(kernel_ids):
            if km is None or kid not in km:
                outcomes[kid] = "not found"
                continue
            pid = getattr(km.get_kernel(kid).provisioner, "pid", None)
            if isinstance(pid, int):
                leftovers.update(await asyncio.to_thread(tree_of, pid))
            try:
                await km.restart_kernel(kid, now=True)
            except Exception as exc:
                self.log.warning("rtc-presence: could not restart kernel %s: %s", kid, exc)
                outcomes[kid] = f"failed: {exc}"
            else:
                outcomes[kid] = "restarted"
        if leftovers:
            await end_sessions((), also=leftovers, grace=self.grace)
        return outcomes


class TrackedKernels:
    """Mixin in front of the server's kernel manager (``MappingKernelManager``)."""

    rtc_ledger: ProcessLedger | None = None

    async def start_kernel(
        self, *, kernel_id: str | None = None, path: str | None = None, **kwargs: Any
    ) -> str:
        ledger = self.rtc_ledger
        if ledger is None or (kernel_id is not None and kernel_id in self):  # type: ignore[operator]
            return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)  # type: ignore[misc,no-any-return]
        # Without "env", jupyter_client's launcher copies os.environ (launcher.py);
        # the sessions API passes os.environ plus JPY_SESSION_NAME.
        env, mark = ledger.prepare_env(kwargs.get("env") or os.environ, "kernel")
        kwargs["env"] = env
        started: str = await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)  # type: ignore[misc]
        ledger.kernel_started(started, mark)
        return started

    async def restart_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        # A restart relaunches with the environment the kernel was started with
        # (KernelManager._launch_args): its marker and scrubbed token stay.
        if self.rtc_ledger is not None:
            self.rtc_ledger.kernel_restarted(kernel_id)
        return await super().restart_kernel(kernel_id, *args, **kwargs)  # type: ignore[misc]

    def update_env(self, *, kernel_id: str, env: dict[str, str]) -> None:
        # The sessions API calls this with all of os.environ when a session is
        # renamed (SessionManager.update_session): the token must not come back
        # with the next restart.
        if self.rtc_ledger is not None:
            env = self.rtc_ledger.scrub(env)
        super().update_env(kernel_id=kernel_id, env=env)  # type: ignore[misc]


class TrackedTerminals:
    """Mixin in front of jupyter_server_terminals' ``TerminalManager`` (terminado)."""

    rtc_ledger: ProcessLedger | None = None
    _rtc_mark: Mark | None = None

    def make_term_env(self, *args: Any, **kwargs: Any) -> dict[str, str]:
        # Every new terminal's environment is built here (terminado's
        # TermManagerBase.new_terminal), after the request's own "extra_env":
        # the policy has the last word.
        env: dict[str, str] = super().make_term_env(*args, **kwargs)  # type: ignore[misc]
        if self.rtc_ledger is None:
            return env
        env, self._rtc_mark = self.rtc_ledger.prepare_env(env, "terminal")
        return env

    def new_terminal(self, **kwargs: Any) -> Any:
        # Both ways to create a terminal (POST /api/terminals, and terminado's
        # get_terminal for a socket naming an unknown terminal) come through here.
        self._rtc_mark = None
        term = super().new_terminal(**kwargs)  # type: ignore[misc]
        term.rtc_mark, self._rtc_mark = self._rtc_mark, None
        return term


def install(kernel_manager: Any, terminal_manager: Any, ledger: ProcessLedger) -> None:
    """Put the mixins in front of the live managers (idempotent; either may be None)."""
    if kernel_manager is not None:
        adopt(kernel_manager, TrackedKernels, "RTC")
        kernel_manager.rtc_ledger = ledger
        ledger.kernel_manager = kernel_manager
    if terminal_manager is not None:
        adopt(terminal_manager, TrackedTerminals, "RTC")
        terminal_manager.rtc_ledger = ledger
        ledger.terminal_manager = terminal_manager
