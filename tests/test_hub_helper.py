"""rtc_presence.hub.configure(): roles, OAuth scopes and revoking hooks.

Unit tests compose it with admin settings on a real traitlets ``Config`` and run the
revocation on a real JupyterHub ORM database; the integration test runs a real hub.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config

import rtc_presence.hub as hubmod
from rtc_presence.access import DESCRIPTIONS, LEVELS, all_scopes, scope
from rtc_presence.hub import configure, revoke_server_access
from rtc_presence.testing.hubclient import DemoHub, HubBrowser, HubClientError

REPO = Path(__file__).resolve().parents[1]

#: rtc-presence's custom scopes (levels and access terms), as the contract names them.
CUSTOM = list(all_scopes())
#: What a sharing role gets on top of its own scopes.
ROLE_ADDED = ["shares!user", *(f"{s}!user" for s in CUSTOM), "read:users:name"]
#: What $JUPYTERHUB_API_TOKEN gets by default: post activity, read the server's shares.
SERVER_TOKEN = ["users:activity!user", "read:shares!server"]
#: Every server's oauth_client_allowed_scopes.
OAUTH = [
    "access:servers!server",
    "shares!server",
    *(f"{s}!server" for s in CUSTOM),
    "read:users:name",
]


def user_role(c: Config) -> dict[str, Any]:
    return next(r for r in c.JupyterHub.load_roles if r["name"] == "user")


def set_keys(c: Config) -> dict[str, set[str]]:
    return {section: set(c[section]) for section in c if c[section]}


# ---------------------------------------------------------------- roles and scopes


def test_defaults_set_only_what_sharing_needs() -> None:
    c = Config()
    configure(c)
    assert set_keys(c) == {
        "JupyterHub": {"load_roles", "custom_scopes"},
        "Spawner": {
            "oauth_client_allowed_scopes",
            "server_token_scopes",
            "pre_spawn_hook",
            "post_stop_hook",
        },
    }
    assert c.JupyterHub.load_roles == [{"name": "user", "scopes": ["self", *ROLE_ADDED]}]
    assert c.Spawner.oauth_client_allowed_scopes == OAUTH
    assert c.Spawner.server_token_scopes == SERVER_TOKEN
    assert callable(c.Spawner.pre_spawn_hook)
    assert callable(c.Spawner.post_stop_hook)


def test_access_levels_are_custom_scopes_with_plain_descriptions() -> None:
    c = Config()
    configure(c)
    for level in LEVELS:
        name = f"custom:rtc-presence:{level}"
        assert scope(level) == name
        assert c.JupyterHub.custom_scopes[name] == {"description": DESCRIPTIONS[level]}
        assert f"{name}!user" in user_role(c)["scopes"]
        assert f"{name}!server" in c.Spawner.oauth_client_allowed_scopes
    assert c.JupyterHub.custom_scopes["custom:rtc-presence:for-3600"]["description"]
    assert set(c.JupyterHub.custom_scopes) == set(CUSTOM)


def test_admin_custom_scopes_are_kept() -> None:
    c = Config()
    mine = {"custom:site:grade": {"description": "Grade"}}
    ours = {"custom:rtc-presence:view": {"description": "Voir sans modifier."}}
    c.JupyterHub.custom_scopes = {**mine, **ours}
    configure(c)
    assert c.JupyterHub.custom_scopes["custom:site:grade"] == mine["custom:site:grade"]
    assert (
        c.JupyterHub.custom_scopes["custom:rtc-presence:view"] == ours["custom:rtc-presence:view"]
    )
    assert c.JupyterHub.custom_scopes["custom:rtc-presence:edit"] == {
        "description": DESCRIPTIONS["edit"]
    }
    c = Config()
    c.JupyterHub.custom_scopes = ["custom:site:grade"]
    with pytest.raises(ValueError, match="custom_scopes must be a dict"):
        configure(c)


def test_level_changes_can_be_turned_off() -> None:
    """Without read:users:name the hub cannot add a scope to a share by user name."""
    c = Config()
    configure(c, level_changes=False)
    assert "read:users:name" not in user_role(c)["scopes"]
    assert "read:users:name" not in c.Spawner.oauth_client_allowed_scopes
    assert "custom:rtc-presence:run!server" in c.Spawner.oauth_client_allowed_scopes


def test_existing_user_role_is_extended_and_other_roles_untouched() -> None:
    c = Config()
    teachers = {"name": "teachers", "scopes": ["admin:users"], "groups": ["staff"]}
    c.JupyterHub.load_roles = [
        {"name": "user", "scopes": ["self", "access:services"], "description": "mine"},
        teachers,
    ]
    configure(c)
    assert user_role(c) == {
        "name": "user",
        "scopes": ["self", "access:services", *ROLE_ADDED],
        "description": "mine",
    }
    assert c.JupyterHub.load_roles[1] == teachers


def test_user_role_without_scopes_keeps_the_default_self() -> None:
    c = Config()
    c.JupyterHub.load_roles = [{"name": "user", "description": "everyone"}]
    configure(c)
    assert user_role(c)["scopes"] == ["self", *ROLE_ADDED]


def test_lazy_append_to_load_roles_is_kept() -> None:
    c = Config()
    c.JupyterHub.load_roles.append({"name": "ops", "scopes": ["read:hub"]})
    configure(c)
    names = [r["name"] for r in c.JupyterHub.load_roles]
    assert names == ["ops", "user"]


def test_extra_user_scopes_are_extended_instead_of_overriding_the_user_role() -> None:
    c = Config()
    c.JupyterHub.extra_user_scopes = {"access:services"}
    configure(c)
    assert c.JupyterHub.extra_user_scopes == {"access:services", *ROLE_ADDED}
    assert [r["name"] for r in c.JupyterHub.load_roles] == []


def test_custom_sharing_role() -> None:
    c = Config()
    c.JupyterHub.load_roles = [{"name": "sharers", "scopes": [], "groups": ["team"]}]
    configure(c, sharing_roles=["sharers"])
    assert c.JupyterHub.load_roles == [
        {"name": "sharers", "scopes": ROLE_ADDED, "groups": ["team"]}
    ]
    with pytest.raises(ValueError, match="not defined"):
        configure(Config(), sharing_roles=["nobody"])


def test_admin_oauth_scopes_are_merged() -> None:
    c = Config()
    c.Spawner.oauth_client_allowed_scopes = ["read:users:name", "access:servers!server"]
    configure(c, allowed_scopes_extra=["read:users:groups!user"])
    assert c.Spawner.oauth_client_allowed_scopes == [
        "read:users:name",
        "access:servers!server",
        *[s for s in OAUTH if s not in ("read:users:name", "access:servers!server")],
        "read:users:groups!user",
    ]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_admin_oauth_scopes_callable_is_wrapped(kind: str) -> None:
    def admin_sync(spawner: Any) -> list[str]:
        return [f"read:users:name!user={spawner.user.name}"]

    async def admin_async(spawner: Any) -> list[str]:
        return admin_sync(spawner)

    c = Config()
    c.Spawner.oauth_client_allowed_scopes = admin_sync if kind == "sync" else admin_async
    configure(c)
    spawner = SimpleNamespace(user=SimpleNamespace(name="alice"))
    scopes = await c.Spawner.oauth_client_allowed_scopes(spawner)
    assert scopes == ["read:users:name!user=alice", *OAUTH]


def test_configure_twice_is_harmless() -> None:
    c = Config()
    configure(c)
    hooks = (c.Spawner.pre_spawn_hook, c.Spawner.post_stop_hook)
    configure(c)
    assert user_role(c)["scopes"] == ["self", *ROLE_ADDED]
    assert c.Spawner.oauth_client_allowed_scopes == OAUTH
    assert c.Spawner.server_token_scopes == SERVER_TOKEN
    assert len(c.JupyterHub.custom_scopes) == len(CUSTOM)
    assert (c.Spawner.pre_spawn_hook, c.Spawner.post_stop_hook) == hooks


def test_revoke_hooks_can_be_turned_off() -> None:
    c = Config()
    configure(c, revoke_on_stop=False, revoke_on_start=False)
    assert "pre_spawn_hook" not in c.Spawner
    assert "post_stop_hook" not in c.Spawner


# ---------------------------------------------------------------- the server's own token


@pytest.mark.parametrize(
    "scopes",
    [
        ["inherit"],
        ["users:activity!user", "shares!user"],
        ["shares"],
        ["shares!server"],
        ["users:shares!user"],
        # the token must not open the server it belongs to (issue 13: owner by proxy) ...
        ["users:activity!user", "access:servers!server"],
        ["access:servers"],
        # ... nor mint a token that could
        ["users:activity!user", "tokens!user"],
    ],
)
def test_server_token_may_never_share_nor_act_as_the_owner(scopes: list[str]) -> None:
    c = Config()
    c.Spawner.server_token_scopes = scopes
    with pytest.raises(ValueError, match="JUPYTERHUB_API_TOKEN") as info:
        configure(c)
    assert "every kernel and terminal" in str(info.value)
    assert scopes[-1] in str(info.value)


def test_server_token_error_says_why() -> None:
    c = Config()
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server"]
    with pytest.raises(ValueError, match="open the owner's server as the owner"):
        configure(c)


def test_server_role_may_never_share() -> None:
    c = Config()
    c.JupyterHub.load_roles = [
        {"name": "server", "scopes": ["users:activity!user", "access:servers!server", "shares"]}
    ]
    with pytest.raises(ValueError, match="'server' role"):
        configure(c)


def test_server_token_defaults_to_posting_activity_only() -> None:
    """Unset, the hub would use its 'server' role, which can open the server."""
    from jupyterhub.roles import get_default_roles

    server_role = next(r for r in get_default_roles() if r["name"] == "server")
    assert "access:servers!server" in server_role["scopes"]  # what we replace
    for unset in (None, []):
        c = Config()
        if unset is not None:
            c.Spawner.server_token_scopes = unset
        configure(c)
        assert c.Spawner.server_token_scopes == SERVER_TOKEN


def test_admin_server_token_scopes_are_kept() -> None:
    """A notebook that calls the hub API may need more (readable by run guests)."""
    c = Config()
    c.Spawner.server_token_scopes = ["users:activity!user", "read:servers!user"]
    configure(c)
    assert c.Spawner.server_token_scopes == [
        "users:activity!user",
        "read:servers!user",
        "read:shares!server",
    ]
    c = Config()
    c.KubeSpawner.server_token_scopes = ["users:activity!user", "read:users:name!user"]
    configure(c)
    assert c.KubeSpawner.server_token_scopes == [
        "users:activity!user",
        "read:users:name!user",
        "read:shares!server",
    ]
    assert c.Spawner.server_token_scopes == SERVER_TOKEN
    c = Config()
    c.KubeSpawner.server_token_scopes = ["access:servers!server"]
    with pytest.raises(ValueError, match="JUPYTERHUB_API_TOKEN"):
        configure(c)


async def test_server_token_scopes_callable_is_checked_at_spawn() -> None:
    c = Config()
    c.Spawner.server_token_scopes = lambda spawner: ["users:activity!user", "shares!user"]
    configure(c)
    with pytest.raises(ValueError, match="JUPYTERHUB_API_TOKEN"):
        await c.Spawner.server_token_scopes(SimpleNamespace())
    c = Config()
    c.Spawner.server_token_scopes = lambda spawner: ["access:servers!server"]
    configure(c)
    with pytest.raises(ValueError, match="JUPYTERHUB_API_TOKEN"):
        await c.Spawner.server_token_scopes(SimpleNamespace())
    c = Config()
    c.Spawner.server_token_scopes = lambda spawner: ["users:activity!user"]
    configure(c)
    assert await c.Spawner.server_token_scopes(SimpleNamespace()) == SERVER_TOKEN

    async def nothing(spawner: Any) -> list[str]:
        return []

    c = Config()
    c.Spawner.server_token_scopes = nothing
    configure(c)
    configure(c)  # wrapped once
    assert c.Spawner.server_token_scopes.__wrapped__ is nothing
    assert await c.Spawner.server_token_scopes(SimpleNamespace()) == SERVER_TOKEN


@pytest.mark.parametrize(
    ("setting", "kwargs"),
    [
        ({"Spawner": {"server_token_scopes": ["inherit"]}}, {}),
        ({"Spawner": {"server_token_scopes": ["access:servers!server"]}}, {}),
        ({"JupyterHub": {"custom_scopes": ["custom:x:y"]}}, {}),
        ({"JupyterHub": {"load_roles": [{"name": "server", "scopes": ["shares"]}]}}, {}),
        ({}, {"sharing_roles": ["user", "missing"]}),
        ({}, {"allowed_scopes_extra": ["inherit"]}),
    ],
)
def test_a_refused_configuration_is_left_unchanged(
    setting: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    c = Config(copy.deepcopy(setting))
    c.JupyterHub.extra_user_scopes = {"access:services"}
    c.Spawner.pre_spawn_hook = print
    before = copy.deepcopy(c)
    with pytest.raises(ValueError):
        configure(c, **kwargs)
    assert {k: v for k, v in c.items() if v} == {k: v for k, v in before.items() if v}


def test_allowed_scopes_extra_may_not_add_sharing_beyond_the_server() -> None:
    with pytest.raises(ValueError):
        configure(Config(), allowed_scopes_extra=["shares"])


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


def test_hub_module_does_not_import_the_server_stack() -> None:
    code = (
        "import sys\n"
        "from traitlets.config import Config\n"
        "import rtc_presence.hub, rtc_presence.demo\n"
        "rtc_presence.hub.configure(Config())\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('jupyter_server', 'jupyter_server_ydoc', 'jupyter_collaboration', 'pycrdt', "
        "'pycrdt_websocket', 'jupyterlab'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


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
