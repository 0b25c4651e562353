"""Fixtures only the reliability suite uses (the shared ones are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.util import StartServer, SubprocessServer


@pytest.fixture
def subprocess_server(tmp_path: Path) -> Iterator[StartServer]:
    """``await subprocess_server(users, rtc_config=None)``: a started, ready
    :class:`SubprocessServer` under ``tmp_path``, stopped after the test."""
    started: list[SubprocessServer] = []

    async def start(
        users: dict[str, dict[str, Any]], rtc_config: dict[str, Any] | None = None
    ) -> SubprocessServer:
        server = SubprocessServer(tmp_path / f"server{len(started) or ''}", users, rtc_config)
        started.append(server)
        server.start()
        await server.wait_ready_async()
        return server

    yield start
    for server in started:
        server.stop()
