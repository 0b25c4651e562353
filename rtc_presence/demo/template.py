"""The hub's configuration file: ``jupyterhub_config.py`` in the state directory.

Regenerated at every start and meant to be read: a complete example of a hub
configured for rtc-presence (local processes, sqlite, all state in one folder).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .hubside import demo_users
from .options import DemoOptions
from .processes import MARKER_ENV

__all__ = ["CONFIG_NAME", "write_config"]

CONFIG_NAME = "jupyterhub_config.py"


def write_config(
    options: DemoOptions, chp: Path, marker: str, *, hub_port: int, proxy_api_port: int
) -> Path:
    """Write ``jupyterhub_config.py`` into the state directory and return its path."""
    state = options.state_dir.resolve()
    bin_dir = Path(sys.executable).parent
    singleuser = bin_dir / "jupyterhub-singleuser"
    args = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    path_env = os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)])
    environment = {"PATH": path_env, MARKER_ENV: marker}
    r = repr
    people = demo_users(options.students)
    users = "\n".join(f"    {r(name)}: {r(info)}," for name, info in people.items())
    text = f"""\
# JupyterHub configuration written by `rtc-presence demo` (regenerated at every start).
# A complete, local, single-machine example of a hub with rtc-presence; NOT for production
# (shared password, no isolation between users: every server runs as {r(_whoami())}).
import rtc_presence.hub
from rtc_presence.demo.hubside import DemoAuthenticator, prepare_home

c = get_config()  # noqa: F821

# Where the hub listens, and the URL it gives out (share links use it: full_accept_url).
c.JupyterHub.ip = {r(options.ip)}
c.JupyterHub.port = {options.port}
c.JupyterHub.public_url = {r(options.url)}
# The hub's internal API and the proxy's API: loopback only, free ports picked at start.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{r(str(chp))}]
c.ConfigurableHTTPProxy.pid_file = {r(str(state / "jupyterhub-proxy.pid"))}

# All state in the state directory.
c.JupyterHub.db_url = {r("sqlite:///" + str(state / "jupyterhub.sqlite"))}
c.JupyterHub.cookie_secret_file = {r(str(state / "jupyterhub_cookie_secret"))}
c.JupyterHub.pid_file = {r(str(state / "jupyterhub.pid"))}

# Stopping the hub stops the proxy and every user server.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Demo users with display names and initials (user_info), one shared password.
c.JupyterHub.authenticator_class = DemoAuthenticator
c.DemoAuthenticator.user_infos = {{
{users}
}}
c.DemoAuthenticator.password = {r(options.password)}
c.Authenticator.allowed_users = {{{", ".join(r(u) for u in people)}}}

# One local process per user, home folders under the state directory.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {r(str(state / "home" / "{username}"))}
c.Spawner.cmd = [{r(str(singleuser))}]
c.Spawner.args = {r(args)}
c.Spawner.default_url = "/lab"
c.Spawner.environment = {r(environment)}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
# SIGINT, then SIGTERM: do not wait 10 s for each server on shutdown.
c.LocalProcessSpawner.interrupt_timeout = 5
c.LocalProcessSpawner.term_timeout = 3
c.Spawner.pre_spawn_hook = prepare_home

# rtc-presence: users may share their own server; the owner's browser token may manage
# sharing; every share and invite link is revoked when a server stops or starts.
rtc_presence.hub.configure(c)
"""
    config_path = state / CONFIG_NAME
    tmp = config_path.with_suffix(".tmp")
    # The file holds the demo password: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, config_path)
    return config_path


def _whoami() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover
        return str(os.geteuid())
