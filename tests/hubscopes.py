"""What ``rtc_presence.hub.configure()`` adds, as the levels contract names it.

Shared by the hub helper's tests (``test_hub_configure.py``, ``test_hub_server_token.py``).
"""

from __future__ import annotations

from typing import Any

from traitlets.config import Config

from rtc_presence.access import all_scopes

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
