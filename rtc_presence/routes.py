"""Every URL rtc-presence serves under the server's base URL, in one list."""

from __future__ import annotations

from .handlers import InfoHandler, PresenceHandler, PresenceStreamHandler
from .ownerapi import (
    GuestAllowHandler,
    GuestHandler,
    GuestsHandler,
    InviteHandler,
    InvitesHandler,
)
from .startupapi import StartupChangesHandler

_USER = r"(?P<username>[^/]+)"

HANDLERS: list[tuple[str, type]] = [
    (r"/api/rtc-presence/info", InfoHandler),
    (r"/api/rtc-presence/presence", PresenceHandler),
    (r"/api/rtc-presence/presence/stream", PresenceStreamHandler),
    (r"/api/rtc-presence/invites", InvitesHandler),
    (r"/api/rtc-presence/invites/(?P<code_id>[^/]+)", InviteHandler),
    (r"/api/rtc-presence/guests", GuestsHandler),
    (rf"/api/rtc-presence/guests/{_USER}", GuestHandler),
    (rf"/api/rtc-presence/guests/{_USER}/allow", GuestAllowHandler),
    (r"/api/rtc-presence/startup-changes", StartupChangesHandler),
]
