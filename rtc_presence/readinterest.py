"""Room websockets keep their read interest registered between two frames.

Tornado's ``IOStream`` drops its read interest whenever a read completes with
bytes left in its buffer and no read pending (``BaseIOStream._handle_events``
keeps READ only if ``reading()`` or the buffer is empty), and registers it
again when the next read finds the buffer short (``_try_inline_read`` ->
``_add_io_state``). A websocket frame usually arrives whole, so its 2-byte
header read leaves the payload in the buffer: every frame a client sends costs
an ``epoll_ctl`` DEL and ADD, and a new asyncio ``Handle``. A room connection
always reads its next frame, so :func:`keep_read_interest` makes ``reading()``
also true while the buffer holds less than :data:`MAX_UNREAD` bytes; past
that, tornado's own behaviour (and TCP's backpressure) is back.

``_read_future`` and ``_read_buffer_size`` are tornado 6 internals, read only;
``tests/test_fanout.py`` pins them and the two places that call ``reading()``.
"""

from __future__ import annotations

from tornado.iostream import IOStream

#: Unread bytes up to which the read interest stays (a frame is 1 MiB at most).
MAX_UNREAD = 1 << 20


def keep_read_interest(stream: object) -> bool:
    """Make a plain tornado ``IOStream`` keep its read interest (module docstring);
    False for any other stream (SSL streams have handshake states of their own)."""
    if type(stream) is not IOStream:
        return False
    target = stream

    def reading() -> bool:
        return target._read_future is not None or target._read_buffer_size < MAX_UNREAD

    target.reading = reading  # type: ignore[method-assign]
    return True
