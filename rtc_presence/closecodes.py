"""Every websocket close code rtc-presence sends, in one table.

Mirrored in TypeScript by ``labextension/src/closecodes.ts``;
``tests/test_closecodes.py`` checks that both tables agree.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Close codes of rtc-presence's websockets (rooms, presence stream, kernels...)."""

    PING_TIMEOUT = 1001
    """The peer stopped answering pings (a dead or frozen client): reconnect."""
    TOO_BIG = 1009
    """A frame over ``max_message_size`` (sent by tornado itself)."""
    MALFORMED = 4400
    """A frame that is not a valid Yjs/awareness message: a client bug, do not retry as is."""
    REVOKED = 4403
    """The person's access ended (revoked, expired, server stopping): never reconnect."""
    ACCESS_CHANGED = 4409
    """The person's access level changed (view/edit/run): reconnect, the server
    applies the new level to the new connection."""
    OVER_LIMIT = 4413
    """Over a per-connection or per-person bound (client ids, state size, connections)."""
    FLOOD = 4429
    """Too many awareness messages or bytes per second: reconnect after a pause."""


FATAL = frozenset({CloseCode.REVOKED})
"""Codes after which a client must not reconnect on its own."""


REASON_REVOKED = "access revoked"
"""With 4403: the owner (or the hub) revoked this person."""
REASON_STOPPING = "server stopping"
"""With 4403: the owner's server is stopping; everybody's access ends with it."""
REASON_EXPIRED = "access expired"
"""With 4403: the person's time-boxed access ended."""
REASON_ACCESS_CHANGED = "access changed"
"""With 4409: the person's access level changed."""

REASONS = {
    "REVOKED": REASON_REVOKED,
    "STOPPING": REASON_STOPPING,
    "EXPIRED": REASON_EXPIRED,
    "ACCESS_CHANGED": REASON_ACCESS_CHANGED,
}
"""Mirrored by ``CloseReason`` in closecodes.ts."""
