"""ShareScopes: a guest's level is never guessed from a listing older than their arrival.

The hub is played by a stand-in for ``HubSharing.list_shares`` that answers from a
table the test changes, and can hold an answer back to make calls overlap. The
real hub is in ``tests/test_hub_levels.py`` and ``tests/test_hub_classroom.py``.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from rtc_presence.access import Access, level_from_scopes, scope
from rtc_presence.sharescopes import ShareScopes
from rtc_presence.sharing import HubSharing, HubTarget, SharingError

TARGET = HubTarget("http://hub.invalid/hub/api", "alice")
SERVER = TARGET.server


class FakeHub(HubSharing):
    def __init__(self) -> None:
        super().__init__(TARGET)
        self.shares: dict[str, Access] = {}
        self.down = False
        self.hold: asyncio.Event | None = None
        self.calls = 0

    def share(self, name: str, level: Access) -> None:
        self.shares[name] = level

    async def list_shares(self, token: str) -> list[dict[str, Any]]:
        self.calls += 1
        snapshot = dict(self.shares)  # what the hub's database held when asked
        if self.hold is not None:
            await self.hold.wait()
        if self.down:
            raise SharingError(503, "hub down")
        return [
            {
                "user": {"name": name},
                "scopes": [TARGET.filtered("access:servers"), TARGET.filtered(scope(level))],
            }
            for name, level in snapshot.items()
        ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def level(scopes: list[str] | None) -> str | None:
    return None if scopes is None else level_from_scopes(scopes, SERVER, "run")


async def test_a_guest_who_accepts_after_the_listing_is_read_again_at_once() -> None:
    hub, clock = FakeHub(), Clock()
    levels = ShareScopes(hub, "t", clock=clock)
    hub.share("student1", "view")
    assert level(await levels.of("student1")) == "view"
    clock.now += 0.2  # well inside min_interval and max_age
    hub.share("student2", "view")
    assert level(await levels.of("student2")) == "view"  # not "run" (no share known)
    assert hub.calls == 2
    clock.now += 0.2
    assert level(await levels.of("student1")) == "view"
    assert hub.calls == 2  # a name it holds: the listing serves


async def test_a_call_in_flight_from_before_a_guest_arrived_is_not_trusted_for_them() -> None:
    hub, clock = FakeHub(), Clock()
    levels = ShareScopes(hub, "t", clock=clock)
    hub.share("student1", "view")
    hub.hold = asyncio.Event()
    first = asyncio.create_task(levels.of("student1"))
    for _ in range(100):  # let the first call reach the hub (bounded)
        if hub.calls:
            break
        await asyncio.sleep(0)
    assert hub.calls == 1
    # student2 accepts and arrives while the listing asked before him is in flight
    clock.now += 0.1
    hub.share("student2", "view")
    second = asyncio.create_task(levels.of("student2"))
    await asyncio.sleep(0)
    hub.hold.set()
    assert level(await first) == "view"
    assert level(await second) == "view"
    assert hub.calls == 2


async def test_a_class_arriving_together_shares_calls_and_gets_its_level() -> None:
    hub, clock = FakeHub(), Clock()
    levels = ShareScopes(hub, "t", clock=clock)
    names = [f"student{i}" for i in range(40)]
    for name in names:
        hub.share(name, "view")
    got = await asyncio.gather(*(levels.of(n) for n in names))
    assert {level(g) for g in got} == {"view"}
    assert hub.calls == 1


async def test_people_without_a_share_are_asked_for_once_per_max_age() -> None:
    hub, clock = FakeHub(), Clock()
    levels = ShareScopes(hub, "t", clock=clock)
    assert await levels.of("alice") == []  # by a role: the caller's unscoped level
    clock.now += 0.5
    assert await levels.of("alice") == []
    assert hub.calls == 1
    clock.now += levels.max_age
    assert await levels.of("alice") == []
    assert hub.calls == 2


async def test_a_new_guest_while_the_hub_fails_gets_view_never_unscoped() -> None:
    hub, clock = FakeHub(), Clock()
    levels = ShareScopes(hub, "t", clock=clock)
    hub.share("bob", "run")
    assert level(await levels.of("bob")) == "run"
    clock.now += levels.max_age
    hub.down = True
    hub.share("carol", "edit")
    assert await levels.of("carol") is None
    assert level(await levels.of("bob")) == "run"  # the last answer stands for bob
    calls = hub.calls
    assert await levels.of("carol") is None  # not asked again before min_interval
    assert hub.calls == calls
    user = SimpleNamespace(username="carol", hub_user={"name": "carol", "scopes": []})
    await levels.complete(user)
    assert level_from_scopes(user.hub_user["scopes"], SERVER, "run") == "view"
    hub.down = False
    clock.now += levels.min_interval
    assert level(await levels.of("carol")) == "edit"
