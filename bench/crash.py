"""A crashed client (TCP reset) and a hung one (no reads, no FIN): how long until every
other client has them gone from its awareness. All contenders at once (it is a wait,
not load), one worker each."""

from __future__ import annotations

from typing import Any

from .config import Config
from .contenders import Contender
from .pool import Pool


def run_crash(pool: Pool, contenders: list[Contender], cfg: Config) -> dict[str, Any]:
    workers = list(range(len(contenders)))
    for w, contender in zip(workers, contenders, strict=True):
        spec = contender.room("bench-crash.ipynb")
        if spec.seed is not None:
            pool.send(w, "warm", url=spec.url, headers=spec.headers, group="crash", seed=spec.seed)
            pool.expect(w, {"warm"}, 60)
        pool.send(
            w,
            "crash",
            url=spec.url,
            headers=spec.headers,
            observers=cfg.crash_observers,
            cap=cfg.crash_cap,
            timeout=cfg.awareness_timeout,
        )
    got = pool.expect_many(workers, {"crash"}, cfg.crash_cap + 60)
    out: dict[str, Any] = {}
    for w, contender in zip(workers, contenders, strict=True):
        msg = got[w]
        if msg is None:
            out[contender.label] = {"error": "timed out"}
            continue
        res: dict[str, Any] = {}
        for kind, times in msg[1].items():
            seen = [t for t in times if t is not None]
            res[kind] = {
                "observers": len(times),
                "gone_for_all_s": max(seen) if len(seen) == len(times) else None,
                "gone_median_s": sorted(seen)[len(seen) // 2] if seen else None,
                "not_gone_within_cap": len(times) - len(seen),
                "cap_s": cfg.crash_cap,
            }
        out[contender.label] = res
    for w in workers:
        pool.send(w, "close_group", group="crash", warm=True)
    pool.expect_many(workers, {"closed"}, 30)
    return out
