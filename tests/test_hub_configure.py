"""rtc_presence.hub.configure(): the sharing role, custom scopes, OAuth scopes, hooks on.

Composed with admin settings on a real traitlets ``Config``. The server's own token is
in ``test_hub_server_token.py``, the revoking hooks in ``test_hub_revocation.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config

from rtc_presence.access import DESCRIPTIONS, LEVELS, scope
from rtc_presence.hub import configure
from tests.hubscopes import CUSTOM, OAUTH, ROLE_ADDED, SERVER_TOKEN, user_role

REPO = Path(__file__).resolve().parents[1]


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
