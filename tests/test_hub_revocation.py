"""rtc_presence.hub's revoking hooks: shares and invite codes end with the server.

The hooks wrap the admin's own; the revocation runs on a real JupyterHub ORM database;
the integration test runs a real hub.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config

import rtc_presence.hub as hubmod
from rtc_presence.hub import configure, revoke_server_access
from rtc_presence.testing.hubclient import DemoHub, HubBrowser, HubClientError

# ---------------------------------------------------------------- hooks


class FakeSpawner:
    """What the hooks use of a spawner; orm_spawner None means nothing to revoke."""

    def __init__(self, orm_spawner: Any = None) -> None:
        self.orm_spawner = orm_spawner
        self.user = SimpleNamespace(name="alice")
        self.name = ""
        self.calls: list[str] = []


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("key", ["pre_spawn_hook", "post_stop_hook"])
async def test_admin_hooks_still_run(kind: str, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def admin_sync(spawner: FakeSpawner) -> None:
        spawner.calls.append("admin")

    async def admin_async(spawner: FakeSpawner) -> None:
        spawner.calls.append("admin")

    def fake_revoke(spawner: FakeSpawner) -> tuple[int, int]:
        spawner.calls.append("revoke")
        return (0, 0)

    monkeypatch.setattr(hubmod, "revoke_server_access", fake_revoke)
    c = Config()
    c.Spawner[key] = admin_sync if kind == "sync" else admin_async
    configure(c)
    spawner = FakeSpawner()
    await c.Spawner[key](spawner)
    assert spawner.calls == ["revoke", "admin"]


async def test_subclass_section_hooks_are_wrapped_too() -> None:
    """c.KubeSpawner.pre_spawn_hook wins over c.Spawner's: it must revoke as well."""
    calls: list[str] = []
    c = Config()
    c.SimpleLocalProcessSpawner.pre_spawn_hook = lambda spawner: calls.append("admin")
    configure(c)
    hook = c.SimpleLocalProcessSpawner.pre_spawn_hook
    assert getattr(hook, "__rtc_presence_wrapped__", False)
    await hook(FakeSpawner())
    assert calls == ["admin"]
    assert getattr(c.Spawner.pre_spawn_hook, "__rtc_presence_wrapped__", False)


async def test_pre_spawn_fails_closed_post_stop_still_runs_admin_hook(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(spawner: Any) -> tuple[int, int]:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(hubmod, "revoke_server_access", broken)
    calls: list[str] = []
    c = Config()
    c.Spawner.pre_spawn_hook = lambda spawner: calls.append("pre")
    c.Spawner.post_stop_hook = lambda spawner: calls.append("post")
    configure(c)
    with pytest.raises(RuntimeError):
        await c.Spawner.pre_spawn_hook(FakeSpawner())
    assert calls == []  # the server does not start while it may still be shared
    with pytest.raises(RuntimeError):
        await c.Spawner.post_stop_hook(FakeSpawner())
    assert calls == ["post"]


# ---------------------------------------------------------------- revocation on a real hub DB


@pytest.fixture
def hub_db() -> Any:
    from jupyterhub import orm

    db = orm.new_session_factory("sqlite://")()
    yield db
    db.close()


def test_revoke_server_access_deletes_shares_and_codes_of_that_server_only(hub_db: Any) -> None:
    from jupyterhub import orm

    db = hub_db
    alice, bob, carol = (orm.User(name=n) for n in ("alice", "bob", "carol"))
    db.add_all([alice, bob, carol])
    db.commit()
    server = orm.Spawner(user=alice, name="")
    other = orm.Spawner(user=alice, name="other")
    db.add_all([server, other])
    db.commit()
    for spawner in (server, other):
        scopes = [f"access:servers!server=alice/{spawner.name}"]
        db.add(orm.Share(owner=alice, spawner=spawner, user=bob, scopes=scopes))
        db.add(orm.Share(owner=alice, spawner=spawner, user=carol, scopes=scopes))
        orm.ShareCode.new(db, spawner, scopes=scopes)
    db.commit()
    assert len(bob.shared_with_me) == 2

    assert revoke_server_access(FakeSpawner(server)) == (2, 1)
    assert db.query(orm.Share).filter_by(spawner_id=server.id).count() == 0
    assert db.query(orm.ShareCode).filter_by(spawner_id=server.id).count() == 0
    # the same session (the hub's) sees it: no stale share left in bob's permissions
    assert [s.spawner.name for s in bob.shared_with_me] == ["other"]
    assert [s.spawner.name for s in carol.shared_with_me] == ["other"]
    assert server.shares == [] and server.share_codes == []
    assert db.query(orm.Share).filter_by(spawner_id=other.id).count() == 2
    assert db.query(orm.ShareCode).filter_by(spawner_id=other.id).count() == 1
    assert revoke_server_access(FakeSpawner(server)) == (0, 0)
    assert revoke_server_access(FakeSpawner(None)) == (0, 0)


# ---------------------------------------------------------------- on a real hub


@pytest.mark.hub
async def test_shares_and_codes_are_revoked_when_the_server_stops_and_starts(
    tmp_path: Path,
) -> None:
    async with (
        DemoHub(tmp_path / "state", log_path=tmp_path / "demo.log") as hub,
        HubBrowser(hub.url, "alice") as alice,
        HubBrowser(hub.url, "bob") as bob,
    ):
        await alice.login()
        await bob.login()
        await alice.start_server()
        owner_api = await alice.hub_api()

        # the admin's own pre_spawn_hook (the demo's sample notebook) still ran
        r = await alice.api().get("api/contents/welcome.ipynb", params={"content": "0"})
        assert r.status_code == 200

        # the server's own token can never share; the owner's browser token can
        tokens = (await alice.hub_request("GET", "users/alice/tokens")).json()["api_tokens"]
        server_tokens = [t for t in tokens if t["note"].startswith("Server at")]
        assert server_tokens
        for t in server_tokens:
            assert not [s for s in t["scopes"] if s.partition("!")[0] == "shares"], t
        page = await alice.open_lab()
        assert page.token
        r = await alice.client.get(
            hub.url + "hub/api/user", headers={"Authorization": f"token {page.token}"}
        )
        assert "shares!server=alice/" in r.json()["scopes"]

        # alice invites, bob accepts and gets in (through the consent page)
        code = await owner_api.create_share_code("alice")
        assert code["full_accept_url"].startswith(hub.url)
        assert await bob.accept_share(code["full_accept_url"]) == hub.url + "user/alice/"
        bob_page = await bob.open_lab("alice")
        assert bob.consents == 1
        assert bob_page.token
        r = await bob.client.get(
            hub.url + "hub/api/user", headers={"Authorization": f"token {bob_page.token}"}
        )
        assert not [s for s in r.json()["scopes"] if s.startswith("shares")]
        assert (await bob.api("alice").get("api/status")).status_code == 200
        assert [s["user"]["name"] for s in await owner_api.shares("alice")] == ["bob"]
        assert len(await owner_api.share_codes("alice")) == 1

        # the server stops: every share and every code is gone
        await alice.stop_server()
        assert await owner_api.shares("alice") == []
        assert await owner_api.share_codes("alice") == []
        assert "revoked 1 share(s) and 1 share code(s) of alice/ (server stopped)" in (
            hub.log_path.read_text()
        )

        # shares granted while it is stopped are revoked before it starts again
        code = await owner_api.create_share_code("alice")
        await bob.accept_share(code["code"])
        assert len(await owner_api.shares("alice")) == 1
        await alice.start_server()
        assert await owner_api.shares("alice") == []
        assert await owner_api.share_codes("alice") == []
        assert "(server starting)" in hub.log_path.read_text()

        # nobody else has access: not bob's old cookie, not a new OAuth flow, not the code
        bob_hub = await bob.hub_api()
        assert (await bob_hub.get("users/bob/shared")).json()["items"] == []
        r = await bob.api("alice").get("api/status")
        assert r.status_code in (401, 403)
        with pytest.raises(HubClientError) as info:
            await bob.open_lab("alice")
        assert info.value.response is not None
        assert info.value.response.status_code in (403, 404)
        with pytest.raises(HubClientError) as info:
            await bob.accept_share(code["code"])
        assert info.value.response is not None
        assert info.value.response.status_code == 404
