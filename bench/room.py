"""One contender's notebook room at one N, and which worker hosts which client."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .contenders import Contender, RoomSpec
from .pool import Pool

CLIENTS_PER_WORKER = 75
MAX_WORKERS = 4


def workers_for(n: int) -> int:
    """Client processes for N clients: on 2 cores more would only fight the server."""
    return max(1, min(MAX_WORKERS, math.ceil(n / CLIENTS_PER_WORKER)))


def split(gids: list[int], parts: int) -> list[list[int]]:
    size = math.ceil(len(gids) / parts)
    return [gids[i * size : (i + 1) * size] for i in range(parts)]


@dataclass
class Room:
    contender: Contender
    spec: RoomSpec
    gids: list[int]
    workers: list[int]
    assignment: list[list[int]]

    @property
    def label(self) -> str:
        return self.contender.label

    @property
    def n(self) -> int:
        return len(self.gids)

    @property
    def pid(self) -> int:
        return self.contender.pid

    def owner(self) -> dict[int, int]:
        """Worker index of every client id."""
        return {g: w for w, gids in zip(self.workers, self.assignment, strict=True) for g in gids}


def open_rooms(contenders: list[Contender], n: int, name: str) -> list[Room]:
    nw = workers_for(n)
    rooms = []
    for i, contender in enumerate(contenders):
        gids = [(i + 1) * 1_000_000 + j for j in range(n)]
        rooms.append(Room(contender, contender.room(name), gids, list(range(nw)), split(gids, nw)))
    return rooms


def warm(pool: Pool, room: Room) -> None:
    """One extra client loads the room (seeding it on the bare servers)."""
    pool.send(
        0,
        "warm",
        url=room.spec.url,
        headers=room.spec.headers,
        group=room.label,
        seed=room.spec.seed,
    )
    pool.expect(0, {"warm"}, 90)


def close(pool: Pool, room: Room, warm: bool) -> None:
    pool.broadcast(room.workers, "close_group", "closed", 90, group=room.label, warm=warm)


def closed_connections(pool: Pool, room: Room) -> list[dict[str, object]]:
    """Clients of the room whose connection the server closed (should be none)."""
    replies = pool.broadcast(room.workers, "stats", "stats", 30, group=room.label)
    return [msg[1] for msg in replies if msg[1]["closed"]]


def announce(pool: Pool, room: Room, window: float = 2.0) -> None:
    """Every client of the room announces its awareness state once (see the worker)."""
    pool.broadcast(
        room.workers, "announce", "announced", 60 + window, group=room.label, window=window
    )
