"""What the handlers share: one :class:`RTCState` per server, reached one way.

The extension app (:mod:`rtc_presence.app`) builds the state from its
traitlets and puts it in the tornado settings under :data:`SETTINGS_KEY`;
every handler reaches it through :class:`RTCStateMixin` (``self.rtc``). No
module imports the app: what the state needs from the configuration is the
frozen :class:`Settings` record, read once at start.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_events import EventLogger
from tornado import web

from .access import Access
from .awareness import AwarenessLimits, RoomAwarenessMap
from .awarenessbatch import AwarenessBatches, BatchPolicy
from .gate import Gate
from .guestcode import connect as connect_guest_code
from .liveness import RoomLiveness
from .presence import PresenceRegistry
from .processes import ProcessLedger
from .profiles import make_color, make_initials
from .recovery import Notices, NoticeStreams
from .sharescopes import ShareScopes
from .sharing import HubSharing, HubTarget
from .startupfiles import StartupWatch
from .threadroot import hold_thread_root

if TYPE_CHECKING:  # executionlog imports activitylog, which reads the state
    from .executionlog import ExecutionLog

SETTINGS_KEY = "rtc_presence_state"
"""Where the :class:`RTCState` lives in the tornado application settings."""

EXPIRY_CHECK_SECONDS = 1.0
"""How often time-boxed access is checked: a guest is out within a second of the end."""

EVENTS_SCHEMA = Path(__file__).parent / "events" / "presence.yaml"
EVENTS_SCHEMA_ID = "https://schema.jupyter.org/rtc_presence/presence/v1"


async def run_every(
    interval: float, job: Callable[[], Awaitable[Any]], log: logging.Logger
) -> None:
    """Run ``job`` every ``interval`` seconds until cancelled; log its errors."""
    while True:
        await asyncio.sleep(interval)
        try:
            await job()
        except Exception:
            log.exception("rtc-presence: periodic job failed")


async def run_paced(job: Callable[[], float], log: logging.Logger) -> None:
    """Run ``job`` until cancelled, each time after the seconds it returned."""
    delay = 0.0
    while True:
        await asyncio.sleep(delay)
        try:
            delay = job()
        except Exception:
            log.exception("rtc-presence: periodic job failed")
            delay = 1.0


@dataclasses.dataclass(frozen=True)
class Settings:
    """The extension's configuration as the handlers use it (see the traitlets
    of :class:`rtc_presence.app.RTCPresence` for what each one means)."""

    owner: str | None = None
    invite_lifetime: int = 3600
    invite_lifetime_min: int = 60
    invite_lifetime_max: int = 7 * 24 * 3600
    revalidate_interval: float = 5.0
    ping_interval: float = 1.0
    ping_timeout: float = 2.0
    max_room_connections: int = 100
    max_message_size: int = 100 * 1024 * 1024
    awareness_rate_limit: float = 60.0
    awareness_bytes_rate: float = 1024.0 * 1024
    max_client_ids: int = 4
    max_awareness_entries: int = 2000
    max_awareness_state_bytes: int = 64 * 1024
    client_id_reserve: float = 60.0
    awareness_batch_min_clients: int = 30
    awareness_batch_interval: float = 0.05
    awareness_renewal_hold: float = 1.0
    activity_window: float = 60.0
    hub_request_timeout: float = 10.0
    max_save_wait: float | None = 5.0
    crash_recovery: bool = True
    unscoped_access: Access = "run"
    kernel_hub_token: bool = False
    startup_check_interval: float = 10.0
    activity_visible_to_guests: bool = True

    @classmethod
    def from_traits(cls, source: Any) -> Settings:
        """Read every field from the same-named attribute of ``source`` (the app)."""
        names = [f.name for f in dataclasses.fields(cls)]
        return cls(**{name: getattr(source, name) for name in names if hasattr(source, name)})

    def awareness_batching(self) -> BatchPolicy:
        return BatchPolicy(
            min_clients=self.awareness_batch_min_clients,
            interval=self.awareness_batch_interval,
            renewal_hold=self.awareness_renewal_hold,
        )

    def awareness_limits(self) -> AwarenessLimits:
        return AwarenessLimits(
            max_client_ids=self.max_client_ids,
            max_entries=self.max_awareness_entries,
            max_state_bytes=self.max_awareness_state_bytes,
            reserve_seconds=self.client_id_reserve,
        )


class RTCState:
    """Everything the handlers share, created once per server."""

    def __init__(
        self,
        settings: Settings,
        log: logging.Logger,
        events: EventLogger | None,
        hub_auth: Any | None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.events = events
        self.hub_auth = hub_auth
        self.gate = Gate(
            settings.owner,
            log,
            hub_auth,
            server_name=os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
            unscoped_access=settings.unscoped_access,
        )
        self.presence = PresenceRegistry(settings.activity_window)
        self.notices = Notices(lambda user: self.gate.role_of(user.username) == "owner")
        self.streams: set[web.RequestHandler] = NoticeStreams(self.notices)
        self.sharing: HubSharing | None = None
        self.share_scopes: ShareScopes | None = None
        if hub_auth is not None and settings.owner:
            target = HubTarget(
                hub_auth.api_url, settings.owner, os.environ.get("JUPYTERHUB_SERVER_NAME", "")
            )
            self.sharing = HubSharing(target, settings.hub_request_timeout)
            # Guests' levels are on their shares, not in their tokens (JupyterHub 6).
            self.share_scopes = scopes = ShareScopes(self.sharing, hub_auth.api_token)
            self.gate.on_evicted(lambda username, by, closed: scopes.invalidate())
        self.room_awareness = RoomAwarenessMap(settings.awareness_limits()).get
        self.awareness_batch = AwarenessBatches(settings.awareness_batching()).get
        self.liveness = RoomLiveness(
            settings.ping_interval + settings.ping_timeout,
            min(0.5, settings.ping_timeout or 0.5),
        )
        self.executions: ExecutionLog | None = None
        """Who ran code in which kernel (set by :func:`~.execution.install_execution`)."""
        self.room_connections: collections.Counter[str] = collections.Counter()
        """Open room connections per person (max_room_connections)."""
        self._periodic: list[asyncio.Task[None]] = []
        self._stop_jobs: list[Callable[[], Awaitable[Any]]] = []
        self.gate.on_evicted(self._on_evicted)
        # A revoked person tried to come back: the owner's dialog refreshes.
        self.gate.attempts.on_attempt(lambda _username: self.notify_access())
        self.gate.on_request = self.presence.record_request
        self.processes = ProcessLedger(
            self.gate.role_of, log, keep_hub_token=settings.kernel_hub_token
        )
        self.startup = StartupWatch(log)
        connect_guest_code(self.gate, self.processes, self.startup)

    def start(self) -> None:
        """Start the periodic jobs (idempotent: also called on first connection,
        for servers embedded without jupyter_server's start hooks)."""
        if self._periodic:
            return
        cfg = self.settings
        if self.hub_auth is not None and cfg.revalidate_interval > 0:
            self.every(cfg.revalidate_interval, self.gate.revalidate)
        if cfg.ping_interval > 0:
            liveness = self.liveness

            async def sweep() -> None:
                liveness.sweep()

            self._periodic.append(asyncio.ensure_future(run_paced(liveness.ping_due, self.log)))
            self.every(liveness.interval, sweep)

        async def expire() -> None:
            self.gate.expire_due()

        self.every(EXPIRY_CHECK_SECONDS, expire)
        self._periodic.append(asyncio.ensure_future(hold_thread_root()))
        if cfg.startup_check_interval > 0:
            self.every(cfg.startup_check_interval, self.startup.check)

    def every(self, interval: float, job: Callable[[], Awaitable[Any]]) -> None:
        """Run ``job`` every ``interval`` seconds until the server stops."""
        self._periodic.append(asyncio.ensure_future(run_every(interval, job, self.log)))

    def on_stop(self, job: Callable[[], Awaitable[Any]]) -> None:
        self._stop_jobs.append(job)

    async def stop(self) -> None:
        # Guests are told the server is stopping (4403), not left to retry.
        await self.gate.shutdown()
        for job in self._stop_jobs:
            try:
                await job()
            except Exception:
                self.log.exception("rtc-presence: a stop job failed")
        for task in self._periodic:
            task.cancel()

    def caller_token(self, handler: web.RequestHandler) -> str | None:
        if self.hub_auth is None:
            return None
        token: str | None = self.hub_auth.get_token(handler)
        return token

    def owner_identity(self) -> dict[str, Any]:
        owner = self.settings.owner
        if owner is None:
            return {}
        return self.identity_of(owner)

    def identity_of(self, username: str) -> dict[str, Any]:
        known = self.presence.identity_of(username) or self.gate.identities.get(username)
        if known is not None:
            return dict(known)
        return {
            "username": username,
            "name": username,
            "display_name": username,
            "initials": make_initials(None, username),
            "avatar_url": None,
            "color": make_color(username),
            "role": self.gate.role_of(username),
            "access": self.gate.access_of(username),
        }

    def notify_access(self) -> None:
        for stream in list(self.streams):
            stream._send({"type": "access"})  # type: ignore[attr-defined]

    def emit_room_event(self, action: str, username: str, room: str, path: str | None) -> None:
        data: dict[str, Any] = {
            "action": action,
            "username": username,
            "role": self.gate.role_of(username),
            "room": room,
        }
        if path:
            data["path"] = path
        self.emit(EVENTS_SCHEMA_ID, data)

    def emit(self, schema_id: str, data: dict[str, Any]) -> None:
        # Observability must never break a connection.
        if self.events is None:
            return
        try:
            self.events.emit(schema_id=schema_id, data=data)
        except Exception:
            self.log.exception("rtc-presence: could not emit %s event", data.get("action"))

    def emit_level(self, username: str, access: Access, *, by: str, closed: int) -> None:
        self.emit(
            EVENTS_SCHEMA_ID,
            {
                "action": "access_changed",
                "username": username,
                "role": "guest",
                "access": access,
                "by": by,
                "connections": closed,
            },
        )

    def _on_evicted(self, username: str, by: str, closed: int) -> None:
        self.emit(
            EVENTS_SCHEMA_ID,
            {
                "action": "evicted",
                "username": username,
                "role": "guest",
                "by": by,
                "connections": closed,
            },
        )
        self.notify_access()


class RTCStateMixin:
    """Gives a tornado handler its typed ``self.rtc``."""

    settings: dict[str, Any]

    @property
    def rtc(self) -> RTCState:
        state: RTCState = self.settings[SETTINGS_KEY]
        return state


def state_of(settings: dict[str, Any]) -> RTCState | None:
    """The state in tornado ``settings``, if the extension is loaded."""
    state = settings.get(SETTINGS_KEY)
    return state if isinstance(state, RTCState) else None
