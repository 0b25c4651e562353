"""deploy/z2jh/values.yaml: replay what the chart's jupyterhub_config.py does with it.

The chart (jupyterhub/files/hub/jupyterhub_config.py) turns ``hub.loadRoles`` (a dict)
into ``c.JupyterHub.load_roles``, applies ``hub.config`` with ``c[app].update(cfg)``,
sets ``c.Spawner.cmd`` from ``singleuser.cmd`` and finally ``exec``s every
``hub.extraConfig`` entry in key order with ``c`` in scope. We do the same on a real
traitlets ``Config`` and check what rtc-presence's entry produced.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
VALUES = REPO / "deploy" / "z2jh" / "values.yaml"


def load_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(VALUES.read_text())
    return values


def chart_config(values: dict[str, Any]) -> Config:
    """The part of the chart's jupyterhub_config.py that rtc-presence depends on."""
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.JupyterHub.cleanup_servers = False
    hub = values.get("hub", {})
    c.JupyterHub.load_roles = []
    for key, role in hub.get("loadRoles", {}).items():
        role.setdefault("name", key)
        c.JupyterHub.load_roles.append(role)
    singleuser = values.get("singleuser", {})
    if "cmd" in singleuser:
        c.Spawner.cmd = singleuser["cmd"]
    if "defaultUrl" in singleuser:
        c.Spawner.default_url = singleuser["defaultUrl"]
    for app, cfg in hub.get("config", {}).items():
        c[app].update(cfg)
    for _key, config_py in sorted(hub.get("extraConfig", {}).items()):
        exec(config_py, {"c": c, "__name__": "jupyterhub_config"})
    return c


def test_values_are_a_production_shaped_deployment() -> None:
    values = load_values()
    hub, singleuser = values["hub"], values["singleuser"]
    assert hub["db"]["type"] == "postgres"
    assert hub["db"]["url"].startswith("postgresql")
    assert "password" not in hub["db"]  # from secrets.yaml, not committed
    assert hub["image"]["name"] and hub["image"]["tag"]
    assert singleuser["image"]["name"] and singleuser["image"]["tag"]
    assert singleuser["cmd"] == "jupyterhub-singleuser"
    assert hub["config"]["JupyterHub"]["public_url"].startswith("https://")
    assert any("rtc_presence.hub.configure(c)" in v for v in hub["extraConfig"].values())
    # the images install rtc-presence
    for image in ("hub", "singleuser"):
        dockerfile = (VALUES.parent / "images" / image / "Dockerfile").read_text()
        assert "rtc-presence==" in dockerfile


def test_extra_config_sets_roles_scopes_and_hooks() -> None:
    c = chart_config(load_values())
    user_role = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user_role["scopes"][:2] == ["self", "shares!user"]
    assert "custom:rtc-presence:view!user" in user_role["scopes"]
    assert c.Spawner.oauth_client_allowed_scopes[:2] == ["access:servers!server", "shares!server"]
    assert "custom:rtc-presence:view!server" in c.Spawner.oauth_client_allowed_scopes
    assert "custom:rtc-presence:view" in c.JupyterHub.custom_scopes
    assert getattr(c.Spawner.pre_spawn_hook, "__rtc_presence_wrapped__", False)
    assert getattr(c.Spawner.post_stop_hook, "__rtc_presence_wrapped__", False)
    assert c.Spawner.server_token_scopes == ["users:activity!user", "read:shares!server"]
    assert c.Spawner.cmd == "jupyterhub-singleuser"
    assert c.JupyterHub.public_url == "https://hub.example.org/"


async def test_extra_config_composes_with_the_sites_own_roles_and_hooks() -> None:
    values = copy.deepcopy(load_values())
    values["hub"]["loadRoles"] = {
        "user": {"scopes": ["self", "access:services"]},
        "jupyterhub-idle-culler": {"scopes": ["read:servers", "delete:servers"]},
    }
    values["hub"]["config"]["KubeSpawner"] = {"oauth_client_allowed_scopes": ["read:users:name"]}
    calls: list[str] = []
    values["hub"]["extraConfig"]["00-site"] = (
        "async def my_hook(spawner):\n"
        "    spawner.calls.append('site')\n"
        "c.KubeSpawner.pre_spawn_hook = my_hook\n"
    )
    c = chart_config(values)
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles["user"]["scopes"][:3] == ["self", "access:services", "shares!user"]
    assert roles["jupyterhub-idle-culler"]["scopes"] == ["read:servers", "delete:servers"]
    assert c.KubeSpawner.oauth_client_allowed_scopes[:3] == [
        "read:users:name",
        "access:servers!server",
        "shares!server",
    ]
    assert "custom:rtc-presence:run!server" in c.KubeSpawner.oauth_client_allowed_scopes
    # the site's KubeSpawner hook (which wins over c.Spawner's) runs and revokes
    spawner = SimpleNamespace(orm_spawner=None, calls=calls, user=SimpleNamespace(name="a"))
    await c.KubeSpawner.pre_spawn_hook(spawner)
    assert calls == ["site"]
    assert getattr(c.KubeSpawner.pre_spawn_hook, "__rtc_presence_wrapped__", False)


def test_a_server_token_that_could_share_is_refused() -> None:
    values = copy.deepcopy(load_values())
    values["hub"]["config"]["Spawner"] = {"server_token_scopes": ["inherit"]}
    with pytest.raises(ValueError, match="JUPYTERHUB_API_TOKEN"):
        chart_config(values)
