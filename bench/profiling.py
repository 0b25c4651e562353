"""py-spy sampling of the Jupyter servers during benchmark phases.

``python -m bench --profile ...`` records each Jupyter server with
``py-spy record --format raw --nonblocking --gil`` during every follow and storm
block, then reduces the collapsed stacks to the frames that take the most samples
(self time, inclusive time) and to the share of samples by package (where the leaf
frame is), with rtc-presence's own code apart (self, and inclusive: any frame of it
on the stack).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .room import Room


def py_spy() -> str | None:
    exe = Path(sys.executable).parent / "py-spy"
    if exe.exists():
        return str(exe)
    return shutil.which("py-spy")


class Recorder:
    """Start py-spy on a pid for ``seconds``; ``wait()`` collects the raw file."""

    def __init__(self, pid: int, seconds: float, out: Path, rate: int = 250) -> None:
        self.out = out
        exe = py_spy()
        self.proc: subprocess.Popen[bytes] | None = None
        if exe is None:
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, round(seconds))),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--nonblocking",
                "--gil",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait(self, timeout: float = 30) -> Path | None:
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        return self.out if self.out.exists() else None


def _frames(stack: str) -> list[str]:
    return [f for f in stack.split(";") if f]


def _short(frame: str) -> str:
    # "func (path/to/module.py:123)" -> keep as is but trim long paths
    return frame.replace("site-packages/", "")


def top_frames(raw_files: list[Path], limit: int = 25) -> dict[str, list[tuple[str, float]]]:
    """Self and inclusive sample shares from py-spy raw (collapsed) files."""
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = 0
    for path in raw_files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_s = line.rpartition(" ")
            try:
                count = int(count_s)
            except ValueError:
                continue
            frames = _frames(stack)
            if not frames:
                continue
            total += count
            self_counts[_short(frames[-1])] += count
            for frame in set(frames):
                incl_counts[_short(frame)] += count
    if total == 0:
        return {"self": [], "inclusive": [], "samples": []}
    # Frames on (nearly) every stack - the event loop, tornado's start - say nothing.
    inclusive = [(f, c / total) for f, c in incl_counts.most_common() if c / total < 0.6]
    return {
        "samples": [("total", float(total))],
        "self": [(f, c / total) for f, c in self_counts.most_common(limit)],
        "inclusive": inclusive[: limit * 2],
    }


def render(title: str, frames: dict[str, list[tuple[str, float]]]) -> str:
    lines = [f"### {title}", ""]
    samples = frames.get("samples") or [("total", 0.0)]
    lines.append(f"{int(samples[0][1])} samples (py-spy --gil: only while holding the GIL)")
    lines.append("")
    lines.append("Top self time:")
    lines.append("")
    lines.append("```")
    for frame, share in frames.get("self", []):
        lines.append(f"{100 * share:5.1f}%  {frame}")
    lines.append("```")
    lines.append("")
    lines.append("Top inclusive time:")
    lines.append("")
    lines.append("```")
    for frame, share in frames.get("inclusive", []):
        lines.append(f"{100 * share:5.1f}%  {frame}")
    lines.append("```")
    lines.append("")
    return "\n".join(lines)


_FILE = re.compile(r"\(([^():]+):\d+\)$")


def package_of(frame: str) -> str:
    """``func (tornado/web.py:12)`` -> ``tornado``; ``(selectors.py:4)`` -> ``stdlib``.

    py-spy shortens file names to their path below the ``sys.path`` entry."""
    m = _FILE.search(frame)
    if m is None:
        return "other"
    parts = m.group(1).split("/")
    if "rtc_presence" in parts:
        return "rtc_presence"
    if "site-packages" in parts:
        parts = parts[parts.index("site-packages") + 1 :]
    first = parts[0].removesuffix(".py")
    if first in sys.stdlib_module_names:
        return "stdlib" if len(parts) == 1 else f"stdlib:{first}"
    return first


def package_shares(raw_files: list[Path]) -> dict[str, Any]:
    """Shares of samples by the leaf frame's package, and rtc_presence inclusive."""
    leaf: Counter[str] = Counter()
    ours_inclusive = 0
    total = 0
    for path in raw_files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_s = line.rpartition(" ")
            try:
                count = int(count_s)
            except ValueError:
                continue
            frames = _frames(stack)
            if not frames:
                continue
            total += count
            leaf[package_of(frames[-1])] += count
            if any(package_of(f) == "rtc_presence" for f in frames):
                ours_inclusive += count
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "leaf": {k: v / total for k, v in leaf.most_common()},
        "rtc_presence_inclusive": ours_inclusive / total,
    }


class PhaseProfiler:
    """py-spy on the Jupyter contenders' servers, one recording per block."""

    KINDS = ("rtc-presence", "stock-nodelay", "stock")

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.files: dict[str, list[Path]] = {}

    def start(self, room: Room, phase: str, seconds: float) -> list[tuple[str, Recorder]]:
        if room.contender.kind not in self.KINDS or py_spy() is None:
            return []
        key = f"{room.label} N={room.n} {phase}"
        out = self.out_dir / f"{room.label}-n{room.n}-{phase}-{len(self.files.get(key, []))}.raw"
        rec = Recorder(room.pid, seconds + 0.3, out)
        time.sleep(0.2)  # let py-spy attach before the block starts
        return [(key, rec)]

    def finish(self, recs: list[tuple[str, Recorder]]) -> None:
        for key, rec in recs:
            path = rec.wait()
            if path is not None:
                self.files.setdefault(key, []).append(path)

    def render(self, title: str) -> str:
        sections = [f"# py-spy profiles ({title})", ""]
        for key, paths in sorted(self.files.items()):
            shares = package_shares(paths)
            sections.append(f"## {key}")
            sections.append("")
            if shares.get("samples"):
                sections.append(
                    f"rtc_presence on the stack (inclusive): "
                    f"{100 * shares['rtc_presence_inclusive']:.1f} %; leaf frame by package: "
                    + ", ".join(
                        f"{k} {100 * v:.1f} %" for k, v in list(shares["leaf"].items())[:12]
                    )
                )
                sections.append("")
            sections.append(render(key, top_frames(paths)))
        return "\n".join(sections)

    def summary(self) -> dict[str, Any]:
        return {key: package_shares(paths) for key, paths in sorted(self.files.items())}
