"""``rtc-presence demo``'s launcher: run the hub as a child process and stop all it started.

It checks what it needs (:mod:`.preflight`), writes the hub's config (:mod:`.template`),
runs ``python -m jupyterhub -f <that file>`` in its own session, forwards Ctrl-C /
SIGTERM to it, and makes sure nothing it started is left running (:mod:`.processes`).
One launcher per state directory (a lock file); leftovers of a killed launcher are
stopped before the port is checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .hubside import DEMO_USERS
from .options import DemoOptions
from .preflight import DemoError, check_state_dir, preflight
from .processes import child_environment, free_port, kill_marked
from .template import CONFIG_NAME, write_config

__all__ = ["LOG_PREFIX", "READY_LINE", "run_demo"]

LOG_PREFIX = "rtc-presence demo:"
#: Printed (flushed) once the hub this launcher started answers through the proxy.
READY_LINE = f"{LOG_PREFIX} ready in"


def _hub_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "hub/api/", timeout=2) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def _state_lock(state_dir: Path) -> Iterator[None]:
    lock_path = state_dir / "demo.lock"
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            raise DemoError(
                f"another rtc-presence demo (pid {holder}) is using {state_dir};"
                " stop it first or choose another --state-dir"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)


def _print_banner(options: DemoOptions, out: IO[str]) -> None:
    users = ", ".join(f"{name} ({info['display_name']})" for name, info in DEMO_USERS.items())
    if options.students:
        users += f", student1 ... student{options.students}"
    print(
        f"{LOG_PREFIX} starting JupyterHub with rtc-presence\n"
        f"  open      {options.url}\n"
        f"  users     {users}\n"
        f"  password  {options.password}\n"
        f"  state     {options.state_dir.resolve()} (config: {CONFIG_NAME})\n"
        f"  stop      Ctrl-C (stops the hub, the proxy and every user server)",
        file=out,
        flush=True,
    )


def run_demo(options: DemoOptions, out: IO[str] | None = None) -> int:
    """Run the demo hub until it exits or is interrupted; return its exit code."""
    out = out or sys.stdout
    try:
        check_state_dir(options.state_dir)
        with _state_lock(options.state_dir):
            # The lock is free, so no demo runs on this state directory: whatever still
            # carries its mark (a hub whose launcher was killed, its proxy, servers,
            # kernels) is a leftover that would hold the port. Stop it first.
            state = options.state_dir.resolve()
            leftovers = kill_marked(f"{state}:")
            if leftovers:
                print(
                    f"{LOG_PREFIX} stopped {len(leftovers)} leftover process(es) of an earlier run",
                    file=out,
                    flush=True,
                )
            chp = preflight(options)
            return _run_locked(options, chp, out)
    except DemoError as e:
        print(f"{LOG_PREFIX} error: {e}", file=sys.stderr, flush=True)
        return 2


def _run_locked(options: DemoOptions, chp: Path, out: IO[str]) -> int:
    state = options.state_dir.resolve()
    prefix = f"{state}:"
    marker = f"{prefix}{uuid.uuid4().hex}"
    hub_port, proxy_api_port = free_port(), free_port()
    config = write_config(options, chp, marker, hub_port=hub_port, proxy_api_port=proxy_api_port)
    hub_api = f"http://127.0.0.1:{hub_port}/"

    env = child_environment(marker=marker)

    _print_banner(options, out)
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterhub",
            "-f",
            str(config),
            f"--log-level={options.log_level}",
        ],
        cwd=state,
        env=env,
        stdin=subprocess.DEVNULL,
        # Own session: the terminal's Ctrl-C reaches us only, and we stop the hub in order
        # (servers, proxy, then the hub) instead of everything dying at once.
        start_new_session=True,
    )
    stop_requests = 0
    stop_deadline: float | None = None

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stop_requests, stop_deadline
        stop_requests += 1
        if stop_requests == 1:
            print(f"\n{LOG_PREFIX} stopping (servers, proxy, hub)...", file=out, flush=True)
            stop_deadline = time.monotonic() + options.stop_timeout
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        else:
            print(f"{LOG_PREFIX} forcing stop", file=out, flush=True)
            stop_deadline = time.monotonic()

    previous = {
        s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    ready = False
    try:
        while proc.poll() is None:
            if stop_deadline is not None and time.monotonic() >= stop_deadline:
                break
            # The hub's own port first (polling the proxy before it has the hub's route
            # makes it log errors), then the public URL.
            if (
                not ready
                and stop_requests == 0
                and _hub_ready(hub_api)
                and _hub_ready(options.local_url)
            ):
                ready = True
                elapsed = time.monotonic() - started
                print(
                    f"{READY_LINE} {elapsed:.1f} s: open {options.url}"
                    f" and log in as alice, bob or carol (password {options.password!r})",
                    file=out,
                    flush=True,
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2 if not ready else 1.0)
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stray = kill_marked(marker)
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stray:
        print(f"{LOG_PREFIX} stopped {len(stray)} process(es) left behind", file=out, flush=True)
    code = proc.returncode
    if stop_requests:
        print(f"{LOG_PREFIX} stopped", file=out, flush=True)
        return 0 if code in (0, -signal.SIGTERM, -signal.SIGKILL) else code
    return code if code >= 0 else 128 - code
