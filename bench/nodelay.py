"""The fair baseline: stock jupyter-collaboration with only TCP_NODELAY added.

A Jupyter server extension (``jpserver_extensions={"bench.nodelay": True}``) that sets
TCP_NODELAY on every collaboration room socket before upstream's ``open`` runs, and
nothing else. Without it, stock's small-room tails are Nagle's algorithm plus delayed
ACKs (~20-40 ms), which a one-line fix removes: beating that says little.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.serverapp import ServerApp
from jupyter_server_ydoc.handlers import YDocWebSocketHandler

_PATCHED = "_bench_nodelay"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "bench.nodelay"}]


def _load_jupyter_server_extension(serverapp: ServerApp) -> None:
    if getattr(YDocWebSocketHandler, _PATCHED, False):
        return
    upstream_open = YDocWebSocketHandler.open

    async def open(self: YDocWebSocketHandler, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        await upstream_open(self, *args, **kwargs)

    YDocWebSocketHandler.open = open
    setattr(YDocWebSocketHandler, _PATCHED, True)
    serverapp.log.warning("bench.nodelay: TCP_NODELAY on collaboration room sockets")
