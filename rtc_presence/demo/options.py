"""What a demo run is asked for: :class:`DemoOptions` and the ``rtc-presence demo``
command-line arguments that fill it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from .hubside import DEFAULT_PASSWORD, MAX_STUDENTS

__all__ = ["DEFAULT_STATE_DIR", "LOG_LEVELS", "DemoOptions", "add_arguments", "from_arguments"]

DEFAULT_STATE_DIR = ".rtc-presence-demo"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass
class DemoOptions:
    ip: str = "127.0.0.1"
    port: int = 8000
    state_dir: Path = field(default_factory=lambda: Path(DEFAULT_STATE_DIR))
    password: str = DEFAULT_PASSWORD
    public_url: str | None = None
    log_level: str = "INFO"
    #: Extra users ``student1``... ``studentN`` (a class), besides alice, bob and carol.
    students: int = 0
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``rtc-presence demo``, with the defaults of :class:`DemoOptions`."""
    defaults = DemoOptions()
    parser.add_argument("--ip", default=defaults.ip, help=f"address to listen on ({defaults.ip})")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help=f"port to listen on ({defaults.port})"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=defaults.state_dir,
        help=f"hub database, generated config and the users' homes ({defaults.state_dir})",
    )
    parser.add_argument(
        "--password",
        default=defaults.password,
        help=f"password of every demo user ({defaults.password})",
    )
    parser.add_argument(
        "--public-url",
        default=None,
        help="URL people open, if not http://IP:PORT/ (used in invite links)",
    )
    parser.add_argument(
        "--log-level",
        default=defaults.log_level,
        choices=LOG_LEVELS,
        help=f"JupyterHub log level ({defaults.log_level})",
    )
    parser.add_argument(
        "--students",
        type=_students,
        default=defaults.students,
        metavar="N",
        help=f"also create users student1 ... studentN, a class to share with (0-{MAX_STUDENTS})",
    )


def _students(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= n <= MAX_STUDENTS:
        raise argparse.ArgumentTypeError(f"between 0 and {MAX_STUDENTS}, not {n}")
    return n


def from_arguments(args: argparse.Namespace) -> DemoOptions:
    """The options parsed by a parser that :func:`add_arguments` set up."""
    return DemoOptions(
        ip=args.ip,
        port=args.port,
        state_dir=args.state_dir,
        password=args.password,
        public_url=args.public_url,
        log_level=args.log_level,
        students=args.students,
    )
