"""rtc_presence.testing.waiting: the one wait-with-deadline helper (sync and async)."""

from __future__ import annotations

import time

import pytest

from rtc_presence.testing.waiting import until, wait_until


def test_wait_until_returns_the_first_accepted_value() -> None:
    values = iter([0, None, "", 7, 8])
    assert wait_until(lambda: next(values), 5, "a truthy value", interval=0) == 7


def test_wait_until_says_what_and_the_last_value_on_timeout() -> None:
    calls = []

    def cond() -> int:
        calls.append(1)
        return len(calls)

    started = time.monotonic()
    with pytest.raises(AssertionError) as failure:
        wait_until(cond, 0.2, "the counter above 10**6", accept=lambda n: n > 10**6, interval=0.05)
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 2
    message = str(failure.value)
    assert "the counter above 10**6" in message
    assert "0.2 s" in message
    assert f"last seen: {len(calls)}" in message
    assert len(calls) >= 2  # polled, and checked again at the deadline


def test_wait_until_ignores_only_the_listed_exceptions() -> None:
    attempts = iter([ConnectionError("refused"), ConnectionError("refused"), "up"])

    def cond() -> str:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    assert wait_until(cond, 5, "the service", interval=0, ignore=(ConnectionError,)) == "up"
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, 5, "never", ignore=(ConnectionError,))

    def down() -> str:
        raise ConnectionError("down")

    with pytest.raises(AssertionError, match=r"last seen: ConnectionError\('down'\)"):
        wait_until(down, 0.1, "the service", ignore=(OSError,))


async def test_until_awaits_coroutine_conditions_and_plain_ones() -> None:
    state = {"n": 0}

    async def bump() -> int:
        state["n"] += 1
        return state["n"]

    assert await until(bump, 5, "n reaches 3", accept=lambda n: n >= 3, interval=0) == 3
    assert await until(lambda: state["n"], 5, "n is set") == 3
    with pytest.raises(AssertionError, match=r"waiting for n above 100; last seen: \d+"):
        await until(bump, 0.1, "n above 100", accept=lambda n: n > 100, interval=0.01)
