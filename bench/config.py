"""The run's configuration: command line -> :class:`Config` (saved in the run record)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from .contenders import DEFAULT, KINDS

HERE = Path(__file__).resolve().parent


@dataclass
class Config:
    quick: bool
    ns: list[int]
    #: (label, kind) of every contender; ratios are ``subject`` / each other one
    contenders: list[tuple[str, str]]
    subject: str
    name: str
    #: one writer types ``keys_per_second`` (an edit and a cursor move per key) for
    #: ``follow_seconds[n]`` per contender, in ``follow_blocks`` alternating blocks
    follow_seconds: dict[int, float]
    follow_blocks: int
    keys_per_second: float
    #: every viewer renews its awareness state once per period (y-protocols: 15 s)
    renew_period: float
    storm_writers: int
    storm_seconds: float
    storm_blocks: int
    #: all N joins spread evenly over this window (a class opening the link)
    join_window: float
    #: repetitions of all N joining at the same instant (alternating contenders)
    burst_reps: dict[int, int]
    #: repetitions of the spread-out join (alternating contenders), pooled
    wave_reps: dict[int, int]
    drain_seconds: float
    settle_seconds: float
    fresh_servers_per_n: bool
    crash: bool
    crash_cap: float
    crash_observers: int
    awareness_timeout: float
    apply_updates: bool = False
    profile: bool = False
    profile_dir: str = ""
    notes: list[str] = field(default_factory=list)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="classroom-scale benchmark: rtc-presence against stock "
        "jupyter-collaboration + TCP_NODELAY, bare pycrdt-websocket and Node's "
        "y-websocket server, interleaved in one run",
    )
    p.add_argument("--quick", action="store_true", help="N=10,100, short phases (< 2 min)")
    p.add_argument("--stretch", action="store_true", help="add N=500 to the full run")
    p.add_argument("--out", default=str(HERE / "results"), help="output directory")
    p.add_argument("--ns", default="", help="comma-separated client counts (override)")
    p.add_argument(
        "--contenders",
        default=",".join(DEFAULT),
        help=f"comma-separated, from {', '.join(KINDS)} (default: %(default)s)",
    )
    p.add_argument("--aa", action="store_true", help="stock-nodelay vs itself (harness noise)")
    p.add_argument("--no-crash", action="store_true", help="skip the crashed-client test")
    p.add_argument(
        "--apply-updates",
        action="store_true",
        help="receiving clients apply every update to their Doc (heavier clients)",
    )
    p.add_argument("--name", default="", help="output file stem (default latest / aa)")
    p.add_argument("--keep-logs", action="store_true", help="keep the servers' dirs and logs")
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the Jupyter servers during the follow and storm phases "
        "(a profiled run's figures are not comparable; writes <name>-profile.md)",
    )
    return p


def make_config(args: argparse.Namespace) -> Config:
    quick = bool(args.quick)
    if args.ns:
        ns = [int(x) for x in args.ns.split(",")]
    else:
        ns = [10, 100] if quick else [10, 100, 300] + ([500] if args.stretch else [])
    if args.aa:
        contenders = [("stock-nodelay", "stock-nodelay"), ("stock-nodelay-B", "stock-nodelay")]
        subject = "stock-nodelay-B"
    else:
        kinds = [k.strip() for k in args.contenders.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise SystemExit(f"unknown contender(s) {unknown}; choose from {', '.join(KINDS)}")
        contenders = [(k, k) for k in kinds]
        subject = "rtc-presence" if "rtc-presence" in kinds else kinds[-1]

    def follow_for(n: int) -> float:
        if quick:
            return 3.0
        # 200 keystrokes: every receiver shares a keystroke's delay, so a p99 is
        # decided by the two slowest; longer would break the 15 min budget.
        return 20.0

    return Config(
        quick=quick,
        ns=ns,
        contenders=contenders,
        subject=subject,
        name=args.name or ("aa" if args.aa else ("quick" if quick else "latest")),
        follow_seconds={n: follow_for(n) for n in ns},
        follow_blocks=1 if quick else 2,
        keys_per_second=10.0,
        renew_period=15.0,
        storm_writers=10,
        storm_seconds=1.5 if quick else 5.0,
        storm_blocks=1 if quick else 2,
        join_window=2.0 if quick else 5.0,
        burst_reps={n: 1 if quick else 3 for n in ns},
        # 3 where a p99 of one wave is its 3 slowest joins; 2 below (20 or 200 joins)
        # keep the full run inside 15 min.
        wave_reps={n: 1 if quick else (2 if n <= 100 else 3) for n in ns},
        drain_seconds=0.5 if quick else 1.5,
        settle_seconds=0.3 if quick else 1.0,
        fresh_servers_per_n=not quick,
        crash=not args.no_crash and not quick,
        crash_cap=40.0,
        crash_observers=8,
        awareness_timeout=30.0,
        apply_updates=bool(args.apply_updates),
    )
