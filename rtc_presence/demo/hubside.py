"""The hub side of the demo: what the generated ``jupyterhub_config.py`` imports.

:class:`DemoAuthenticator` (the demo users and their ``user_info``) and
:func:`prepare_home` (the sample notebook in each new home). The hub process imports
this module, so like :mod:`rtc_presence.hub` it must not import jupyter_server.
"""

from __future__ import annotations

import shutil
from hmac import compare_digest
from pathlib import Path
from typing import Any

# DemoAuthenticator is built on first access (module __getattr__ below).
__all__ = [  # noqa: F822
    "DEFAULT_PASSWORD",
    "DEMO_CONTENT",
    "DEMO_USERS",
    "MAX_STUDENTS",
    "DemoAuthenticator",
    "demo_users",
    "prepare_home",
]

#: The demo users and the ``user_info`` the hub stores for them. JupyterHub 6 passes
#: ``name``, ``display_name``, ``initials``, ``avatar_url`` and ``color`` of ``user_info``
#: to the single-user server's identity (``/api/me``). Colors are left to rtc-presence,
#: which derives the same color for a user in every browser.
DEMO_USERS: dict[str, dict[str, str]] = {
    "alice": {"name": "Alice Martin", "display_name": "Alice Martin", "initials": "AM"},
    "bob": {"name": "Bob Dupont", "display_name": "Bob Dupont", "initials": "BD"},
    "carol": {"name": "Carol Nguyen", "display_name": "Carol Nguyen", "initials": "CN"},
}

#: The most students ``--students`` may add (a class: the room sizes bench/ measures).
MAX_STUDENTS = 500


def demo_users(students: int = 0) -> dict[str, dict[str, str]]:
    """:data:`DEMO_USERS` and ``students`` more: ``student1``... ("Student 1"; initials
    left to rtc-presence), a class to invite with one link."""
    if not 0 <= students <= MAX_STUDENTS:
        raise ValueError(f"students must be between 0 and {MAX_STUDENTS}, not {students}")
    users = dict(DEMO_USERS)
    for i in range(1, students + 1):
        name = f"Student {i}"
        users[f"student{i}"] = {"name": name, "display_name": name}
    return users


DEFAULT_PASSWORD = "demo"
#: The sample notebooks copied into every new home.
DEMO_CONTENT = Path(__file__).resolve().parent.parent / "demo_content"


def _authenticator_class() -> type:
    # Built on first use: importing jupyterhub takes seconds on a busy machine, and the
    # launcher itself (argument checks, clear errors) should answer at once.
    from jupyterhub.auth import Authenticator
    from traitlets import Dict, Unicode

    class DemoAuthenticator(Authenticator):
        """Demo users with one shared password; sets ``user_info`` (display name, initials).

        Not for production: anyone who knows the password can log in as any demo user.
        """

        password = Unicode(DEFAULT_PASSWORD, config=True, help="The password of every demo user.")
        user_infos = Dict(
            config=True,
            help="User name -> user_info dict (name, display_name, initials, avatar_url, color).",
        )

        async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
            username = self.normalize_username(data.get("username", ""))
            password = data.get("password", "")
            if username not in self.user_infos or not self.password:
                return None
            if not compare_digest(password.encode(), self.password.encode()):
                return None
            return {"name": username, "user_info": dict(self.user_infos[username])}

    DemoAuthenticator.__module__ = __name__
    return DemoAuthenticator


def __getattr__(name: str) -> Any:
    """``DemoAuthenticator`` (a JupyterHub ``Authenticator``) is created on first access."""
    if name == "DemoAuthenticator":
        cls = _authenticator_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prepare_home(spawner: Any) -> None:
    """``pre_spawn_hook``: create the user's home and put the sample notebook in it once."""
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".rtc-presence-demo-content"
    if not marker.exists():
        for source in sorted(DEMO_CONTENT.glob("*.ipynb")):
            target = home / source.name
            if not target.exists():
                shutil.copyfile(source, target)
        marker.write_text("sample notebooks copied; delete this file to copy them again\n")
