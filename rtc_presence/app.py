"""The rtc-presence jupyter_server extension: configuration and wiring."""

from __future__ import annotations

import os
from typing import Any

from jupyter_events import EventLogger
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from traitlets import Bool, CaselessStrEnum, Enum, Float, Int, Unicode, default

from .access import LEVELS
from .authorizer import adopt_authorizer
from .execution import ExecutionTraits, install_execution
from .gcfreeze import freeze_long_lived
from .guestcode import install_managers
from .identity import adopt_identity_provider
from .listenbacklog import widen_listen_backlog
from .recovery import EVENTS_SCHEMA as RECOVERY_SCHEMA
from .recovery import EVENTS_SCHEMA_ID as RECOVERY_SCHEMA_ID
from .refusals import quiet_refused_requests
from .routes import HANDLERS
from .state import EVENTS_SCHEMA, SETTINGS_KEY, RTCState, Settings
from .stopping import stop_gracefully_on_sigint
from .ystorejournal import SETTINGS as YSTORE_JOURNALS


class RTCPresence(ExecutionTraits, ExtensionApp):
    """Verified presence, invite-link sharing and instant eviction."""

    name = "rtc_presence"
    app_name = "rtc-presence"
    description = __doc__

    owner = Unicode(
        None,
        allow_none=True,
        config=True,
        help="""User name of this server's owner. Everyone else is a guest.
        Defaults to $JUPYTERHUB_USER under JupyterHub; outside a hub (None)
        everyone who can authenticate is treated as the owner.""",
    )

    @default("owner")
    def _default_owner(self) -> str | None:
        return os.environ.get("JUPYTERHUB_USER") or None

    invite_lifetime = Int(
        3600, config=True, help="Default lifetime of a new invite link, in seconds (1 hour)."
    )
    invite_lifetime_min = Int(
        60, config=True, help="Shortest invite link lifetime an owner may ask for, in seconds."
    )
    invite_lifetime_max = Int(
        7 * 24 * 3600,
        config=True,
        help="Longest invite link lifetime an owner may ask for, in seconds (1 week).",
    )
    revalidate_interval = Float(
        5.0,
        config=True,
        help="""Seconds between re-checks of connected guests with the hub, which catch
        revocations made outside this server (hub API, admin panel). 0 disables.""",
    )
    ping_interval = Float(
        1.0,
        config=True,
        help="""Seconds between websocket pings on collaboration rooms. With ping_timeout,
        a client that stops answering is dropped (and vanishes for others) within
        ping_interval + ping_timeout seconds. 0 disables pings.""",
    )
    ping_timeout = Float(
        2.0, config=True, help="Seconds to wait for a pong before dropping a room connection."
    )
    max_room_connections = Int(
        100,
        config=True,
        help="""Collaboration room connections one person may hold at once (a browser
        tab holds one per open document plus one). More are closed at once with code
        4413. With max_client_ids and max_awareness_state_bytes this also bounds the
        awareness memory one person can use. 0 disables.""",
    )
    max_message_size = Int(
        100 * 1024 * 1024,
        config=True,
        help="""Largest websocket frame accepted on a collaboration room, in bytes.
        Larger frames close that connection with code 1009 (stock: 1 GiB).""",
    )
    awareness_rate_limit = Float(
        60.0,
        config=True,
        help="""Awareness updates per second one connection may send (bursts of twice
        that). Only messages that change somebody's state count: the echoes
        every stock browser tab sends back are bounded by awareness_bytes_rate.
        Beyond it the connection is closed with code 4429. 0 disables.""",
    )
    awareness_bytes_rate = Float(
        1024 * 1024,
        config=True,
        help="""Bytes of awareness messages per second one connection may send,
        echoes included (bursts of twice that). Beyond it the connection is closed
        with code 4429. 0 disables.""",
    )
    max_client_ids = Int(
        4,
        config=True,
        help="""Awareness client ids one room connection may own (a browser tab uses
        one). Announcing more closes the connection with code 4413.""",
    )
    max_awareness_entries = Int(
        2000,
        config=True,
        help="""Entries in one awareness message (a tab that joins echoes the whole
        room back once). More closes the connection with code 4413.""",
    )
    max_awareness_state_bytes = Int(
        64 * 1024,
        config=True,
        help="""Bytes of one client's awareness state (JSON text). A larger state
        closes the connection with code 4413.""",
    )
    client_id_reserve = Float(
        60.0,
        config=True,
        help="""Seconds a released awareness client id stays reserved for the person
        who owned it (nobody else may take it over meanwhile).""",
    )
    awareness_batch_min_clients = Int(
        30,
        config=True,
        help="""Rooms with at least this many connections coalesce awareness: a change
        goes out at once when the room sent none in the last awareness_batch_interval,
        otherwise with the next frame; a keep-alive renewal (same state, new clock)
        waits up to awareness_renewal_hold for a change to ride along with. Smaller
        rooms send every awareness message at once. 0 never coalesces.""",
    )
    awareness_batch_interval = Float(
        0.05,
        config=True,
        help="""Seconds between two awareness frames of a room that coalesces
        (see awareness_batch_min_clients): the most a cursor move waits.""",
    )
    awareness_renewal_hold = Float(
        1.0,
        config=True,
        help="""Seconds a keep-alive awareness renewal may wait in a room that
        coalesces (browsers drop a state not renewed for 30 s).""",
    )
    listen_backlog = Int(
        1024,
        config=True,
        help="""Connections the kernel queues for the server while it is busy
        accepting others (tornado binds with 128; Linux caps it at
        net.core.somaxconn). A class opening the link at once overflows 128 and
        waits a one-second SYN retry. 0 keeps tornado's.""",
    )
    freeze_startup_objects = Bool(
        True,
        config=True,
        help="""Move the objects the server holds once started out of Python's
        full garbage collections (gc.freeze()): each such pass otherwise visits
        ~200,000 long-lived objects and stalls every room for 0.1 s or more while a
        class joins.""",
    )
    activity_window = Float(
        60.0, config=True, help="Seconds over which a person's recent edits are counted."
    )
    hub_request_timeout = Float(
        10.0, config=True, help="Timeout of the calls to the hub's sharing API, in seconds."
    )
    max_save_wait = Float(
        5.0,
        allow_none=True,
        config=True,
        help="""Longest time, in seconds, a document's changes wait to be written to its
        file while people keep typing (jupyter-collaboration's document_save_delay
        alone waits for a pause that may never come). 0 or None disables.""",
    )
    ystore_journal = CaselessStrEnum(
        list(YSTORE_JOURNALS),
        default_value="auto",
        config=True,
        help="""SQLite journal of the rooms' YStore (jupyter-collaboration's
        SQLiteYStore). "auto": a write-ahead log (WAL, synchronous=NORMAL) when the
        database is on a local filesystem, SQLite's default rollback journal on a
        network one (NFS, CIFS, FUSE...), where WAL is unsafe. "wal": always.
        "keep": as upstream opens it. A WAL commit survives a server crash; a power
        loss may lose the last ones (the database stays consistent).""",
    )
    crash_recovery = Bool(
        True,
        config=True,
        help="""When a room starts on a YStore holding edits its file lacks (a crash):
        restore them if the file is the one the server last wrote, otherwise keep
        the file and write the YStore's version to name.recovered-<UTC time>.ext
        next to it and tell the owner. False: the file always wins (upstream).""",
    )

    unscoped_access = Enum(
        list(LEVELS),
        default_value="run",
        config=True,
        help="""Access level of a guest whose hub share carries no rtc-presence level
        (a share made with the hub's API or admin page rather than this server's
        sharing dialog): "view", "edit" or "run". "run" matches JupyterHub's own
        sharing, which gives full access.""",
    )

    kernel_hub_token = Bool(
        False,
        config=True,
        help="""Give kernels and terminals the server's hub token ($JUPYTERHUB_API_TOKEN,
        $JPY_API_TOKEN), as stock JupyterHub does. False (default): it is removed
        from every kernel's and terminal's environment, the owner's too, so code a
        guest runs cannot act with the server's credentials; notebooks that call the
        hub API with that token stop working.""",
    )
    startup_check_interval = Float(
        10.0,
        config=True,
        help="""Seconds between checks of the startup files (~/.jupyter, IPython startup,
        shell rc files, etc/jupyter, sitecustomize, .pth files) once a guest with run
        access came; changes are listed by GET /api/rtc-presence/startup-changes.
        0 checks only when a guest leaves and when the owner asks.""",
    )

    state: RTCState

    @property
    def server(self) -> ServerApp:
        assert self.serverapp is not None, "rtc-presence runs inside a Jupyter server"
        return self.serverapp

    def initialize(self, argv: Any = None) -> None:
        super().initialize()  # type: ignore[no-untyped-call]
        self.events().register_event_schema(EVENTS_SCHEMA)
        self.events().register_event_schema(RECOVERY_SCHEMA)

    def events(self) -> EventLogger:
        logger = self.server.event_logger
        assert logger is not None
        return logger

    def initialize_settings(self) -> None:
        identity_provider = adopt_identity_provider(self.server.identity_provider)
        adopt_authorizer(self.server.authorizer)
        hub_auth = getattr(identity_provider, "hub_auth", None)
        self.state = RTCState(Settings.from_traits(self), self.log, self.events(), hub_auth)
        quiet_refused_requests(self.settings, identity_provider.log)
        # Global settings: the identity provider and the room handler read them.
        self.server.web_app.settings[SETTINGS_KEY] = self.state
        # Extensions load in alphabetical order: jupyter_server_terminals' manager exists.
        install_managers(self.server, self.state.processes)
        self.state.executions = install_execution(self.server, self.state, self)
        self._rooms_installed = self._install_rooms()

    def initialize_handlers(self) -> None:
        self.handlers.extend(HANDLERS)

    def _install_rooms(self) -> bool:
        try:
            from .rooms import install_room_handler  # needs jupyter-collaboration
        except ImportError:
            return False
        installed = install_room_handler(self.server.web_app)
        if installed:
            from .durable import Keeper, attach_keeper

            ydoc = self.server.web_app.settings.get("jupyter_server_ydoc")
            server = getattr(ydoc, "ywebsocket_server", None)
            if server is not None:
                keeper = Keeper(
                    crash_recovery=self.crash_recovery,
                    max_save_wait=self.max_save_wait,
                    ystore_journal=self.ystore_journal,
                    contents_manager=self.server.contents_manager,
                    log=self.log,
                    emit=lambda data: self.state.emit(RECOVERY_SCHEMA_ID, data),
                    notices=self.state.notices,
                )
                attach_keeper(server, keeper)
        return installed

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if not self._rooms_installed:
            # jupyter_server_ydoc may add its routes after us: try again now
            # that every extension is loaded, and warn once if it is absent.
            self._rooms_installed = self._install_rooms()
        if not self._rooms_installed:
            self.log.warning(
                "rtc-presence: jupyter-collaboration is missing or disabled: awareness "
                "enforcement, presence and instant removal of room connections are off; "
                "identities, the sharing API and eviction of other connections still work."
            )
        # Again, idempotent: a terminal manager made by an extension loaded after us.
        install_managers(serverapp, self.state.processes)
        widen_listen_backlog(getattr(serverapp, "http_server", None), self.listen_backlog, self.log)
        self.state.start()
        if self.freeze_startup_objects:
            freeze_long_lived(self.log)
        if self.state.hub_auth is not None:
            stop_gracefully_on_sigint(serverapp, self.log)

    async def stop_extension(self) -> None:
        await self.state.stop()


__all__ = ["RTCPresence"]
