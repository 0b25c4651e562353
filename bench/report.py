"""Markdown rendering of a benchmark run (``latest.json`` -> ``latest.md``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Getter = Callable[[dict[str, Any]], float | None]


def get(res: dict[str, Any] | None, path: str) -> float | None:
    cur: Any = res
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    if isinstance(cur, (int, float)) and not (isinstance(cur, float) and math.isnan(cur)):
        return float(cur)
    return None


#: label, path in a result, scale, format
ROWS: list[tuple[str, str, float, str]] = [
    ("edit fan-out p50 (ms)", "follow.edit.latency_ms.p50", 1, "{:.2f}"),
    ("edit fan-out p99 (ms)", "follow.edit.latency_ms.p99", 1, "{:.2f}"),
    ("edit fan-out max (ms)", "follow.edit.latency_ms.max", 1, "{:.2f}"),
    ("awareness fan-out p50 (ms)", "follow.awareness.latency_ms.p50", 1, "{:.2f}"),
    ("awareness fan-out p99 (ms)", "follow.awareness.latency_ms.p99", 1, "{:.2f}"),
    ("awareness fan-out max (ms)", "follow.awareness.latency_ms.max", 1, "{:.2f}"),
    ("viewers' renewals fan-out p99 (ms)", "follow.renewal.latency_ms.p99", 1, "{:.2f}"),
    ("follow: edits delivered / expected", "follow.edit.delivered_ratio", 1, "{:.4f}"),
    (
        "follow: server CPU per delivered msg (us)",
        "follow.server_cpu_us_per_delivered",
        1,
        "{:.1f}",
    ),
    ("N joining at once: all synced (ms)", "burst.all_synced_ms", 1, "{:.1f}"),
    ("N joining over 5 s: join p50 (ms)", "wave.join_ms.p50", 1, "{:.1f}"),
    ("N joining over 5 s: join p99 (ms)", "wave.join_ms.p99", 1, "{:.1f}"),
    ("N joining over 5 s: join max (ms)", "wave.join_ms.max", 1, "{:.1f}"),
    ("storm (10 writers): edit p50 (ms)", "storm.edit.latency_ms.p50", 1, "{:.2f}"),
    ("storm (10 writers): edit p99 (ms)", "storm.edit.latency_ms.p99", 1, "{:.2f}"),
    ("storm (10 writers): edit max (ms)", "storm.edit.latency_ms.max", 1, "{:.2f}"),
    ("storm: delivered / expected", "storm.edit.delivered_ratio", 1, "{:.4f}"),
    ("storm: server CPU per delivered msg (us)", "storm.server_cpu_us_per_delivered", 1, "{:.1f}"),
    ("storm: client loop lag p99 (ms)", "storm.client_loop_lag_ms.p99", 1, "{:.1f}"),
    ("server RSS per connection (KB)", "rss.per_connection_bytes", 1 / 1024, "{:.1f}"),
]


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else spec.format(value)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or theirs is None or theirs == 0:
        return None
    return ours / theirs


def render_markdown(data: dict[str, Any]) -> str:
    cfg = data["config"]
    labels = [label for label, _ in cfg["contenders"]]
    subject = cfg["subject"]
    others = [x for x in labels if x != subject]
    results = data["results"]
    env = data["environment"]
    lines = [f"# Benchmark: {subject} against {', '.join(others)}", ""]
    lines.append(
        f"{env['time']} - git {env['git']} - {env['cpu_count']} CPUs - load at start "
        f"{', '.join(f'{x:.2f}' for x in env['loadavg_at_start'])} - "
        f"{'quick' if cfg['quick'] else 'full'} run, {data['run_seconds']:.0f} s"
    )
    lines.append("")
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + ".")
    lines.append("")
    lines.append(
        f"Follow: one writer types {cfg['keys_per_second']:g} keys/s (an edit and a cursor "
        f"move per key), the others watch and renew their awareness every "
        f"{cfg['renew_period']:g} s. Storm: {cfg['storm_writers']} writers at "
        f"{cfg['keys_per_second']:g} keys/s each. Latency = receipt at each other client - "
        f"send (one monotonic clock, separate processes). Ratio = {subject} / other "
        "(< 1 is better for " + subject + ")."
    )
    lines.append("")
    for n in [str(x) for x in cfg["ns"]]:
        lines.append(f"## N = {n}")
        lines.append("")
        head = " | ".join(labels) + " | " + " | ".join(f"/ {o}" for o in others)
        lines.append(f"| metric | {head} |")
        lines.append("|---|" + "---:|" * (len(labels) + len(others)))
        for title, path, scale, spec in ROWS:
            vals = {}
            for label in labels:
                v = get(results.get(label, {}).get(n), path)
                vals[label] = v * scale if v is not None else None
            cells = [fmt(vals[label], spec) for label in labels]
            cells += [fmt(ratio(vals[subject], vals[o]), "{:.2f}x") for o in others]
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
        lines.append("")
    lines.extend(crash_lines(data, labels))
    lines.extend(target_lines(data))
    lines.extend(machine_lines(data))
    return "\n".join(lines) + "\n"


def crash_lines(data: dict[str, Any], labels: list[str]) -> list[str]:
    crash = data.get("crash") or {}
    if not crash:
        return []
    out = ["## A crashed and a hung client", ""]
    out.append("| gone from all 8 observers' awareness (s) | " + " | ".join(labels) + " |")
    out.append("|---|" + "---:|" * len(labels))
    for kind, title in (("abort", "crashed (TCP reset)"), ("freeze", "hung (no reads, no FIN)")):
        cells = []
        for label in labels:
            entry = (crash.get(label) or {}).get(kind) or {}
            v = entry.get("gone_for_all_s")
            cells.append(fmt(v, "{:.2f}") if v is not None else f"> {entry.get('cap_s', '?')}")
        out.append(f"| {title} | " + " | ".join(cells) + " |")
    out.append("")
    return out


#: (what, path, Ns or None for all, limit) per contender kind the subject is held to
LATENCY = [
    ("edit p50", "follow.edit.latency_ms.p50"),
    ("edit p99", "follow.edit.latency_ms.p99"),
    ("edit max", "follow.edit.latency_ms.max"),
    ("awareness p50", "follow.awareness.latency_ms.p50"),
    ("awareness p99", "follow.awareness.latency_ms.p99"),
    ("awareness max", "follow.awareness.latency_ms.max"),
    ("join p99 (over 5 s)", "wave.join_ms.p99"),
    ("storm p99", "storm.edit.latency_ms.p99"),
]
CPU = [
    ("CPU/msg follow", "follow.server_cpu_us_per_delivered"),
    ("CPU/msg storm", "storm.server_cpu_us_per_delivered"),
]


def targets(data: dict[str, Any]) -> list[tuple[str, float | None, float]]:
    """Issue 17's targets: (name, measured ratio, limit)."""
    cfg = data["config"]
    subject = cfg["subject"]
    kinds = dict(cfg["contenders"])
    results = data["results"]
    ns = [str(x) for x in cfg["ns"]]
    out: list[tuple[str, float | None, float]] = []

    def r(other: str, n: str, path: str) -> float | None:
        res = results.get(subject, {}).get(n)
        oth = results.get(other, {}).get(n)
        return ratio(get(res, path), get(oth, path))

    stock = next((lb for lb, k in kinds.items() if k == "stock-nodelay" and lb != subject), None)
    node = next((lb for lb, k in kinds.items() if k == "node" and lb != subject), None)
    if stock:
        for n in ns:
            for what, path in LATENCY:
                out.append((f"{what} N={n} <= 0.8x stock+nodelay", r(stock, n, path), 0.8))
        for n in ns:
            for what, path in CPU:
                out.append((f"{what} N={n} <= 0.5x stock+nodelay", r(stock, n, path), 0.5))
        if "300" in ns:
            out.append(
                (
                    "300 joining at once synced <= 0.5x stock+nodelay",
                    r(stock, "300", "burst.all_synced_ms"),
                    0.5,
                )
            )
        if "10" in ns:
            for what, path in LATENCY[1:2] + LATENCY[4:5]:
                out.append(
                    (f"no regression: {what} N=10 <= 1.0x stock+nodelay", r(stock, "10", path), 1.0)
                )
    if node:
        for n in ("100", "300"):
            if n in ns:
                out.append((f"edit p99 N={n} <= 2.0x node", r(node, n, LATENCY[1][1]), 2.0))
        for n in ns:
            for what, path in CPU:
                out.append((f"{what} N={n} <= 3x node", r(node, n, path), 3.0))
        if "300" in ns:
            out.append(
                (
                    "300 joining at once synced <= 3x node",
                    r(node, "300", "burst.all_synced_ms"),
                    3.0,
                )
            )
    return out


def target_lines(data: dict[str, Any]) -> list[str]:
    rows = targets(data)
    if not rows:
        return []
    met = sum(1 for _, v, lim in rows if v is not None and v <= lim)
    out = [f"## Targets (issue 17): {met} of {len(rows)} met", ""]
    out.append("| target | measured | verdict |")
    out.append("|---|---:|---|")
    for name, v, lim in rows:
        verdict = "not measured" if v is None else ("PASS" if v <= lim else "FAIL")
        out.append(f"| {name} | {fmt(v, '{:.2f}x')} | {verdict} |")
    out.append("")
    return out


def machine_lines(data: dict[str, Any]) -> list[str]:
    machine = data.get("machine") or {}
    out: list[str] = []
    if machine:
        out += ["## The shared machine during each N (all contenders)", ""]
        out.append(
            "| N | others' CPU (cores) | ours (cores) | idle | 2 ms sleep late p50 / p99 (ms) |"
        )
        out.append("|---:|---:|---:|---:|---:|")
        for n, m in machine.items():
            if m:
                out.append(
                    f"| {n} | {m['others_cores']:.2f} | {m['ours_cores']:.2f} | "
                    f"{100 * m['idle_fraction']:.0f}% | "
                    f"{m['wakeup_late_ms_p50']:.2f} / {m['wakeup_late_ms_p99']:.2f} |"
                )
        out.append("")
    src = data.get("rtc_presence_source") or {}
    if src.get("changed_during_run"):
        out.append(
            "Note: rtc_presence/*.py changed during this run (digests: "
            + ", ".join(src["digests_at_server_starts"])
            + ")."
        )
        out.append("")
    for label, items in (data.get("server_log_errors") or {}).items():
        for item in items[:5]:
            out.append(f"- server log error, {label}: `{item[:200]}`")
    return out
