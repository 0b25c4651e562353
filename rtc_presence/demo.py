"""``rtc-presence demo``: a real JupyterHub on this machine with the add-on.

The launcher checks what it needs (free port, configurable-http-proxy and node, a writable
state directory), writes ``jupyterhub_config.py`` into the state directory (regenerated at
every start, meant to be read: it is a complete example of a hub configured for
rtc-presence), runs ``python -m jupyterhub -f <that file>`` as a child process, forwards
Ctrl-C / SIGTERM to it and makes sure nothing it started is left running.

Everything the hub writes (sqlite database, cookie secret, pid files, the users' homes)
lives under the state directory, so a second start finds the same users and notebooks.

This module is imported by the hub process itself (for :class:`DemoAuthenticator` and
:func:`prepare_home`), so like :mod:`rtc_presence.hub` it must not import jupyter_server.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from hmac import compare_digest
from pathlib import Path
from typing import IO, Any

__all__ = [
    "DEMO_USERS",
    "DemoError",
    "DemoOptions",
    "find_configurable_http_proxy",
    "kill_marked",
    "preflight",
    "prepare_home",
    "run_demo",
    "write_config",
]

#: The demo users and the ``user_info`` the hub stores for them. JupyterHub 6 passes
#: ``name``, ``display_name``, ``initials``, ``avatar_url`` and ``color`` of ``user_info``
#: to the single-user server's identity (``/api/me``). Colors are left to rtc-presence,
#: which derives the same color for a user in every browser.
DEMO_USERS: dict[str, dict[str, str]] = {
    "alice": {"name": "Alice Martin", "display_name": "Alice Martin", "initials": "AM"},
    "bob": {"name": "Bob Dupont", "display_name": "Bob Dupont", "initials": "BD"},
    "carol": {"name": "Carol Nguyen", "display_name": "Carol Nguyen", "initials": "CN"},
}

DEFAULT_PASSWORD = "demo"
DEFAULT_STATE_DIR = ".rtc-presence-demo"
CONFIG_NAME = "jupyterhub_config.py"
LOG_PREFIX = "rtc-presence demo:"
#: Printed (flushed) once the hub this launcher started answers through the proxy.
READY_LINE = f"{LOG_PREFIX} ready in"
#: Environment variable that marks every process the demo starts (hub, proxy, servers,
#: kernels, terminals inherit it), so that leftovers can be found and stopped precisely.
MARKER_ENV = "RTC_PRESENCE_DEMO"
DEMO_CONTENT = Path(__file__).parent / "demo_content"


class DemoError(Exception):
    """A problem found before starting the hub; the message is meant for the user."""


def _authenticator_class() -> type:
    # Built on first use: importing jupyterhub takes seconds on a busy machine, and the
    # launcher itself (argument checks, clear errors) should answer at once.
    from jupyterhub.auth import Authenticator
    from traitlets import Dict, Unicode

    class DemoAuthenticator(Authenticator):
        """Demo users with one shared password; sets ``user_info`` (display name, initials).

        Not for production: anyone who knows the password can log in as any demo user.
        """

        password = Unicode(DEFAULT_PASSWORD, config=True, help="The password of every demo user.")
        user_infos = Dict(
            config=True,
            help="User name -> user_info dict (name, display_name, initials, avatar_url, color).",
        )

        async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
            username = self.normalize_username(data.get("username", ""))
            password = data.get("password", "")
            if username not in self.user_infos or not self.password:
                return None
            if not compare_digest(password.encode(), self.password.encode()):
                return None
            return {"name": username, "user_info": dict(self.user_infos[username])}

    DemoAuthenticator.__module__ = __name__
    return DemoAuthenticator


def __getattr__(name: str) -> Any:
    """``DemoAuthenticator`` (a JupyterHub ``Authenticator``) is created on first access."""
    if name == "DemoAuthenticator":
        cls = _authenticator_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def prepare_home(spawner: Any) -> None:
    """``pre_spawn_hook``: create the user's home and put the sample notebook in it once."""
    home = Path(spawner.home_dir)
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".rtc-presence-demo-content"
    if not marker.exists():
        for source in sorted(DEMO_CONTENT.glob("*.ipynb")):
            target = home / source.name
            if not target.exists():
                shutil.copyfile(source, target)
        marker.write_text("sample notebooks copied; delete this file to copy them again\n")


@dataclass
class DemoOptions:
    ip: str = "127.0.0.1"
    port: int = 8000
    state_dir: Path = field(default_factory=lambda: Path(DEFAULT_STATE_DIR))
    password: str = DEFAULT_PASSWORD
    public_url: str | None = None
    log_level: str = "INFO"
    #: Seconds to wait for the hub to stop gracefully before killing what is left.
    stop_timeout: float = 25.0

    @property
    def url(self) -> str:
        """The URL people open (``--public-url``, else where the hub listens)."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/"
        return self.local_url

    @property
    def local_url(self) -> str:
        """Where the proxy listens, as seen from this machine."""
        host = self.ip
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"


# ---------------------------------------------------------------- preflight


def find_configurable_http_proxy() -> Path | None:
    """The proxy from this Python's environment (``make setup`` links it there), else PATH."""
    here = Path(sys.executable).parent / "configurable-http-proxy"
    if here.exists():
        return here
    found = shutil.which("configurable-http-proxy")
    return Path(found) if found else None


def _check_port(ip: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Same options as the proxy (node sets SO_REUSEADDR): TIME_WAIT leftovers are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise DemoError(
                    f"port {port} on {ip} is already in use; stop what uses it"
                    f" or choose another port with --port"
                ) from None
            raise DemoError(f"cannot listen on {ip}:{port}: {e.strerror}") from None


def _check_state_dir(state_dir: Path) -> None:
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        probe = state_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise DemoError(
            f"state directory {state_dir} is not writable ({e.strerror or e});"
            " choose another one with --state-dir"
        ) from None


def _check_proxy() -> Path:
    chp = find_configurable_http_proxy()
    hint = (
        "install it with `make setup` (or `npm install --prefix .venv/chp"
        " configurable-http-proxy@^4.6` and link .venv/chp/node_modules/.bin/"
        "configurable-http-proxy into .venv/bin)"
    )
    if chp is None:
        raise DemoError(f"configurable-http-proxy not found; {hint}")
    if shutil.which("node") is None:
        raise DemoError(
            "node (Node.js) not found on PATH; configurable-http-proxy needs it."
            " Install Node.js 18 or later (e.g. `apt-get install nodejs`)"
        )
    try:
        subprocess.run(
            [str(chp), "--version"],
            check=True,
            capture_output=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise DemoError(f"configurable-http-proxy at {chp} does not run ({e}); {hint}") from None
    return chp


def preflight(options: DemoOptions) -> Path:
    """Check everything the hub needs before starting it; return the proxy's path."""
    if not 0 < options.port < 65536:
        raise DemoError(f"invalid port {options.port}")
    if not options.password:
        raise DemoError("the password must not be empty")
    _check_state_dir(options.state_dir)
    _check_port(options.ip, options.port)
    return _check_proxy()


def _free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- config file


def write_config(
    options: DemoOptions, chp: Path, marker: str, *, hub_port: int, proxy_api_port: int
) -> Path:
    """Write ``jupyterhub_config.py`` into the state directory and return its path."""
    state = options.state_dir.resolve()
    bin_dir = Path(sys.executable).parent
    singleuser = bin_dir / "jupyterhub-singleuser"
    args = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
    path_env = os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)])
    environment = {"PATH": path_env, MARKER_ENV: marker}
    r = repr
    users = "\n".join(f"    {r(name)}: {r(info)}," for name, info in DEMO_USERS.items())
    text = f"""\
# JupyterHub configuration written by `rtc-presence demo` (regenerated at every start).
# A complete, local, single-machine example of a hub with rtc-presence; NOT for production
# (shared password, no isolation between users: every server runs as {r(_whoami())}).
import rtc_presence.hub
from rtc_presence.demo import DemoAuthenticator, prepare_home

c = get_config()  # noqa: F821

# Where the hub listens, and the URL it gives out (share links use it: full_accept_url).
c.JupyterHub.ip = {r(options.ip)}
c.JupyterHub.port = {options.port}
c.JupyterHub.public_url = {r(options.url)}
# The hub's internal API and the proxy's API: loopback only, free ports picked at start.
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{r(str(chp))}]
c.ConfigurableHTTPProxy.pid_file = {r(str(state / "jupyterhub-proxy.pid"))}

# All state in the state directory.
c.JupyterHub.db_url = {r("sqlite:///" + str(state / "jupyterhub.sqlite"))}
c.JupyterHub.cookie_secret_file = {r(str(state / "jupyterhub_cookie_secret"))}
c.JupyterHub.pid_file = {r(str(state / "jupyterhub.pid"))}

# Stopping the hub stops the proxy and every user server.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Demo users with display names and initials (user_info), one shared password.
c.JupyterHub.authenticator_class = DemoAuthenticator
c.DemoAuthenticator.user_infos = {{
{users}
}}
c.DemoAuthenticator.password = {r(options.password)}
c.Authenticator.allowed_users = {{{", ".join(r(u) for u in DEMO_USERS)}}}

# One local process per user, home folders under the state directory.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {r(str(state / "home" / "{username}"))}
c.Spawner.cmd = [{r(str(singleuser))}]
c.Spawner.args = {r(args)}
c.Spawner.default_url = "/lab"
c.Spawner.environment = {r(environment)}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
# SIGINT, then SIGTERM: do not wait 10 s for each server on shutdown.
c.LocalProcessSpawner.interrupt_timeout = 5
c.LocalProcessSpawner.term_timeout = 3
c.Spawner.pre_spawn_hook = prepare_home

# rtc-presence: users may share their own server; the owner's browser token may manage
# sharing; every share and invite link is revoked when a server stops or starts.
rtc_presence.hub.configure(c)
"""
    config_path = state / CONFIG_NAME
    tmp = config_path.with_suffix(".tmp")
    # The file holds the demo password: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, config_path)
    return config_path


def _whoami() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):  # pragma: no cover
        return str(os.geteuid())


# ---------------------------------------------------------------- processes


def _marked_pids(prefix: str) -> list[int]:
    """Processes whose environment has ``RTC_PRESENCE_DEMO`` starting with ``prefix``."""
    needle = f"{MARKER_ENV}={prefix}".encode()
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(var.startswith(needle) for var in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_marked(prefix: str, *, grace: float = 3.0) -> list[int]:
    """SIGTERM, then SIGKILL, every process marked with ``prefix``; return their pids."""
    pids = _marked_pids(prefix)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    return pids


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
        _check_state_dir(options.state_dir)
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
    hub_port, proxy_api_port = _free_port(), _free_port()
    config = write_config(options, chp, marker, hub_port=hub_port, proxy_api_port=proxy_api_port)
    hub_api = f"http://127.0.0.1:{hub_port}/"

    env = dict(os.environ)
    env[MARKER_ENV] = marker
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])
    package_parent = str(Path(__file__).resolve().parent.parent)
    if _needs_pythonpath(package_parent):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)

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


def _needs_pythonpath(package_parent: str) -> bool:
    """Is this package outside the interpreter's site directories (a source checkout)?"""
    import site

    dirs = [*site.getsitepackages(), site.getusersitepackages()]
    return all(Path(d).resolve() != Path(package_parent) for d in dirs)
