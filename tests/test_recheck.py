"""HubRecheck: fresh hub answers for refused tokens, coalesced (unit tests, a fake hub)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rtc_presence.recheck import HubRecheck


class FakeHubAuth:
    """Answers ``user_for_token`` from ``self.answer``, counting the calls and their times."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] | None = None
        self.asked_at: list[float] = []

    async def user_for_token(self, token: str, use_cache: bool, sync: bool) -> Any:
        assert use_cache is False and sync is False
        self.asked_at.append(asyncio.get_running_loop().time())
        await asyncio.sleep(0.01)
        return self.answer


async def test_concurrent_requests_share_one_call() -> None:
    hub = FakeHubAuth()
    recheck = HubRecheck(hub, logging.getLogger("test"), interval=0.3)
    answers = await asyncio.gather(*(recheck.fresh_model("t") for _ in range(20)))
    assert answers == [None] * 20
    # the first request's call, and one more for those that arrived after it started
    assert len(hub.asked_at) <= 2


async def test_a_later_request_waits_for_a_newer_answer_never_an_older_one() -> None:
    hub = FakeHubAuth()
    recheck = HubRecheck(hub, logging.getLogger("test"), interval=0.3)
    loop = asyncio.get_running_loop()
    assert await recheck.fresh_model("t") is None  # the old tab: no access
    hub.answer = {"name": "bob", "scopes": ["access:servers!server=alice/"]}  # a link accepted
    arrived = loop.time()
    model = await recheck.fresh_model("t")
    assert model == hub.answer  # not the cached "no access" of the call before
    assert hub.asked_at[-1] >= arrived
    # bounded: at most one call per interval per token and slot (calls are scheduled
    # 0.3 s apart; a loaded machine may start the first one late, hence the slack)
    assert hub.asked_at[1] - hub.asked_at[0] >= 0.3 - 0.1
    # a tab polling every 30 ms for 0.9 s: at most one call per 0.3 s
    polls = []
    t0 = loop.time()
    for _ in range(30):
        polls.append(asyncio.ensure_future(recheck.fresh_model("t")))
        await asyncio.sleep(0.03)
    await asyncio.gather(*polls)
    calls = len(hub.asked_at) - 2
    assert calls <= (loop.time() - t0) / 0.3 + 1, hub.asked_at
    assert calls < 30 / 2, hub.asked_at


async def test_page_loads_have_their_own_slot() -> None:
    hub = FakeHubAuth()
    recheck = HubRecheck(hub, logging.getLogger("test"), interval=5.0)
    loop = asyncio.get_running_loop()
    await recheck.fresh_model("t")  # the old tab's poll took the background slot
    t0 = loop.time()
    await recheck.fresh_model("t", page=True)  # the person opening a link is not delayed
    assert loop.time() - t0 < 1.0
    assert len(hub.asked_at) == 2
    # a different token is independent too
    await recheck.fresh_model("other")
    assert len(hub.asked_at) == 3
