"""Wait for a condition with a deadline: the one polling helper of the test kit.

A test waits for what it needs, never for a fixed time::

    model = await until(lambda: alice.server_model(), 60, "alice's server ready",
                        accept=lambda m: bool(m and m.get("ready")))
    wait_until(lambda: not pid_alive(pid), 5, f"process {pid} gone")

``cond`` is polled every ``interval`` seconds until its value is accepted (truthy,
or ``accept(value)``), and that value is returned. Past the deadline an
:class:`AssertionError` says what was awaited, for how long, and the last value
seen (or the last exception, for the exception types listed in ``ignore``).
The condition is always checked once more at the deadline, so a slow machine
that oversleeps does not fail a condition that holds.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

__all__ = ["until", "wait_until"]

T = TypeVar("T")

_NOTHING = object()


def _failure(what: str, timeout: float, last: object) -> AssertionError:
    seen = "nothing (never checked)" if last is _NOTHING else repr(last)
    if len(seen) > 500:
        seen = seen[:500] + "..."
    return AssertionError(f"timed out after {timeout} s waiting for {what}; last seen: {seen}")


def _accepted(value: T, accept: Callable[[T], bool] | None) -> bool:
    return accept(value) if accept is not None else bool(value)


def wait_until(
    cond: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    accept: Callable[[T], bool] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Poll ``cond()`` (blocking) until its value is accepted; return that value."""
    deadline = time.monotonic() + timeout
    last: object = _NOTHING
    while True:
        past = time.monotonic() >= deadline
        try:
            value = cond()
        except ignore as e:
            last = e
        else:
            if _accepted(value, accept):
                return value
            last = value
        if past:
            raise _failure(what, timeout, last)
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


# Two signatures: a coroutine function's value is what its coroutine returns (mypy
# cannot infer T from ``Callable[[], T | Awaitable[T]]``).
@overload
async def until(
    cond: Callable[[], Awaitable[T]],
    timeout: float,
    what: str,
    *,
    interval: float = ...,
    accept: Callable[[T], bool] | None = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...


@overload
async def until(
    cond: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = ...,
    accept: Callable[[T], bool] | None = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...


async def until(
    cond: Callable[[], Any],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    accept: Callable[[Any], bool] | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """Poll ``cond()`` (a function or a coroutine function) until its value is accepted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: object = _NOTHING
    while True:
        past = loop.time() >= deadline
        try:
            result = cond()
            value = await result if inspect.isawaitable(result) else result
        except ignore as e:
            last = e
        else:
            if _accepted(value, accept):
                return value
            last = value
        if past:
            raise _failure(what, timeout, last)
        await asyncio.sleep(min(interval, max(0.0, deadline - loop.time())))
