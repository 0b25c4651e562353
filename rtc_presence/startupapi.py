"""``GET /api/rtc-presence/startup-changes``: changed startup files, for the owner.

See :mod:`.startupfiles` for what is watched and when. The owner only (403 for
everyone else: the list says which guest had access when a file changed).
"""

from __future__ import annotations

from tornado import web

from .handlers import RTCAPIHandler


class StartupChangesHandler(RTCAPIHandler):
    """The startup files that changed since the first guest with run access came."""

    @web.authenticated
    async def get(self) -> None:
        if self.role() != "owner":
            raise web.HTTPError(403, "Only the owner of this server can see changed startup files.")
        watch = self.rtc.startup
        await watch.check()  # what changed since the last periodic check, too
        self.send(watch.model())


HANDLERS: list[tuple[str, type]] = [
    (r"/api/rtc-presence/startup-changes", StartupChangesHandler),
]
