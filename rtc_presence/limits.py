"""Rate limits and log throttles shared by the websocket handlers."""

from __future__ import annotations

import logging
import time


class TokenBucket:
    """Allows ``rate`` units per second on average, ``burst`` at once.

    A rate of 0 (or less) disables the limit.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._last = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        """Spend ``amount`` units; False (and nothing spent) when they are not there."""
        if self.rate <= 0:
            return True
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True


class ThrottledLog:
    """One log line per ``interval`` seconds at most, counting what was held back.

    Used per connection for things a hostile client can repeat at will
    (forged awareness entries), so that the log says what happened without
    one line per message.
    """

    __slots__ = ("_held", "_next", "interval")

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._next = 0.0
        self._held = 0

    def log(
        self,
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger],
        count: int,
        msg: str,
        *args: object,
    ) -> bool:
        """Log ``msg`` at WARNING if the interval passed; return whether it was logged.

        ``count`` events happened now; the events held back since the last
        line are added to the message as "(+N more since the last report)".
        """
        now = time.monotonic()
        if now < self._next:
            self._held += count
            return False
        self._next = now + self.interval
        held, self._held = self._held, 0
        if held:
            logger.warning(msg + " (+%d more since the last report)", *args, held)
        else:
            logger.warning(msg, *args)
        return True
