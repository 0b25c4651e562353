"""A pytest plugin that keeps the whole test session out of the real home.

List it first: ``pytest_plugins = ["rtc_presence.pytest_hermetic", ...]``.

* Before collection (``pytest_configure``), ``HOME``, the XDG directories,
  ``JUPYTER_CONFIG_DIR`` / ``JUPYTER_DATA_DIR`` / ``JUPYTER_RUNTIME_DIR`` and
  ``IPYTHONDIR`` point into a fresh temporary directory, for this process and
  every subprocess it starts. Collection matters: jupyter_server_fileid
  computes its default database path (``jupyter_data_dir()/file_id_manager.db``)
  when first imported, and a test module may import it (found on a fresh
  machine, where ``~/.local/share/jupyter`` did not exist: issue 11).
* The session-scoped autouse fixture ``rtc_hermetic_home`` (the temporary home)
  fails the session if anything created, removed or modified a file in the
  real home's ``.jupyter``, ``.ipython``, ``.local/share/jupyter``,
  ``.config/jupyter`` or ``.cache`` (two levels down) meanwhile (for ``$HOME`` and the password
  database's home, where a child started without ``HOME`` looks).

pytest-jupyter's ``jp_environ`` still gives each in-process server its own
home, config, data and runtime directories in ``tmp_path`` on top of this.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .testing.hermetic import DROPPED, HomeSnapshot, isolated_environ, real_homes


@dataclass
class _Session:
    base: Path
    home: Path
    saved: dict[str, str | None]
    snapshot: HomeSnapshot


_KEY = pytest.StashKey[_Session]()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    snapshot = HomeSnapshot.take(real_homes())
    base = Path(tempfile.mkdtemp(prefix="rtc-presence-home-"))
    env = isolated_environ(base)
    names = {*DROPPED, *(k for k in env if os.environ.get(k) != env[k])}
    saved = {name: os.environ.get(name) for name in names}
    for name in DROPPED:
        os.environ.pop(name, None)
    os.environ.update({k: env[k] for k in names if k in env})
    config.stash[_KEY] = _Session(base, Path(env["HOME"]), saved, snapshot)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_KEY, None)
    if session is None:
        return
    for name, value in session.saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(session.base, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def rtc_hermetic_home(request: pytest.FixtureRequest) -> Iterator[Path]:
    """The session's temporary home; fails the session if the real one was touched."""
    session = request.config.stash[_KEY]
    yield session.home
    changes = session.snapshot.changes()
    if changes:
        shown = "\n  ".join(changes[:30])
        more = f"\n  ... and {len(changes) - 30} more" if len(changes) > 30 else ""
        homes = ", ".join(map(str, session.snapshot.homes))
        pytest.fail(
            f"the test session wrote to the real home ({homes}),"
            f" not to its temporary one ({session.home}):\n  {shown}{more}\n"
            "Give whatever wrote there a directory under tmp_path (or an environment from"
            " rtc_presence.testing.hermetic.isolated_environ). Another program on this machine"
            " writing there at the same time also trips this check.",
            pytrace=False,
        )
