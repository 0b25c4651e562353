"""py-spy sampling of the servers (and a client worker) during benchmark phases.

``python -m bench --profile ...`` records each server with
``py-spy record --format raw --nonblocking`` while a typing storm runs, then
reduces the collapsed stacks to the frames that take the most samples (self
time, and inclusive time for frames of interest).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


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
