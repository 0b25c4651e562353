"""Markdown rendering of a benchmark run (``latest.json`` -> ``latest.md``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Getter = Callable[[dict[str, Any]], float | None]


def _get(path: str) -> Getter:
    keys = path.split(".")

    def getter(res: dict[str, Any]) -> float | None:
        cur: Any = res
        for key in keys:
            if not isinstance(cur, dict) or key not in cur:
                return None
            cur = cur[key]
        if isinstance(cur, (int, float)) and not (isinstance(cur, float) and math.isnan(cur)):
            return float(cur)
        return None

    return getter


ROWS: list[tuple[str, Getter, float, str]] = [
    # label, getter, scale, format
    ("edit fan-out p50 (ms)", _get("edit.latency_ms.p50"), 1, "{:.2f}"),
    ("edit fan-out p95 (ms)", _get("edit.latency_ms.p95"), 1, "{:.2f}"),
    ("edit fan-out p99 (ms)", _get("edit.latency_ms.p99"), 1, "{:.2f}"),
    ("edit fan-out max (ms)", _get("edit.latency_ms.max"), 1, "{:.2f}"),
    ("awareness fan-out p50 (ms)", _get("awareness.latency_ms.p50"), 1, "{:.2f}"),
    ("awareness fan-out p95 (ms)", _get("awareness.latency_ms.p95"), 1, "{:.2f}"),
    ("awareness fan-out p99 (ms)", _get("awareness.latency_ms.p99"), 1, "{:.2f}"),
    ("all N connected + synced (ms)", _get("sync.all_synced_ms"), 1, "{:.1f}"),
    ("storm latency p50 (ms)", _get("storm.latency_ms.p50"), 1, "{:.2f}"),
    ("storm latency p99 (ms)", _get("storm.latency_ms.p99"), 1, "{:.2f}"),
    ("storm delivered / expected", _get("storm.delivered_ratio"), 1, "{:.4f}"),
    (
        "storm server CPU per delivered msg (us)",
        _get("storm.server_cpu_us_per_delivered"),
        1,
        "{:.1f}",
    ),
    ("server RSS per connection (KB)", _get("rss.per_connection_bytes"), 1 / 1024, "{:.1f}"),
]


def _fmt(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return b / a


def render_markdown(data: dict[str, Any]) -> str:
    cfg = data["config"]
    labels = [label for label, _ in cfg["setups"]]
    a, b = labels[0], labels[1]
    results = data["results"]
    ns = [str(n) for n in cfg["ns"]]
    env = data["environment"]
    lines: list[str] = []
    lines.append(f"# Benchmark: {a} vs {b}")
    lines.append("")
    lines.append(
        f"{env['time']} - git {env['git']} - {env['cpu_count']} CPUs - load at start "
        f"{', '.join(f'{x:.2f}' for x in env['loadavg_at_start'])} - "
        f"{'quick' if cfg['quick'] else 'full'} run, {data['run_seconds']:.0f} s"
    )
    lines.append("")
    vs = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines.append(f"Versions: {vs}.")
    lines.append("")
    lines.append(
        "Latency = receipt time at each other client minus send time at the sender "
        "(same monotonic clock, different processes); percentiles over all "
        "(round x receiver) samples. Ratio = "
        f"{b} / {a} (< 1 is better for {b})."
    )
    lines.append("")
    lines.append(f"| metric | N | {a} | {b} | ratio |")
    lines.append("|---|---:|---:|---:|---:|")
    for label, getter, scale, fmt in ROWS:
        for n in ns:
            ra = results.get(a, {}).get(n)
            rb = results.get(b, {}).get(n)
            va = getter(ra) if ra else None
            vb = getter(rb) if rb else None
            va = va * scale if va is not None else None
            vb = vb * scale if vb is not None else None
            r = _ratio(va, vb)
            lines.append(
                f"| {label} | {n} | {_fmt(va, fmt)} | {_fmt(vb, fmt)} | {_fmt(r, '{:.2f}x')} |"
            )
    crash = data.get("crash") or {}
    if crash:
        for kind, title in (
            ("abort", "crashed client (abort, TCP reset)"),
            ("freeze", "hung client (no reads, no FIN)"),
        ):
            va = (crash.get(a) or {}).get(kind, {}).get("gone_for_all_s")
            vb = (crash.get(b) or {}).get(kind, {}).get("gone_for_all_s")
            cap = (crash.get(a) or {}).get(kind, {}).get("cap_s")
            sa = _fmt(va, "{:.2f}") if va is not None else f"> {cap:g} (cap)"
            sb = _fmt(vb, "{:.2f}") if vb is not None else f"> {cap:g} (cap)"
            lines.append(
                f"| {title} gone from all others' awareness (s) | {cfg['crash_observers']} "
                f"observers | {sa} | {sb} | {_fmt(_ratio(va, vb), '{:.2f}x')} |"
            )
    lines.append("")
    lines.extend(_targets(data, a, b))
    lines.append("")
    rev = data.get("revocation", {})
    lines.append(f"Revocation (revoke -> cut-off): {rev.get('status')}. {rev.get('note', '')}")
    if rev.get("data") is not None:
        lines.append("")
        lines.append(f"```\n{rev['data']}\n```")
    lines.append("")
    load = []
    for n in ns:
        rb = results.get(b, {}).get(n) or {}
        st = rb.get("storm") or {}
        if st:
            load.append(
                f"N={n}: {rb.get('client_processes')} client process(es), client CPU "
                f"{st.get('client_cpu_util', 0):.2f} cores, server CPU "
                f"{st.get('server_cpu_util', 0):.2f} cores"
            )
    if load:
        lines.append(f"Load during the storm ({b}): " + "; ".join(load) + ".")
        lines.append("")
    machine = data.get("machine") or {}
    if machine:
        lines.append("## The shared machine during each N (both setups)")
        lines.append("")
        lines.append(
            "| N | others' CPU (cores) | ours (cores) | idle | steal | "
            "2 ms sleep wake-up lateness p50 / p99 (ms) |"
        )
        lines.append("|---:|---:|---:|---:|---:|---:|")
        for n in ns:
            m = machine.get(n) or {}
            if not m:
                continue
            lines.append(
                f"| {n} | {m['others_cores']:.2f} | {m['ours_cores']:.2f} | "
                f"{100 * m['idle_fraction']:.0f}% | {100 * m['steal_fraction']:.1f}% | "
                f"{m['wakeup_late_ms_p50']:.2f} / {m['wakeup_late_ms_p99']:.2f} |"
            )
        lines.append("")
    src = data.get("rtc_presence_source") or {}
    if src.get("changed_during_run"):
        lines.append(
            "Note: rtc_presence/*.py changed while this run was going on "
            f"(digests at server starts: {', '.join(src['digests_at_server_starts'])})."
        )
        lines.append("")
    errs = data.get("server_log_errors") or {}
    if errs:
        lines.append("Server log errors:")
        for setup, items in errs.items():
            for item in items[:5]:
                lines.append(f"- {setup}: `{item[:200]}`")
        lines.append("")
    return "\n".join(lines) + "\n"


def _targets(data: dict[str, Any], a: str, b: str) -> list[str]:
    results = data["results"]
    ns = [str(n) for n in data["config"]["ns"]]
    out = ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]

    def val(setup: str, n: str, path: str) -> float | None:
        res = results.get(setup, {}).get(n)
        return _get(path)(res) if res else None

    def check(name: str, measured: float | None, limit: float, unit: str = "x") -> None:
        if measured is None:
            out.append(f"| {name} | n/a | not measured |")
            return
        verdict = "PASS" if measured <= limit else "FAIL"
        out.append(f"| {name} | {measured:.2f}{unit} | {verdict} |")

    for kind in ("edit", "awareness"):
        for n, limit in (("10", 0.2), ("100", 0.5)):
            if n in ns:
                r = _ratio(val(a, n, f"{kind}.latency_ms.p99"), val(b, n, f"{kind}.latency_ms.p99"))
                check(f"{kind} fan-out p99 at N={n} <= {limit}x stock", r, limit)
        worst = None
        for n in ns:
            r = _ratio(val(a, n, f"{kind}.latency_ms.p50"), val(b, n, f"{kind}.latency_ms.p50"))
            if r is not None and (worst is None or r > worst):
                worst = r
        check(f"{kind} fan-out p50 <= 1.1x stock at every N (worst)", worst, 1.1)
    if "200" in ns:
        r = _ratio(val(a, "200", "sync.all_synced_ms"), val(b, "200", "sync.all_synced_ms"))
        check("sync of 200 clients <= 1.0x stock", r, 1.0)
    crash = data.get("crash") or {}
    for kind, what in (("abort", "crashed (aborted)"), ("freeze", "hung (frozen)")):
        entry = (crash.get(b) or {}).get(kind)
        if entry is not None:
            v = entry.get("gone_for_all_s")
            if v is None:
                out.append(f"| {what} client gone <= 5 s | > {entry.get('cap_s')} s | FAIL |")
            else:
                check(f"{what} client gone <= 5 s", v, 5.0, " s")
    big = ns[-1]
    ra = val(a, big, "rss.per_connection_bytes")
    rb = val(b, big, "rss.per_connection_bytes")
    if ra is not None and rb is not None:
        check(f"extra RSS per connection <= 10 KB (N={big})", (rb - ra) / 1024, 10.0, " KB")
    return out
