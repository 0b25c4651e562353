"""Command line: ``rtc-presence demo`` (and room for more subcommands)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtc-presence",
        description="rtc-presence: share a running Jupyter server through invite links, "
        "see who is inside, and evict anyone at once.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run a local JupyterHub with rtc-presence and three demo users",
        description="Start a real JupyterHub on this machine (configurable-http-proxy, one "
        "local process per user, sqlite) with rtc-presence, demo users alice, bob and carol "
        "sharing one password. Ctrl-C stops the hub, the proxy and every user server.",
    )
    demo.add_argument("--ip", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".rtc-presence-demo"),
        help="hub database, generated config and the users' homes (.rtc-presence-demo)",
    )
    demo.add_argument("--password", default="demo", help="password of every demo user (demo)")
    demo.add_argument(
        "--public-url",
        default=None,
        help="URL people open, if not http://IP:PORT/ (used in invite links)",
    )
    demo.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="JupyterHub log level (INFO)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import DemoOptions, run_demo

        options = DemoOptions(
            ip=args.ip,
            port=args.port,
            state_dir=args.state_dir,
            password=args.password,
            public_url=args.public_url,
            log_level=args.log_level,
        )
        return run_demo(options)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
