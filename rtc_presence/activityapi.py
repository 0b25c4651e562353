"""``GET /api/rtc-presence/activity``: the recent timeline, over REST.

Its records are :class:`~rtc_presence.activitylog.ActivityLog`'s; the same
entries travel live on the presence stream.
"""

from __future__ import annotations

import time

from tornado import web

from .activitylog import ActivityLog, parse_since, sees_activity
from .handlers import RTCAPIHandler
from .presence import iso


class ActivityHandler(RTCAPIHandler):
    """``GET /api/rtc-presence/activity?since=<iso>&path=<p>``: the recent timeline."""

    def initialize(self, activity: ActivityLog) -> None:
        self.activity = activity

    @web.authenticated
    def get(self) -> None:
        if not sees_activity(self.settings, self.current_user):
            raise web.HTTPError(403, "The owner does not share the activity timeline with guests.")
        since = parse_since(self.get_argument("since", None))
        path = self.get_argument("path", None) or None
        self.send({"events": self.activity.since(since, path), "now": iso(time.time())})
