"""The SQLite journal of the rooms' YStore: a write-ahead log where the disk is local.

jupyter-collaboration's ``SQLiteYStore`` keeps SQLite's defaults: a rollback
journal that is created, synced and deleted on every commit
(``synchronous=FULL``). The writer (:mod:`rtc_presence.ywriter`) commits once
per batch of typing, and at 10 keys/s that commit cost ~0.5 ms of CPU per
keystroke on a local ext4 disk (bench/README.md), a tenth of the server's CPU
in a room of ten. In WAL mode with ``synchronous=NORMAL`` a commit is an
append to the ``-wal`` file (~0.06 ms). A commit survives the server process
being killed (what crash recovery is about). After a power loss the database
is still consistent, but the last commits may be lost (SQLite's "Write-Ahead
Logging" page).

WAL keeps its index in shared memory (an mmapped ``-shm`` file) and does not
work on network filesystems. Home directories on JupyterHub are often NFS, so
``"auto"`` switches only when the database's filesystem is known to be local
(``/proc/self/mountinfo``). ``"wal"`` always switches, and ``"keep"`` leaves
the store as upstream opens it. jupyter_server_fileid makes the same choice
for its own database: ``LocalFileIdManager.db_journal_mode`` defaults to WAL.
"""

from __future__ import annotations

import os
import sqlite3
from functools import lru_cache
from logging import Logger

#: ``c.RTCPresence.ystore_journal`` values.
SETTINGS = ("auto", "wal", "keep")

#: Filesystem types (mountinfo's field after " - ") that are shared over a
#: network or implemented in user space, where SQLite's WAL is not safe.
NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "afs",
        "9p",
        "virtiofs",
        "ncpfs",
        "davfs",
    }
)

MOUNTINFO = "/proc/self/mountinfo"


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def filesystem_type(path: str, mountinfo: str) -> str | None:
    """The type of the filesystem holding ``path`` (absolute, resolved), from the
    text of a ``/proc/<pid>/mountinfo``: that of the deepest mount point above it."""
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields, sep, rest = line.partition(" - ")
        parts = fields.split()
        if not sep or len(parts) < 5 or not rest.split():
            continue
        point = _unescape(parts[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):
            best = (len(point), rest.split()[0])
    return best[1] if best else None


def is_local(fstype: str | None) -> bool:
    """Whether SQLite's WAL is safe on a filesystem of that type (False if unknown)."""
    if fstype is None:
        return False
    return fstype not in NETWORK_FS and not fstype.startswith("fuse")


@lru_cache(maxsize=64)
def _local_database(db_path: str) -> bool:
    try:
        with open(MOUNTINFO) as f:
            mountinfo = f.read()
    except OSError:
        return False  # not Linux, or no /proc: do not guess
    directory = os.path.dirname(os.path.realpath(db_path))
    return is_local(filesystem_type(directory, mountinfo))


def wants_wal(setting: str, db_path: str) -> bool:
    """Whether the store at ``db_path`` should be switched to WAL."""
    if setting == "keep" or db_path == ":memory:" or db_path.startswith("file:"):
        return False
    return setting == "wal" or _local_database(db_path)


def use_wal(conn: sqlite3.Connection, log: Logger) -> bool:
    """Switch the connection's database to WAL and this connection to
    ``synchronous=NORMAL``; False (and logged) when SQLite refused.

    ``synchronous=NORMAL`` is set only once WAL is confirmed: with a rollback
    journal it would risk corruption on power loss.
    """
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    except sqlite3.Error as exc:  # locked by another connection for 5 s, read-only...
        log.warning("rtc-presence: YStore kept its journal (WAL refused: %r)", exc)
        return False
    if not mode or str(mode[0]).lower() != "wal":
        log.warning("rtc-presence: YStore kept its journal (%r, WAL refused)", mode)
        return False
    conn.execute("PRAGMA synchronous = NORMAL")
    return True
