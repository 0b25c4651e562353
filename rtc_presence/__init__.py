"""rtc-presence: verified presence, invite-link sharing and instant eviction for
collaborative Jupyter servers behind JupyterHub."""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["RTCPresence", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `import rtc_presence.hub` in jupyterhub_config.py
    # does not pull in jupyter_server and the collaboration stack.
    if name == "RTCPresence":
        from .app import RTCPresence

        return RTCPresence
    raise AttributeError(name)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "rtc-presence"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import RTCPresence

    return [{"module": "rtc_presence", "app": RTCPresence}]
