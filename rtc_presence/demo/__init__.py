"""``rtc-presence demo``: a real JupyterHub on this machine with the add-on.

The package, by job:

- :mod:`.hubside`: what the hub process imports from the generated config
  (:class:`DemoAuthenticator`, :func:`prepare_home`, the demo users and
  :func:`demo_users`, which adds a class of students); no jupyter_server;
- :mod:`.options`: :class:`DemoOptions` and the command-line arguments;
- :mod:`.preflight`: checks before starting (port, proxy and node, state directory);
- :mod:`.template`: ``jupyterhub_config.py``, written into the state directory;
- :mod:`.processes`: free ports, child environments, the mark on every process the
  demo starts, stopping marked leftovers (public: the test kit uses it too);
- :mod:`.launcher`: :func:`run_demo`, the hub as a child process until Ctrl-C.

Everything the hub writes (sqlite database, cookie secret, pid files, the users' homes)
lives under the state directory, so a second start finds the same users and notebooks.
Importing this package imports neither jupyterhub nor jupyter_server.
"""

from __future__ import annotations

from typing import Any

from .hubside import (
    DEFAULT_PASSWORD,
    DEMO_CONTENT,
    DEMO_USERS,
    MAX_STUDENTS,
    demo_users,
    prepare_home,
)
from .launcher import LOG_PREFIX, READY_LINE, run_demo
from .options import DEFAULT_STATE_DIR, DemoOptions
from .preflight import DemoError, find_configurable_http_proxy, preflight
from .processes import MARKER_ENV, kill_marked
from .template import CONFIG_NAME, write_config

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_PASSWORD",
    "DEFAULT_STATE_DIR",
    "DEMO_CONTENT",
    "DEMO_USERS",
    "LOG_PREFIX",
    "MARKER_ENV",
    "MAX_STUDENTS",
    "READY_LINE",
    "DemoAuthenticator",
    "DemoError",
    "DemoOptions",
    "demo_users",
    "find_configurable_http_proxy",
    "kill_marked",
    "preflight",
    "prepare_home",
    "run_demo",
    "write_config",
]


def __getattr__(name: str) -> Any:
    """``DemoAuthenticator`` is built on first access (it imports jupyterhub)."""
    if name == "DemoAuthenticator":
        from . import hubside

        return hubside.DemoAuthenticator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
