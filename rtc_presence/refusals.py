"""Refused requests: how a refused person is answered, counted and logged.

A revoked guest's old tab may poll the server several times a second, and
a person who comes back through an invite link opens a page. So:

* :func:`answer` makes the error answer of one refused request fit what was
  asked: the access-ended page (:mod:`.pages`) for a browser opening a page,
  JSON ``{"message"}`` from API handlers, one line of text for anything else
  (static files, images);
* :class:`Attempts` counts the *page loads* of revoked people (a link, a
  reload), not the background requests of an old tab, and tells listeners
  (the owner's dialog) at most once per person per ``notice_interval``;
* :class:`RefusalLog` logs one line per person per minute, and
  :func:`quiet_refused_requests` mutes upstream's per-request lines for
  refused requests (the access log line, JupyterHub's "Not allowing user").
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.websocket import WebSocketHandler

from .pages import AccessPage

#: Set on a handler whose request was refused (read by the access log wrapper).
REFUSED = "_rtc_refused"


def wants_page(handler: web.RequestHandler) -> bool:
    """Whether this request is a browser opening a page (not an API call or an asset)."""
    if isinstance(handler, APIHandler | WebSocketHandler):
        return False
    request = handler.request
    if request.method not in ("GET", "HEAD"):
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode:
        return mode == "navigate"
    return "text/html" in request.headers.get("Accept", "")


def answer_json(handler: web.RequestHandler, message: str) -> None:
    """Make the 403 answer of this request JSON ``{"message"}``, whatever its handler.

    For refusals of a change (POST, PUT...) by a guest whose level does not
    allow it: every such request is an API call, also those served by
    handlers that would answer an HTML error page (``api/shutdown``).
    """
    _answer_403(handler, lambda: _finish_json(handler, message))


def answer(handler: web.RequestHandler, page: AccessPage) -> None:
    """Make the 403 answer of this request ``page`` (HTML, JSON or text)."""

    def write() -> None:
        if isinstance(handler, APIHandler):
            _finish_json(handler, page.message)
        elif wants_page(handler):
            handler.set_header("Content-Type", "text/html; charset=UTF-8")
            handler.set_header("Cache-Control", "no-store")
            handler.finish(page.render())
        else:
            handler.set_header("Content-Type", "text/plain; charset=UTF-8")
            handler.finish(page.message + "\n")

    _answer_403(handler, write)


def _finish_json(handler: web.RequestHandler, message: str) -> None:
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps({"message": message, "reason": "Forbidden"}))


def _answer_403(handler: web.RequestHandler, write: Callable[[], None]) -> None:
    """``write`` answers this request's 403; its traceback is not logged."""
    setattr(handler, REFUSED, True)
    upstream_write_error = handler.write_error
    upstream_log_exception = handler.log_exception

    def write_error(status_code: int, **kwargs: Any) -> None:
        if status_code != 403:
            upstream_write_error(status_code, **kwargs)
            return
        write()

    def log_exception(typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, web.HTTPError) and value.status_code == 403:
            return  # RefusalLog has said it, once per person per minute
        upstream_log_exception(typ, value, tb)

    # Instance attributes for this one request, whatever the handler's class:
    # JupyterHub's identity provider does the same with ``handler.redirect``
    # for people it refuses (jupyterhub/singleuser/extension.py, get_user).
    # Pinned by tests/test_access_ended.py and tests/test_hub_sharing.py.
    handler.write_error = write_error  # type: ignore[method-assign]
    handler.log_exception = log_exception  # type: ignore[method-assign]


@dataclass
class _Tally:
    count: int = 0
    last_at: float | None = None
    noticed: float = -math.inf
    pending: asyncio.TimerHandle | None = None


AttemptListener = Callable[[str], None]


class Attempts:
    """Page loads of revoked people since their revocation."""

    def __init__(self, notice_interval: float = 2.0) -> None:
        self.notice_interval = notice_interval
        self._tallies: dict[str, _Tally] = {}
        self._listeners: list[AttemptListener] = []

    def on_attempt(self, listener: AttemptListener) -> None:
        self._listeners.append(listener)

    def reset(self, username: str) -> None:
        """Start counting again (a new revocation)."""
        self.forget(username)
        self._tallies[username] = _Tally()

    def forget(self, username: str) -> None:
        tally = self._tallies.pop(username, None)
        if tally is not None and tally.pending is not None:
            tally.pending.cancel()

    def of(self, username: str) -> tuple[int, float | None]:
        """(attempts, time of the last one) of ``username``."""
        tally = self._tallies.get(username)
        return (0, None) if tally is None else (tally.count, tally.last_at)

    def record(self, username: str) -> None:
        tally = self._tallies.setdefault(username, _Tally())
        tally.count += 1
        tally.last_at = time.time()
        wait = tally.noticed + self.notice_interval - time.monotonic()
        if wait <= 0:
            self._notice(username, tally)
        elif tally.pending is None:
            # One trailing notice, so the owner sees the last attempt too.
            loop = asyncio.get_running_loop()
            tally.pending = loop.call_later(wait, self._notice, username, tally)

    def _notice(self, username: str, tally: _Tally) -> None:
        tally.pending = None
        tally.noticed = time.monotonic()
        for listener in list(self._listeners):
            listener(username)


class RefusalLog:
    """One log line per refused person per ``interval`` seconds."""

    def __init__(self, log: logging.Logger, interval: float = 60.0) -> None:
        self.log = log
        self.interval = interval
        self._last: dict[str, float] = {}
        self._muted: dict[str, int] = {}

    def refused(self, username: str, why: str, handler: web.RequestHandler) -> None:
        now = time.monotonic()
        if now - self._last.get(username, -math.inf) < self.interval:
            self._muted[username] = self._muted.get(username, 0) + 1
            return
        if len(self._last) > 10_000:  # bounded: people refused within a minute
            self._last = {k: v for k, v in self._last.items() if now - v < self.interval}
        self._last[username] = now
        muted = self._muted.pop(username, 0)
        self.log.warning(
            "rtc-presence: refused %s on %s %s: %s%s",
            username,
            handler.request.method,
            handler.request.path,
            why,
            f" ({muted} more refused request(s) of theirs in the last minute not logged)"
            if muted
            else "",
        )


class _MuteNotAllowing(logging.Filter):
    """Drops JupyterHub's per-request "Not allowing user <name>" warning.

    It comes from ``JupyterHubIdentityProvider.get_user``
    (jupyterhub/singleuser/extension.py) on every request of a person the
    hub gives no access; :class:`RefusalLog` says the same once a minute.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith("Not allowing user "))


def quiet_refused_requests(settings: dict[str, Any], provider_log: Any) -> None:
    """Mute upstream's per-request log lines of refused requests (idempotent).

    ``settings``: the tornado settings to change (an ExtensionApp's
    ``settings`` in ``initialize_settings``, which jupyter_server copies into
    the web app's afterwards, ``ExtensionApp._prepare_settings``).
    """
    original = settings.get("log_function")
    if original is not None and not getattr(original, "rtc_quiet", False):

        def log_function(handler: web.RequestHandler) -> None:
            if getattr(handler, REFUSED, False) and handler.get_status() == 403:
                return
            original(handler)

        log_function.rtc_quiet = True  # type: ignore[attr-defined]
        settings["log_function"] = log_function
    if isinstance(provider_log, logging.Logger) and not any(
        isinstance(f, _MuteNotAllowing) for f in provider_log.filters
    ):
        provider_log.addFilter(_MuteNotAllowing())
