"""Write jupyter_server_ydoc's session file when it changes, not on every open.

``YDocWebSocketHandler.open`` awaits ``save_current_session`` for every document
room connection: resolve the root directory, ``mkdir``, read and parse the
JSON file, add this server's record with a fresh ``created_at``, write it
back. All of it is synchronous file work on the event loop. With a class of
300 joining at once that was 0.5 s of the 1.2 s it took until all were synced
(bench/README.md "Where the time goes"), and the loop could do nothing else
meanwhile.

What the file is for: a client that reconnects with an older server's session
id is told to reload (``check_session_compatibility``). Only the record of
this server's session (its version, the document version of the room opened
last) matters for that. So an open that would write exactly what the last
write did skips it while the file is as that write left it (same size and
mtime); a different document version, or a file changed or removed by anything
else, runs upstream's write again. ``created_at`` then keeps the time of the
repeated write's first run, which only orders the ten records upstream keeps.

The hook is the module global ``jupyter_server_ydoc.handlers.save_current_session``
(upstream's ``open`` looks it up there at each call); ``_get_jupyter_session_store``
is upstream's private path helper, used to stat the same file. Both are pinned
by ``tests/test_sessionfile.py``. The upstream change (write only when the
record changes) is described in docs/upstream.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

Key = tuple[str, str, str, str | None, str | None]
Stamp = tuple[int, int]

_MARK = "_rtc_presence_cached"


def _stamp(path: str) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def cached(original: Callable[..., Awaitable[None]], store: Callable[..., Any]) -> Any:
    """``original`` (upstream's ``save_current_session``) skipping a write that would
    repeat the last one; ``store(root_dir, session_store_path)`` gives the file."""
    # Per file: the arguments of the last write and the file's stamp after it.
    # The file holds one record per session id, rewritten with the document
    # version of the room opened last, so only a repeat of the last write is
    # skipped (a class opening one notebook: one write, not 300).
    last: dict[str, tuple[Key, Stamp]] = {}
    paths: dict[tuple[str, str | None], str] = {}

    async def save_current_session(
        root_dir: str,
        session_id: str,
        version: str,
        lock: asyncio.Lock,
        document_version: str | None = None,
        session_store_path: str | None = None,
    ) -> None:
        key: Key = (root_dir, session_id, version, document_version, session_store_path)
        where = (root_dir, session_store_path)
        path = paths.get(where)
        if path is None:
            path = paths[where] = str(store(root_dir, session_store_path))
        known = last.get(path)
        if known is not None and known[0] == key and _stamp(path) == known[1]:
            return
        await original(
            root_dir,
            session_id,
            version,
            lock,
            document_version=document_version,
            session_store_path=session_store_path,
        )
        stamp = _stamp(path)
        if stamp is not None and path != os.devnull:
            last[path] = (key, stamp)

    setattr(save_current_session, _MARK, True)
    return save_current_session


def install_session_file_cache() -> bool:
    """Put :func:`cached` in front of upstream's ``save_current_session`` (once)."""
    try:
        from jupyter_server_ydoc import handlers, utils
    except ImportError:
        return False
    current = handlers.save_current_session
    if getattr(current, _MARK, False):
        return True
    # Private: the path helper upstream's own save uses (see module docstring).
    store = utils._get_jupyter_session_store
    handlers.save_current_session = cached(current, store)
    return True
