"""rtc_presence.hub.configure() and the server's own token ($JUPYTERHUB_API_TOKEN).

The token every kernel and terminal can read may never share nor act as the owner;
a configuration that would allow it is refused and left unchanged.
"""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets.config import Config

from rtc_presence.hub import configure
from tests.hubscopes import SERVER_TOKEN


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


@pytest.mark.parametrize(
    ("spawner", "extra"),
    [("Spawner", "read:servers!user"), ("KubeSpawner", "read:users:name!user")],
)
def test_admin_server_token_scopes_are_kept(spawner: str, extra: str) -> None:
    """A notebook that calls the hub API may need more (readable by run guests)."""
    c = Config()
    c[spawner].server_token_scopes = ["users:activity!user", extra]
    configure(c)
    assert c[spawner].server_token_scopes == ["users:activity!user", extra, "read:shares!server"]
    if spawner != "Spawner":
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
