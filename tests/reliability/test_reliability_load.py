"""Load and convergence (issue 7, part 3): 50 clients type into 3 notebooks at once.

A real ``jupyter_server`` subprocess (its own core) with jupyter-collaboration and
rtc-presence; 50 real Yjs clients (one person each, the owner among them) in this
process type unique markers for ``RTC_SOAK_SECONDS`` (default 60): appends and
prepends in existing cells, new cells, and cursor moves in the awareness. Afterwards
every marker is in every client's document of its notebook exactly once, the files on
disk (read with nbformat) hold exactly the same, presence listed one row per person
throughout, and the server logged no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import nbformat
import pytest

from rtc_presence.testing.waiting import until
from rtc_presence.testing.yclient import YClient, cell_source, insert_cell, notebook_cells
from tests.reliability.util import (
    SubprocessServer,
    doc_text,
    file_sources,
    marker,
    markers,
    record,
    save_until_success,
    write_notebook,
)

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("RTC_SOAK_SECONDS", "60"))
CLIENTS = int(os.environ.get("RTC_SOAK_CLIENTS", "50"))
NOTEBOOKS = [f"load-{i}.ipynb" for i in range(3)]
SEED = 11


def _users(n: int) -> dict[str, dict[str, Any]]:
    users = {"alice-token": {"username": "alice", "display_name": "Alice Martin"}}
    for i in range(1, n):
        users[f"u{i:02d}-token"] = {"username": f"u{i:02d}", "display_name": f"User {i:02d}"}
    return users


class Writer:
    """One person in one notebook: types a marker every 0.5-1.5 s, moves the cursor."""

    def __init__(self, who: str, notebook: str, client: YClient, rng: random.Random) -> None:
        self.who = who
        self.notebook = notebook
        self.client = client
        self.rng = rng
        self.typed: list[str] = []
        self.new_cells = 0

    def edit(self) -> None:
        m = marker(self.who.replace("-", ""), len(self.typed))
        doc = self.client.doc
        n_cells = len(notebook_cells(doc))
        r = self.rng.random()
        if r < 0.05:
            insert_cell(doc, self.rng.randint(0, n_cells), source=m)
            self.new_cells += 1
        else:
            source = cell_source(doc, self.rng.randrange(n_cells))
            with doc.transaction():
                source.insert(len(source) if r < 0.8 else 0, m)
        self.typed.append(m)

    async def run(self, stop: asyncio.Event) -> None:
        moves = 0
        next_move = time.monotonic() + self.rng.uniform(0, 3)
        while not stop.is_set():
            self.edit()
            if time.monotonic() >= next_move:
                moves += 1
                await self.client.set_awareness({"cursor": {"head": moves}})
                next_move = time.monotonic() + 3
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.uniform(0.5, 1.5))


async def test_fifty_clients_converge_and_save_everything(tmp_path: Path) -> None:
    users = _users(CLIENTS)
    server = SubprocessServer(tmp_path / "server", users)
    writers: list[Writer] = []
    try:
        server.start()
        await server.wait_ready_async()
        for name in NOTEBOOKS:
            write_notebook(server.root / name, [f"# {name} cell {i}\n" for i in range(4)])
        rng = random.Random(SEED)
        names = [info["username"] for info in users.values()]

        async def join(i: int, who: str) -> Writer:
            notebook = NOTEBOOKS[i % len(NOTEBOOKS)]
            client = await server.room(who, notebook, timeout=30)
            return Writer(who, notebook, client, random.Random(rng.random()))

        t_join = time.monotonic()
        for start in range(0, len(names), 10):
            batch = names[start : start + 10]
            writers += await asyncio.gather(*(join(start + j, w) for j, w in enumerate(batch)))
        join_s = time.monotonic() - t_join

        # -- the load ------------------------------------------------------------------
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in writers]
        t0 = time.monotonic()
        presence_samples = []
        writes: dict[str, list[float]] = {n: [] for n in NOTEBOOKS}
        mtimes = {n: (server.root / n).stat().st_mtime for n in NOTEBOOKS}
        while time.monotonic() - t0 < SECONDS:
            await asyncio.sleep(1.0)
            for n in NOTEBOOKS:
                mtime = (server.root / n).stat().st_mtime
                if mtime != mtimes[n]:
                    writes[n].append(time.monotonic() - t0)
                    mtimes[n] = mtime
            if len(presence_samples) < SECONDS / 10:
                people = (await server.request("alice", "GET", "api/rtc-presence/presence")).json()
                presence_samples.append(people["people"])
            assert not [w.who for w in writers if w.client.closed], "a client was disconnected"
        stop.set()
        await asyncio.gather(*tasks)
        load_s = time.monotonic() - t0

        # -- every client converges to every marker of its notebook, once ----------------
        t_conv = time.monotonic()
        expected: dict[str, set[str]] = {n: set() for n in NOTEBOOKS}
        for w in writers:
            expected[w.notebook].update(w.typed)
        for w in writers:
            want = expected[w.notebook]
            await w.client.wait_until(
                lambda c=w.client, want=want: set(markers(doc_text(c.doc))) >= want,  # type: ignore[misc]
                60,
            )
        converge_s = time.monotonic() - t_conv
        duplicated = 0
        for w in writers:
            counts = markers(doc_text(w.client.doc))
            assert set(counts) == expected[w.notebook]
            duplicated += sum(1 for c in counts.values() if c > 1)
        assert duplicated == 0
        # all clients of a notebook hold the very same document
        for n in NOTEBOOKS:
            texts = {doc_text(w.client.doc) for w in writers if w.notebook == n}
            assert len(texts) == 1, n

        # -- saved: autosave after the last edit, then an explicit save -------------------
        t_save = time.monotonic()
        for n in NOTEBOOKS:
            path = server.root / n
            want = Counter(dict.fromkeys(expected[n], 1))
            await until(
                lambda: markers("".join(file_sources(path))),  # noqa: B023 (awaited here)
                30,
                f"{n} saved with every marker",
                interval=0.2,
                accept=lambda found: found == want,  # noqa: B023
                # A read can land while the server rewrites the file: not yet saved.
                ignore=(nbformat.reader.NotJSONError,),
            )
        autosave_s = time.monotonic() - t_save
        for n in NOTEBOOKS:
            saver = next(w for w in writers if w.notebook == n)
            await save_until_success(saver.client, 1)
            on_disk = file_sources(server.root / n)
            assert markers("".join(on_disk)) == Counter(dict.fromkeys(expected[n], 1))
            assert "".join(on_disk) == "".join(
                str(cell["source"]) for cell in notebook_cells(saver.client.doc)
            )

        # -- presence: one row per person, each with its one connection -------------------
        for people in presence_samples:
            names_seen = [p["username"] for p in people]
            assert sorted(names_seen) == sorted(names), "presence rows"
            assert all(p["connections"] == 1 for p in people)
        errors = server.errors_in_logs()
        assert errors == [], errors[:5]

        edits = sum(len(w.typed) for w in writers)
        gaps = [
            max(b - a for a, b in zip([0.0, *ts], [*ts, load_s], strict=True))
            for ts in writes.values()
        ]
        record(
            "load_convergence",
            {
                "clients": len(writers),
                "notebooks": len(NOTEBOOKS),
                "seconds": round(load_s, 1),
                "edits": edits,
                "edits_per_second": round(edits / load_s, 1),
                "new_cells": sum(w.new_cells for w in writers),
                "join_seconds": round(join_s, 1),
                "converge_seconds_after_stop": round(converge_s, 2),
                "autosave_seconds_after_stop": round(autosave_s, 2),
                "longest_seconds_without_a_file_write_during_load": round(max(gaps), 1),
                "presence_samples": len(presence_samples),
                "lost": 0,
                "duplicated": 0,
            },
        )
    finally:
        for w in writers:
            if not w.client.closed:
                w.client.abort()
        server.stop()
