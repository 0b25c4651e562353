"""Startup files: what a guest with run access could leave behind to run later.

Code a guest runs can write files that run again, as the owner, long after
the guest is gone: a ``jupyter_server_config.py`` runs in the next server
(and sees its new hub token), an IPython startup file in every kernel, a
shell rc file in every terminal, a ``.pth`` file or ``sitecustomize.py`` in
every Python process. Ending the guest's processes does not undo that.

So when a guest with run access is first admitted, the server records a
baseline (modification time, size, SHA-256) of those locations, checks them
again every ``startup_check_interval`` seconds and when a guest leaves, and
keeps every change it finds (added, modified, removed) with when it was
found and which guests had run access then. The owner reads them with
``GET /api/rtc-presence/startup-changes`` (:mod:`.startupapi`).

Home-relative locations are computed from :meth:`Path.home` at each scan
(tests run with a temporary home). What this detects and what it cannot:
docs/security.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .presence import iso
from .startupstore import MAX_CHANGES, Saved, default_store, load, save

MAX_FILES = 5000
"""Files one scan records at most (a guest filling ~/.jupyter must not stall checks)."""
MAX_HASH_BYTES = 16 * 1024 * 1024
"""Larger files are compared by size and modification time only."""

SHELL_FILES = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
)

# JupyterLab rewrites its workspace files whenever the layout changes: noise,
# and they only restore a layout, they run nothing.
SKIPPED_DIRS = frozenset({"workspaces"})


@dataclass(frozen=True)
class Location:
    """A directory and what to watch in it: every file below (``recursive``) or a glob."""

    root: Path
    pattern: str = "*"
    recursive: bool = False


def locations() -> list[Location]:
    """Where startup files live, computed now (``HOME`` and variables as they are now)."""
    home = Path.home()
    found = [Location(home / ".jupyter", recursive=True)]
    config_dir = os.environ.get("JUPYTER_CONFIG_DIR")
    if config_dir:
        found.append(Location(Path(config_dir), recursive=True))
    for ipython in dict.fromkeys([home / ".ipython", Path(os.environ.get("IPYTHONDIR") or home)]):
        if ipython == home:
            continue  # no IPYTHONDIR
        # IPython runs startup/*.py and *.ipy (its own README there runs nothing).
        found += [
            Location(ipython, "profile_*/startup/*.py"),
            Location(ipython, "profile_*/startup/*.ipy"),
            Location(ipython, "profile_*/*_config.py"),
            Location(ipython, "profile_*/*_config.json"),
        ]
    found += [Location(home, name) for name in SHELL_FILES]
    found += [Location(home / ".ssh", "authorized_keys*"), Location(home / ".ssh", "rc")]
    found.append(Location(Path(sys.prefix) / "etc" / "jupyter", recursive=True))
    # Kernel specs name the command a kernel starts with.
    data_dir = os.environ.get("JUPYTER_DATA_DIR")
    for share in {home / ".local" / "share" / "jupyter", Path(sys.prefix) / "share" / "jupyter"}:
        found.append(Location(share / "kernels", recursive=True))
    if data_dir:
        found.append(Location(Path(data_dir) / "kernels", recursive=True))
    for site_dir in site_packages(home):
        found += [
            Location(site_dir, "sitecustomize.py"),
            Location(site_dir, "usercustomize.py"),
            Location(site_dir, "*.pth"),
        ]
    return found


def site_packages(home: Path) -> list[Path]:
    """The environment's site-packages and the user's, for ``home``."""
    dirs = {Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"])}
    # site.getusersitepackages() is computed once per process, from the home
    # at startup: computed here from the home of now.
    user_base = os.environ.get("PYTHONUSERBASE") or str(home / ".local")
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    dirs.add(Path(user_base) / "lib" / version / "site-packages")
    return sorted(dirs)


@dataclass(frozen=True)
class FileState:
    mtime: float
    size: int
    sha256: str | None
    """None for a file over :data:`MAX_HASH_BYTES` or unreadable."""

    def model(self) -> dict[str, Any]:
        return {"modified_at": iso(self.mtime), "size": self.size, "sha256": self.sha256}


def _files(location: Location) -> Iterator[Path]:
    root = location.root
    if not root.is_dir():
        return
    if not location.recursive:
        yield from (p for p in root.glob(location.pattern) if p.is_file())
        return
    for parent, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            yield Path(parent) / name


def _state(path: Path) -> FileState | None:
    try:
        st = path.stat()
    except OSError:
        return None
    digest = None
    if st.st_size <= MAX_HASH_BYTES:
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = None
    return FileState(st.st_mtime, st.st_size, digest)


def scan(where: list[Location] | None = None, max_files: int = MAX_FILES) -> dict[str, FileState]:
    """Path -> state of every startup file that exists now (at most ``max_files``)."""
    states: dict[str, FileState] = {}
    for location in locations() if where is None else where:
        for path in _files(location):
            if len(states) >= max_files:
                return states
            key = str(path)
            if key not in states and (state := _state(path)) is not None:
                states[key] = state
    return states


Change = Literal["added", "modified", "removed"]


@dataclass(frozen=True)
class StartupChange:
    path: str
    change: Change
    detected_at: float
    guests: tuple[str, ...]
    before: FileState | None
    after: FileState | None

    def model(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.change,
            "detected_at": iso(self.detected_at),
            "guests": list(self.guests),
            "before": self.before.model() if self.before else None,
            "after": self.after.model() if self.after else None,
        }


def diff(
    old: dict[str, FileState], new: dict[str, FileState]
) -> list[tuple[str, Change, FileState | None, FileState | None]]:
    """What changed from ``old`` to ``new``, sorted by path."""
    out: list[tuple[str, Change, FileState | None, FileState | None]] = []
    for path in sorted(old.keys() | new.keys()):
        before, after = old.get(path), new.get(path)
        if before is None:
            out.append((path, "added", None, after))
        elif after is None:
            out.append((path, "removed", before, None))
        elif before != after:
            out.append((path, "modified", before, after))
    return out


@dataclass
class StartupWatch:
    """The baseline, the run guests who had access, and every change found."""

    log: logging.Logger
    linger: float = 3.0
    """Seconds a departed guest still counts as having access: the time their
    processes take to be ended."""
    scanner: Callable[[], dict[str, FileState]] = scan
    guests: dict[str, float] = field(default_factory=dict)
    """Guests with run access now -> since when."""
    watching_since: float | None = None
    changes: list[StartupChange] = field(default_factory=list)
    """Changes found by this server."""
    store: Path | None = field(default_factory=default_store)
    """Where the record is kept across restarts (:mod:`.startupstore`); None: nowhere."""
    _earlier: list[dict[str, Any]] = field(default_factory=list)
    """Changes found by earlier servers (as the API shows them)."""
    _known: dict[str, FileState] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _save_failed: bool = False
    dropped: int = 0
    """Changes found beyond :data:`~.startupstore.MAX_CHANGES` (counted, not kept)."""

    def __post_init__(self) -> None:
        saved = load(self.store, self.log) if self.store is not None else None
        if saved is not None:
            self.watching_since = saved.watching_since
            self._known = {p: FileState(*v) for p, v in saved.known.items()}
            self._earlier = saved.changes
            self.dropped = saved.dropped

    def admitted(self, username: str, level: str) -> None:
        """A guest was admitted at ``level`` (called on their requests; cheap)."""
        if level != "run":
            if username in self.guests:
                self.left(username)
            return
        if username in self.guests:
            return
        self.guests[username] = time.time()
        if self.watching_since is None:
            self.watching_since = time.time()
            self._spawn(self.check())

    def left(self, username: str) -> None:
        """A guest lost run access (revoked, expired, level lowered)."""
        if username in self.guests:
            self._spawn(self._leave(username))

    async def _leave(self, username: str) -> None:
        await self.check()
        await asyncio.sleep(self.linger)
        await self.check()
        self.guests.pop(username, None)

    def _spawn(self, job: Any) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def check(self) -> list[StartupChange]:
        """Scan now; record and return what changed since the last scan."""
        if self.watching_since is None:
            return []
        async with self._lock:
            guests = tuple(sorted(self.guests))
            now_states = await asyncio.to_thread(self.scanner)
            if self._known is None:
                self._known = now_states  # the baseline
                await asyncio.to_thread(self._save)
                return []
            found = [
                StartupChange(path, kind, time.time(), guests, before, after)
                for path, kind, before, after in diff(self._known, now_states)
            ]
            self._known = now_states
            if found:
                room = max(0, MAX_CHANGES - len(self._earlier) - len(self.changes))
                self.changes.extend(found[:room])
                self.dropped += len(found) - len(found[:room])
                await asyncio.to_thread(self._save)
        if found:
            # One line per check, however many files a guest touched.
            shown = ", ".join(f"{c.path} {c.change}" for c in found[:5])
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            self.log.warning(
                "rtc-presence: %d startup file change(s): %s%s (guests with run access: %s)",
                len(found),
                shown,
                more,
                ", ".join(guests) or "none",
            )
        return found

    async def settled(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def model(self) -> dict[str, Any]:
        return {
            "changes": self._earlier + [c.model() for c in self.changes],
            "watching_since": iso(self.watching_since),
            "dropped": self.dropped,
        }

    def _save(self) -> None:
        if self.store is None or self._known is None or self.watching_since is None:
            return
        known = {p: (st.mtime, st.size, st.sha256) for p, st in self._known.items()}
        record = Saved(self.watching_since, known, self.model()["changes"], self.dropped)
        try:
            save(self.store, record)
        except OSError as exc:
            if not self._save_failed:  # once: the watch itself goes on in memory
                self.log.warning("rtc-presence: cannot write %s: %s", self.store, exc)
            self._save_failed = True
