"""The startup watch's record on disk, so a server restart does not forget it.

The point of :mod:`.startupfiles` is what happens *after* a guest leaves: the
owner stops and starts the server, and a file the guest left runs. So the
baseline, the last state seen and every change found are written to
``<jupyter data dir>/rtc_presence/startup-watch.json`` after each check that
found something, and read back when the next server starts (its first check
then shows what changed while no server was watching).

Code with run access can change this file too (it is the owner's): it is a
record for an honest owner, not evidence. A missing, unreadable or malformed
file starts a fresh watch (logged).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir

VERSION = 1
MAX_CHANGES = 1000
"""Changes kept, in memory and on disk (the earliest: the rest are only counted)."""


def default_store() -> Path:
    return Path(jupyter_data_dir()) / "rtc_presence" / "startup-watch.json"


@dataclass
class Saved:
    watching_since: float
    known: dict[str, tuple[float, int, str | None]]
    changes: list[dict[str, Any]]
    dropped: int = 0


def load(path: Path, log: logging.Logger) -> Saved | None:
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("rtc-presence: cannot read %s (%s): a fresh startup watch", path, exc)
        return None
    try:
        data = json.loads(raw)
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        known = {
            str(p): (float(m), int(s), None if h is None else str(h))
            for p, (m, s, h) in data["known"].items()
        }
        changes = [dict(c) for c in data["changes"]]
        return Saved(float(data["watching_since"]), known, changes, int(data.get("dropped", 0)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("rtc-presence: %s is not a startup watch record (%s): a fresh one", path, exc)
        return None


def save(path: Path, saved: Saved) -> None:
    """Write atomically (a crash leaves the old record or the new one)."""
    data = {
        "version": VERSION,
        "watching_since": saved.watching_since,
        "known": {p: list(v) for p, v in saved.known.items()},
        "changes": saved.changes[:MAX_CHANGES],
        "dropped": saved.dropped,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
