"""What a SIGKILL can lose: YStore commit lag under a typing storm (issue 16).

Upstream (pycrdt-websocket ``YRoom._broadcast_updates``) starts one
``SQLiteYStore.write`` task per update, one transaction each; rtc-presence's
``YStoreWriter`` commits everything pending in one transaction per tick. Both
run here against a real SQLiteYStore on disk, fed the same storm: ``typists``
people each making one edit every ``interval`` seconds (real pycrdt updates).

Printed per mode: updates, transactions, commit lag (update made -> committed)
p50 / p99 / max, and the updates made but not yet committed (what a SIGKILL at
a random instant loses), mean and max over samples every 10 ms.

    python -m bench.ystore_lag [--typists 50] [--interval 0.05] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pycrdt
from pycrdt.store import SQLiteYStore

from rtc_presence import ywriter
from rtc_presence.ywriter import YStoreWriter


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _storm(
    mode: str, db: Path, typists: int, interval: float, seconds: float
) -> dict[str, Any]:
    class Store(SQLiteYStore):
        db_path = str(db)

    store = Store(f"bench-{mode}")
    made: list[float] = []
    done: dict[int, float] = {}
    transactions = 0
    async with store:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        text = doc.get("t", type=pycrdt.Text)
        writer = YStoreWriter(store, store.log)
        original = store.write

        async def counted_write(data: bytes) -> None:
            nonlocal transactions
            await original(data)
            transactions += 1

        if mode == "upstream":
            tasks: set[asyncio.Task[None]] = set()

            async def one(i: int, update: bytes) -> None:
                await counted_write(update)
                done[i] = time.perf_counter()

            def put(update: bytes) -> None:
                i = len(made) - 1
                task = asyncio.ensure_future(one(i, update))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        else:
            real_batch = ywriter.write_batch

            async def timed_batch(ystore: Any, updates: list[bytes], w: YStoreWriter) -> None:
                await real_batch(ystore, updates, w)
                now = time.perf_counter()  # committed: stamp exactly this batch
                for i in range(w.committed, w.committed + len(updates)):
                    done[i] = now

            ywriter.write_batch = timed_batch  # type: ignore[assignment]
            writer.start()

            def put(update: bytes) -> None:
                writer.put(update)

        def on_change(event: pycrdt.TransactionEvent) -> None:
            made.append(time.perf_counter())
            put(event.update)

        doc.observe(on_change)
        at_risk: list[int] = []
        end = time.monotonic() + seconds
        tick = interval / typists
        n = 0
        while time.monotonic() < end:
            text += f"<{n % typists}:{n}>"
            n += 1
            at_risk.append(len(made) - len(done))
            await asyncio.sleep(tick)
        if mode == "upstream":
            await asyncio.gather(*tasks)
        else:
            await writer.flush(30)
        if mode == "batched":
            transactions = writer.batches
            await writer.stop()
            ywriter.write_batch = real_batch
    lags = [(done[i] - made[i]) * 1000 for i in range(len(made))]
    return {
        "mode": mode,
        "updates": len(made),
        "transactions": transactions,
        "commit_lag_ms_p50": round(statistics.median(lags), 2),
        "commit_lag_ms_p99": round(_pct(lags, 0.99), 2),
        "commit_lag_ms_max": round(max(lags), 2),
        "uncommitted_mean": round(statistics.mean(at_risk), 1),
        "uncommitted_max": max(at_risk),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--typists", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("upstream", "batched"):
            result = await _storm(
                mode, Path(tmp) / f"{mode}.db", args.typists, args.interval, args.seconds
            )
            print(json.dumps({**vars(args), **result}))


if __name__ == "__main__":
    asyncio.run(main())
