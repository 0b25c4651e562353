"""The YStore's SQLite journal: WAL on a local disk, upstream's journal on a network
one (rtc_presence.ystorejournal). The kill -9 test of a server running in WAL is
``tests/reliability/test_reliability_faults.py::test_kill9_mid_edit_then_restart_keeps_saved_work``.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from rtc_presence import ystorejournal
from rtc_presence.ystorejournal import filesystem_type, is_local, use_wal, wants_wal

# A container's /proc/self/mountinfo: an overlay root, a tmpfs, an NFS home, a
# CIFS share under it, a mount point with a space (written \040), a FUSE mount.
MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
23 22 0:22 / /tmp rw,nosuid - tmpfs tmpfs rw
24 22 0:40 /export/home /home rw,relatime shared:5 - nfs4 fs:/export/home rw,vers=4.2
25 24 0:41 / /home/alice/share rw - cifs //nas/share rw
26 22 8:1 / /data/my\\040disk rw - ext4 /dev/sda1 rw
27 22 0:50 / /mnt/bucket rw - fuse.s3fs s3fs rw
garbage line without the separator
"""


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/", "overlay"),
        ("/srv/notebooks", "overlay"),
        ("/tmp", "tmpfs"),
        ("/tmp/x/y", "tmpfs"),
        ("/tmpfoo", "overlay"),  # a prefix of the name is not a parent directory
        ("/home/alice", "nfs4"),
        ("/home/alice/share/b", "cifs"),  # the deepest mount point wins
        ("/data/my disk/n", "ext4"),
        ("/mnt/bucket/nb", "fuse.s3fs"),
    ],
)
def test_the_deepest_mount_point_names_the_filesystem(path: str, fstype: str) -> None:
    assert filesystem_type(path, MOUNTINFO) == fstype


def test_only_local_filesystems_get_wal() -> None:
    for fstype in ("ext4", "xfs", "btrfs", "zfs", "overlay", "tmpfs"):
        assert is_local(fstype), fstype
    for fstype in ("nfs", "nfs4", "cifs", "fuse.s3fs", "fuse.sshfs", "ceph", "lustre", None):
        assert not is_local(fstype), fstype


def test_the_setting_decides_and_auto_reads_this_machines_mounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "ystore.db")
    assert not wants_wal("keep", db)
    assert not wants_wal("wal", ":memory:")
    assert wants_wal("wal", db)
    # pytest's temporary directory is on a local disk on these machines
    assert wants_wal("auto", db), filesystem_type(
        str(tmp_path), Path("/proc/self/mountinfo").read_text()
    )
    # the same directory seen on an NFS mount keeps upstream's journal
    nfs = tmp_path / "nfs-mountinfo"
    nfs.write_text(f"30 1 0:60 / {tmp_path} rw - nfs4 srv:/x rw\n")
    monkeypatch.setattr(ystorejournal, "MOUNTINFO", str(nfs))
    ystorejournal._local_database.cache_clear()
    try:
        assert not wants_wal("auto", str(tmp_path / "other.db"))
        assert wants_wal("wal", str(tmp_path / "other.db"))
        # no /proc (another OS): do not guess
        monkeypatch.setattr(ystorejournal, "MOUNTINFO", str(tmp_path / "missing"))
        ystorejournal._local_database.cache_clear()
        assert not wants_wal("auto", str(tmp_path / "third.db"))
    finally:
        ystorejournal._local_database.cache_clear()


def test_use_wal_switches_or_says_why_not(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test-ystorejournal")
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    assert use_wal(conn, log)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    # a second connection (a restarted server) finds the data and the mode
    other = sqlite3.connect(tmp_path / "a.db")
    assert other.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    conn.close()

    # Inside a transaction SQLite refuses: logged, and the journal is unchanged.
    busy = sqlite3.connect(tmp_path / "b.db")
    busy.execute("CREATE TABLE t (x)")
    busy.commit()
    busy.execute("INSERT INTO t VALUES (1)")  # opens a transaction
    with caplog.at_level(logging.WARNING, "test-ystorejournal"):
        assert not use_wal(busy, log)
    assert "kept its journal" in caplog.text
    busy.rollback()
    assert busy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert busy.execute("PRAGMA synchronous").fetchone()[0] == 2  # still FULL
    busy.close()
