"""Command line: ``rtc-presence demo`` (and room for more subcommands)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._version import __version__
from .demo.options import add_arguments, from_arguments


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
    add_arguments(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo.launcher import run_demo

        return run_demo(from_arguments(args))
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
