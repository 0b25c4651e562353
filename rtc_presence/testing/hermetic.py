"""Keep tests, and the servers they start, out of the real home directory.

Jupyter, IPython and every XDG program find their per-user files through a
handful of environment variables and ``$HOME``. :func:`isolated_environ` gives
a copy of an environment whose per-user directories are all under one
directory; :class:`HomeSnapshot` records what a home holds where Jupyter-ish
programs write (``~/.jupyter``, ``~/.local/share/jupyter``, ``~/.ipython``,
``~/.cache`` ...) so that a test session can prove it left the real one alone.
Used by :mod:`rtc_presence.pytest_hermetic` and
:class:`rtc_presence.testing.server.JupyterServerProcess`; imports no pytest.
``python -m rtc_presence.testing.hermetic COMMAND...`` runs a command (the UI
tests) the same way: in a temporary home, failing if the real one changed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Where, under a home, Jupyter, IPython and the programs they start keep files,
#: and how deep a snapshot looks (None: everything). ``~/.cache`` only one level
#: down, and only for entries created or removed: enough to see a cache created
#: there, not the churn of other programs' caches (Chromium rewrites
#: ``~/.cache/dconf/user`` whenever any Chromium on the machine starts).
GUARDED: tuple[tuple[str, int | None], ...] = (
    (".jupyter", None),
    (".ipython", None),
    (".local/share/jupyter", None),
    (".local/state/jupyter", None),
    (".config/jupyter", None),
    (".cache", 1),
)

#: Search paths a user may add to Jupyter's (they may point into their home);
#: an isolated environment drops them.
DROPPED = ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_NO_CONFIG", "JUPYTER_PREFER_ENV_PATH")

#: Entries a snapshot records at most per guarded directory (a big ``~/.cache``
#: must not make every session slow); beyond it only directories are recorded,
#: whose mtimes still change when an entry is added or removed.
MAX_ENTRIES = 50_000


def isolated_dirs(base: Path) -> dict[str, Path]:
    """Variable -> directory under ``base`` for every per-user directory we redirect."""
    home = base / "home"
    return {
        "HOME": home,
        "XDG_CONFIG_HOME": home / ".config",
        "XDG_DATA_HOME": home / ".local" / "share",
        "XDG_STATE_HOME": home / ".local" / "state",
        "XDG_CACHE_HOME": home / ".cache",
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "IPYTHONDIR": base / "ipython",
    }


def isolated_environ(base: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) whose home, Jupyter config, data and
    runtime directories, IPython directory and XDG directories are all under ``base``
    (created here; the runtime directory private, as Jupyter wants it)."""
    out = {k: v for k, v in (os.environ if env is None else env).items() if k not in DROPPED}
    for name, path in isolated_dirs(base).items():
        path.mkdir(parents=True, exist_ok=True)
        out[name] = str(path)
    (base / "runtime").chmod(0o700)
    return out


def real_homes(env: Mapping[str, str] | None = None) -> list[Path]:
    """The homes a process may reach for: ``$HOME`` and the password database's entry
    (what ``~`` means to a child started without ``HOME``)."""
    env = os.environ if env is None else env
    found: list[Path] = []
    candidates = [env.get("HOME")]
    # A uid without an entry (some containers) has no such home.
    with contextlib.suppress(KeyError):
        candidates.append(pwd.getpwuid(os.getuid()).pw_dir)
    for candidate in candidates:
        if candidate:
            path = Path(candidate).resolve()
            if path not in found:
                found.append(path)
    return found


#: One entry of a snapshot: "d" or "f" (anything not a directory), mtime in ns, size.
Entry = tuple[str, int, int]


def _scan(root: Path, depth: int | None = None, limit: int = MAX_ENTRIES) -> dict[str, Entry]:
    """Relative path -> entry for ``root`` and what is below, ``depth`` levels down at
    most (None: all); no symlink followed."""
    entries: dict[str, Entry] = {}
    try:
        st = root.lstat()
    except OSError:
        return entries
    is_dir = root.is_dir() and not root.is_symlink()
    entries["."] = ("d" if is_dir else "f", st.st_mtime_ns, 0)
    stack = [(root, 0)] if is_dir else []
    while stack:
        directory, level = stack.pop()
        if depth is not None and level >= depth:
            continue
        try:
            with os.scandir(directory) as it:
                children = list(it)
        except OSError:
            continue
        for child in children:
            try:
                child_is_dir = child.is_dir(follow_symlinks=False)
                if not child_is_dir and len(entries) >= limit:
                    continue
                cst = child.stat(follow_symlinks=False)
            except OSError:
                continue
            rel = os.path.relpath(child.path, root)
            size = 0 if child_is_dir else cst.st_size
            entries[rel] = ("d" if child_is_dir else "f", cst.st_mtime_ns, size)
            if child_is_dir:
                stack.append((Path(child.path), level + 1))
    return entries


@dataclass
class HomeSnapshot:
    """What the guarded directories of some homes hold, to compare with later."""

    homes: list[Path]
    guarded: tuple[tuple[str, int | None], ...] = GUARDED
    entries: dict[Path, dict[str, Entry]] = field(default_factory=dict)

    @classmethod
    def take(
        cls, homes: Iterable[Path], guarded: tuple[tuple[str, int | None], ...] = GUARDED
    ) -> HomeSnapshot:
        snap = cls(list(homes), guarded)
        for home in snap.homes:
            for name, depth in guarded:
                snap.entries[home / name] = _scan(home / name, depth)
        return snap

    def changes(self) -> list[str]:
        """What was created, removed or modified in the guarded directories since."""
        now = HomeSnapshot.take(self.homes, self.guarded)
        found: list[str] = []
        depths = {home / name: depth for home in self.homes for name, depth in self.guarded}
        for root, before in self.entries.items():
            after = now.entries[root]
            names_only = depths.get(root) is not None
            for rel in sorted(before.keys() | after.keys()):
                path = root if rel == "." else root / rel
                if rel not in before:
                    found.append(f"created {path}")
                elif rel not in after:
                    found.append(f"removed {path}")
                elif before[rel] != after[rel] and not names_only:
                    found.append(f"modified {path}")
        return found


def run_isolated(command: list[str]) -> int:
    """Run ``command`` in an :func:`isolated_environ` of a fresh temporary directory
    (removed afterwards); its exit code, or 1 if the real home changed meanwhile."""
    snapshot = HomeSnapshot.take(real_homes())
    with tempfile.TemporaryDirectory(prefix="rtc-presence-home-") as base:
        env = isolated_environ(Path(base))
        proc = subprocess.Popen(command, env=env)
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                # The child got the terminal's Ctrl-C too: let it stop in order.
                continue
    changes = snapshot.changes()
    if changes:
        print("rtc-presence: the command wrote to the real home:", file=sys.stderr)
        for change in changes[:30]:
            print(f"  {change}", file=sys.stderr)
        return code or 1
    return code


def main(argv: list[str] | None = None) -> int:
    """``python -m rtc_presence.testing.hermetic COMMAND...`` (the Makefile's UI tests)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m rtc_presence.testing.hermetic COMMAND [ARG...]", file=sys.stderr)
        return 2
    return run_isolated(args)


if __name__ == "__main__":
    sys.exit(main())
