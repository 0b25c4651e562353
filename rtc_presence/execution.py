"""Verified "who ran what": the kernel websocket connection and its installation.

The ``username`` in a kernel message header is whatever the client wrote
(jupyter_server issue 1533): on a shared server bob can send an
``execute_request`` that says ``alice``. jupyter_server's hook for handling
kernel channel messages per connection is
``ServerApp.kernel_websocket_connection_class``
(jupyter_server/services/kernels/websocket.py builds one per websocket in
``pre_get``, from ``settings["kernel_websocket_connection_class"]``, read at
every connection). :class:`AttributedKernelConnection` subclasses upstream's
``ZMQChannelsWebsocketConnection`` and

- refuses, before the websocket upgrade, a person whose access level is not
  ``run`` (HTTP 403 and a message, as the access-levels contract says for
  kernels: the browser gets no socket at all, so no close code is needed);
- stamps ``header.username`` of every message the client sends to the
  kernel with the verified user name of the websocket, so the kernel, its
  replies and every output's ``parent_header`` carry the truth;
- records every ``execute_request`` (cell id from the message metadata
  ``cellId``, notebook path from the kernel's session), interrupt, restart
  and shutdown, and the reply that ends each execution.

Both wire protocols are handled at the one place they meet: the
connection's jupyter_client ``Session``. Upstream sends a client message with
``session.send(stream, msg)`` for the default JSON protocol and with
``session.send_raw(stream, msg_list)`` (the already packed parts, signed
there) for ``v1.kernel.websocket.jupyter.org``, so :class:`StampingSession`
rewrites the header in both without parsing any message twice. Pinned by
tests/test_execution.py (both protocols, a real kernel).

Interrupts and restarts through the REST API (what JupyterLab's toolbar
uses) are attributed by a mixin on the server's kernel manager, which reads
the verified requester from :data:`rtc_presence.access.REQUESTER`.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Bool, Int, default
from traitlets.config import Configurable

from .access import REQUESTER, user_access, user_role
from .activityapi import ActivityHandler
from .activitylog import ActivityLog, Kind
from .executionlog import EVENTS_SCHEMA, ExecutionLog
from .mixins import adopt

REFUSAL_LOG_INTERVAL = 60.0


class ExecutionTraits(Configurable):
    """The ``c.RTCPresence.*`` settings of execution attribution (a base of RTCPresence)."""

    record_code = Bool(
        False,
        config=True,
        help="""Record the full text of every executed cell in the `execution` event.
        False: only its SHA-256 and first line (enough to tell runs apart without
        keeping what may be secrets in the event log).""",
    )
    activity_log_size = Int(
        1000,
        config=True,
        help="""Entries kept in the activity timeline (joins, leaves, executions,
        revocations, level changes), oldest dropped first.""",
    )
    activity_visible_to_guests = Bool(
        True,
        config=True,
        help="""Whether guests may read the activity timeline (GET activity and the
        activity messages of the presence stream). False: the owner only.""",
    )


class StampingSession(Session):
    """A jupyter_client Session that lets its connection rewrite client messages."""

    connection: AttributedKernelConnection | None = None

    def send(self, stream: Any, msg_or_type: Any, *args: Any, **kwargs: Any) -> Any:
        conn = self.connection
        if conn is not None and isinstance(msg_or_type, dict):
            conn.client_message(getattr(stream, "channel", None), msg_or_type, None)
        return super().send(stream, msg_or_type, *args, **kwargs)

    def send_raw(self, stream: Any, msg_list: list[Any], *args: Any, **kwargs: Any) -> None:
        conn = self.connection
        if conn is not None and msg_list:
            msg: dict[str, Any] = {"header": self.unpack(msg_list[0])}
            conn.client_message(getattr(stream, "channel", None), msg, msg_list)
            msg_list = [self.pack(msg["header"]), *msg_list[1:]]
        super().send_raw(stream, msg_list, *args, **kwargs)


class AttributedKernelConnection(ZMQChannelsWebsocketConnection):
    """A kernel websocket whose messages are attributed to its verified person."""

    execution: ExecutionLog | None = None
    """Set on the class by :func:`install_execution`."""

    _refused_logged: dict[str, float] = {}  # class-wide, on purpose
    username = ""
    role = "guest"
    access = "view"
    path: str | None = None

    @default("session")
    def _default_session(self) -> Session:
        session = StampingSession(config=self.config)
        session.connection = self
        return session

    async def prepare(self) -> None:
        user = self.websocket_handler.current_user
        level = user_access(user)
        if level != "run":
            self._log_refusal(user.username, level)
            raise web.HTTPError(403, f"Your access ({level}) does not include running code.")
        self.username, self.role, self.access = user.username, user_role(user), level
        # Messages the server itself sends on this connection (kernel_info) too.
        self.session.username = user.username
        self.path = await self._session_path()
        if self.execution is not None and self.path:
            self.execution.kernel_paths[self.kernel_id] = self.path
        await super().prepare()  # type: ignore[no-untyped-call]

    def connect(self) -> Any:
        # A kernel answers one execution with several small frames (status,
        # execute_input, reply, status): with Nagle's algorithm each waits
        # for the client's delayed ACK, ~40 ms per cell (docs/execution.md).
        if self.websocket_handler.ws_connection is not None:
            self.websocket_handler.set_nodelay(True)
        return super().connect()

    def _log_refusal(self, username: str, level: str) -> None:
        now = time.monotonic()
        if now - self._refused_logged.get(username, -REFUSAL_LOG_INTERVAL) >= REFUSAL_LOG_INTERVAL:
            self._refused_logged[username] = now
            self.log.warning(
                "rtc-presence: refused kernel websocket of %s (access %s)", username, level
            )

    async def _session_path(self) -> str | None:
        manager = self.websocket_handler.settings.get("session_manager")
        if manager is None:
            return None
        try:
            sessions = await manager.list_sessions()
        except Exception:
            return None
        for model in sessions:
            if (model.get("kernel") or {}).get("id") == self.kernel_id and model.get("path"):
                path = str(model["path"])
                return path[4:] if path.startswith("RTC:") else path
        return None

    # -- from the client to the kernel --------------------------------------

    def client_message(
        self, channel: str | None, msg: dict[str, Any], msg_list: list[Any] | None
    ) -> None:
        """Stamp and record one client message (``msg_list``: the v1 packed parts)."""
        header = msg.get("header")
        if not isinstance(header, dict) or not self.username:
            return
        header["username"] = self.username
        if self.execution is None or channel not in ("shell", "control"):
            return
        msg_type = header.get("msg_type")
        if msg_type not in ("execute_request", "interrupt_request", "shutdown_request"):
            return
        content = self._part(msg, msg_list, "content", 3)
        if msg_type == "execute_request":
            metadata = self._part(msg, msg_list, "metadata", 2)
            code = content.get("code")
            cell_id = metadata.get("cellId")
            self.execution.requested(
                msg_id=str(header.get("msg_id", "")),
                kernel_id=self.kernel_id,
                username=self.username,
                role=self.role,
                access=self.access,
                code=code if isinstance(code, str) else "",
                cell_id=cell_id if isinstance(cell_id, str) else None,
                path=self.path,
            )
        else:
            action: Kind = "interrupt" if msg_type == "interrupt_request" else "shutdown"
            if action == "shutdown" and content.get("restart"):
                action = "restart"
            self.execution.kernel_action(
                action,
                kernel_id=self.kernel_id,
                username=self.username,
                role=self.role,
                access=self.access,
                path=self.path,
                via="websocket",
            )

    def _part(
        self, msg: dict[str, Any], msg_list: list[Any] | None, name: str, index: int
    ) -> dict[str, Any]:
        value = msg.get(name)
        if value is None and msg_list is not None and len(msg_list) > index:
            try:
                value = self.session.unpack(msg_list[index])
            except ValueError:
                value = None
        return value if isinstance(value, dict) else {}

    # -- from the kernel to the client --------------------------------------

    def _on_zmq_reply(self, stream: Any, msg_or_list: Any) -> None:
        try:
            self._observe(getattr(stream, "channel", None), msg_or_list)
        except Exception:  # observability must never break a kernel connection
            self.log.exception("rtc-presence: could not read a kernel message")
        super()._on_zmq_reply(stream, msg_or_list)  # type: ignore[no-untyped-call]

    def _observe(self, channel: str | None, msg_or_list: Any) -> None:
        log = self.execution
        if log is None or channel not in ("shell", "iopub"):
            return
        if channel == "iopub" and not log.pending(self.kernel_id):
            return  # nothing to finish here: outputs pass without being parsed
        if isinstance(msg_or_list, dict):
            msg: dict[str, Any] = msg_or_list
            parts = None
        else:
            msg, parts = {}, list(msg_or_list)
        header = self._part(msg, parts, "header", 0)
        msg_type = header.get("msg_type")
        if channel == "shell" and msg_type == "execute_reply":
            parent = self._part(msg, parts, "parent_header", 1)
            content = self._part(msg, parts, "content", 3)
            metadata = self._part(msg, parts, "metadata", 2)
            count = content.get("execution_count")
            log.finished(
                str(parent.get("msg_id", "")),
                str(content.get("status", "unknown")),
                count if isinstance(count, int) else None,
                started=_timestamp(metadata.get("started")),
            )
        elif channel == "iopub" and msg_type == "status":
            parent = self._part(msg, parts, "parent_header", 1)
            state = self._part(msg, parts, "content", 3).get("execution_state")
            msg_id = str(parent.get("msg_id", ""))
            if state == "busy":
                log.started(msg_id)
            elif state == "idle":
                log.idle(msg_id)


def _timestamp(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


class KernelActionMixin:
    """Attributes REST interrupts, restarts and shutdowns to the verified requester.

    Put in front of the server's kernel manager class (``mixins.adopt``):
    ``KernelActionHandler`` and ``KernelHandler.delete``
    (jupyter_server/services/kernels/handlers.py) call these methods while
    serving the request, in its task, where the gate set :data:`REQUESTER`.
    Calls outside a request (culling, server shutdown) have no requester and
    are not recorded. The upstream method's result is returned as is, sync or
    coroutine.
    """

    rtc_execution: ExecutionLog | None = None
    rtc_person: Any = None  # (username) -> (role, access)

    def _rtc_action(self, action: Kind, kernel_id: str) -> None:
        username = REQUESTER.get()
        log = self.rtc_execution
        if username is None or log is None or self.rtc_person is None:
            return
        role, access = self.rtc_person(username)
        log.kernel_action(
            action,
            kernel_id=kernel_id,
            username=username,
            role=role,
            access=access,
            path=log.kernel_paths.get(kernel_id),
            via="rest",
        )

    def interrupt_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        self._rtc_action("interrupt", kernel_id)
        return super().interrupt_kernel(kernel_id, *args, **kwargs)  # type: ignore[misc]

    def restart_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        self._rtc_action("restart", kernel_id)
        return super().restart_kernel(kernel_id, *args, **kwargs)  # type: ignore[misc]

    def shutdown_kernel(self, kernel_id: str, *args: Any, **kwargs: Any) -> Any:
        self._rtc_action("shutdown", kernel_id)
        return super().shutdown_kernel(kernel_id, *args, **kwargs)  # type: ignore[misc]


def install_execution(serverapp: Any, state: Any, traits: Any) -> ExecutionLog:
    """Attribute kernel traffic on ``serverapp``; idempotent; returns the log.

    ``state``: the extension's RTCState (``presence``, ``gate``, ``identity_of``,
    ``emit``), where the log is kept (``state.executions``, its only home);
    ``traits``: what holds :class:`ExecutionTraits`' values (the RTCPresence
    app). Call it from the extension's ``initialize_settings`` (after
    ``init_webapp``, which copied the trait into tornado settings; the
    handler reads the settings at each connection, the ServerApp trait at
    shutdown, ``close_all``): both are replaced here.
    """
    existing: ExecutionLog | None = state.executions
    if existing is not None:
        return existing
    web_app = serverapp.web_app
    log: logging.Logger = state.log
    serverapp.event_logger.register_event_schema(EVENTS_SCHEMA)
    presence = state.presence
    activity = ActivityLog(traits.activity_log_size, presence.publish, state.identity_of)
    execution = ExecutionLog(activity, state.emit, presence.touch, traits.record_code)
    presence.running_of = execution.running_of
    state.executions = execution

    def on_presence(message: dict[str, Any]) -> None:
        if message.get("type") == "join":
            person = message["person"]
            activity.record("join", person["username"], role=person.get("role"))
        elif message.get("type") == "leave":
            activity.record("leave", message["username"])

    presence.subscribe(on_presence, membership_only=True)
    processes = getattr(state, "processes", None)
    if processes is not None:
        # Kernels have their own entries (executions); a terminal is code
        # running as the owner too, so who opened one is on the timeline.
        processes.on_created.append(
            lambda kind, username: (
                activity.record("terminal", username) if kind == "terminal" else None
            )
        )
    gate = state.gate
    gate.on_evicted(
        lambda username, by, closed: activity.record("revoked", username, by=by, connections=closed)
    )
    if hasattr(gate, "on_access_changed"):
        gate.on_access_changed(
            lambda username, level: activity.record("access_changed", username, access=level)
        )

    configured = web_app.settings.get("kernel_websocket_connection_class")
    if isinstance(configured, type) and issubclass(configured, ZMQChannelsWebsocketConnection):
        if issubclass(configured, AttributedKernelConnection):
            mixed: type[AttributedKernelConnection] = configured
        elif configured is ZMQChannelsWebsocketConnection:
            mixed = AttributedKernelConnection
        else:
            mixed = type(
                "Attributed" + configured.__name__, (AttributedKernelConnection, configured), {}
            )
        mixed.execution = execution
        web_app.settings["kernel_websocket_connection_class"] = mixed
        # An ExtensionApp copies the tornado settings before initialize_settings
        # and writes its copy back after it (ExtensionApp._prepare_settings in
        # jupyter_server/extension/application.py): change the copy too.
        ext_settings = getattr(traits, "settings", None)
        if isinstance(ext_settings, dict):
            ext_settings["kernel_websocket_connection_class"] = mixed
        serverapp.kernel_websocket_connection_class = mixed
    else:
        log.warning(
            "rtc-presence: kernel connections of class %r are not attributed "
            "(a kernel gateway?): who ran what is not recorded",
            configured,
        )

    def person(username: str) -> tuple[str, str]:
        access_of = getattr(gate, "access_of", None)
        return gate.role_of(username), access_of(username) if access_of else "run"

    manager = adopt(serverapp.kernel_manager, KernelActionMixin, "Attributed")
    manager.rtc_execution = execution
    manager.rtc_person = person

    base_url = web_app.settings.get("base_url", "/")
    rule = (
        url_path_join(base_url, "api/rtc-presence/activity"),
        ActivityHandler,
        {"activity": activity},
    )
    web_app.add_handlers(".*$", [rule])
    return execution
