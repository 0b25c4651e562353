"""Hostile y-websocket frames for the reliability suite.

* :func:`classify_frame` is an independent reference of the y-websocket protocol (what
  a server must accept: written from the protocol, not from rtc_presence.frames);
* :func:`varuint`, :func:`varbytes` and :func:`awareness_frame` build frames by hand,
  wrong ones included;
* :class:`FrameFuzzer` makes seeded hostile frames.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pycrdt


class Bad(Exception):
    """The frame is not valid y-websocket (a server must close with 4400)."""


_MAX_VARUINT = 8  # rtc-presence's documented bound (2**56), below JavaScript's 2**53 too


def _uint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for n in range(_MAX_VARUINT):
        if pos >= len(data):
            raise Bad("end of frame inside an integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
        if n == _MAX_VARUINT - 1:
            break
    raise Bad("integer too long")


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _uint(data, pos)
    if pos + length > len(data):
        raise Bad("length past the end")
    return data[pos : pos + length], pos + length


def _strict_json_object(text: str) -> None:
    """JSON as browsers' JSON.parse reads it, and that can be written back as UTF-8."""

    def no_constants(name: str) -> None:
        raise Bad(f"JSON constant {name} (not JSON for browsers)")

    def finite(literal: str) -> float:
        value = float(literal)
        if value in (float("inf"), float("-inf")):
            raise Bad(f"{literal} overflows to Infinity")
        return value

    try:
        value = json.loads(text, parse_constant=no_constants, parse_float=finite)
    except ValueError:
        raise Bad("state is not JSON") from None
    if not isinstance(value, dict):
        raise Bad("state is not an object")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("lone surrogate escape in the state") from None


def check_frame(frame: bytes | str) -> str:
    """Raise :class:`Bad` unless ``frame`` is valid; return its kind.

    Written from the y-websocket protocol (y-protocols sync and awareness, and
    jupyter-collaboration's RAW side channel), independently of rtc_presence.frames.
    """
    if isinstance(frame, str):
        raise Bad("text frame")
    kind, pos = _uint(frame, 0)
    if kind == 0:  # SYNC
        sub, pos = _uint(frame, pos)
        payload, pos = _bytes(frame, pos)
        if pos != len(frame):
            raise Bad("trailing bytes")
        if sub == 0:
            count, p = _uint(payload, 0)
            for _ in range(2 * count):
                _, p = _uint(payload, p)
            if p != len(payload):
                raise Bad("trailing bytes in state vector")
            return "sync-step1"
        if sub in (1, 2):
            try:
                pycrdt.get_state(payload)
            except Exception:
                raise Bad("not a Yjs update") from None
            return "sync-update"
        raise Bad("unknown sync type")
    if kind == 1:  # AWARENESS
        payload, pos = _bytes(frame, pos)
        if pos != len(frame):
            raise Bad("trailing bytes")
        count, p = _uint(payload, 0)
        for _ in range(count):
            _, p = _uint(payload, p)
            _, p = _uint(payload, p)
            raw, p = _bytes(payload, p)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Bad("state is not UTF-8") from None
            if text not in ("null", ""):
                _strict_json_object(text)
        if p != len(payload):
            raise Bad("trailing bytes in awareness")
        return "awareness"
    if kind == 2:  # RAW: a string, then for "save" a request id, nothing else
        raw, p = _bytes(frame, pos)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Bad("RAW string is not UTF-8") from None
        if text == "save":
            _, p = _uint(frame, p)
        if p != len(frame):
            raise Bad("trailing bytes after the RAW message")
        return "raw"
    raise Bad("unknown message type")


def classify_frame(frame: bytes | str) -> str:
    """``"ok"`` or ``"malformed"``."""
    try:
        check_frame(frame)
    except Bad:
        return "malformed"
    return "ok"


def varuint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varbytes(payload: bytes) -> bytes:
    return varuint(len(payload)) + payload


def awareness_frame(entries: list[tuple[int, int, bytes]]) -> bytes:
    """An AWARENESS frame from (client id, clock, raw state bytes) triples."""
    body = varuint(len(entries)) + b"".join(
        varuint(cid) + varuint(clock) + varbytes(state) for cid, clock, state in entries
    )
    return varuint(1) + varbytes(body)


_ALPHABET = "abcXYZ 019_-<>&\"'\\/é漢字😀\u200d\u202e\n\t"


class FrameFuzzer:
    """Seeded y-websocket frames: valid ones that leave the notebook alone, and hostile ones.

    ``valid()`` frames never touch the notebook's content: state vectors, empty updates,
    updates to a scratch root type, awareness states (own or foreign client ids) and RAW
    strings other than "save". ``hostile()`` frames are random bytes, truncations,
    mutations or extensions of valid frames, non-UTF-8 or non-object awareness states
    and text frames; :func:`classify_frame` decides what each one really is.
    """

    def __init__(self, seed: int, foreign_ids: list[int]) -> None:
        self.rng = random.Random(seed)
        self.foreign_ids = foreign_ids
        self._scratch = pycrdt.Doc()
        self._scratch_text = self._scratch.get("rtc-fuzz-scratch", type=pycrdt.Text)
        self._clock = 0

    def _json_value(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 2 or r < 0.3:
            return self.rng.choice(
                [
                    None,
                    True,
                    self.rng.randint(-(2**40), 2**40),
                    self.rng.random() * 1e6,
                    self._text(),
                ]
            )
        if r < 0.6:
            return [self._json_value(depth + 1) for _ in range(self.rng.randint(0, 3))]
        return {self._text(6): self._json_value(depth + 1) for _ in range(self.rng.randint(0, 3))}

    def _text(self, limit: int = 24) -> str:
        return "".join(self.rng.choice(_ALPHABET) for _ in range(self.rng.randint(0, limit)))

    def _state(self) -> bytes:
        state = {self._text(8): self._json_value() for _ in range(self.rng.randint(0, 4))}
        if self.rng.random() < 0.3:
            state["user"] = {"username": "alice", "role": "owner", "display_name": self._text()}
        return json.dumps(state, ensure_ascii=False).encode("utf-8")

    def valid(self, own_id: int) -> bytes:
        rng = self.rng
        pick = rng.random()
        if pick < 0.15:
            pairs = [(rng.randrange(2**32), rng.randrange(2**20)) for _ in range(rng.randint(0, 4))]
            sv = varuint(len(pairs)) + b"".join(varuint(c) + varuint(k) for c, k in pairs)
            return varuint(0) + varuint(0) + varbytes(sv)
        if pick < 0.25:
            return varuint(0) + varuint(rng.choice((1, 2))) + varbytes(b"\x00\x00")
        if pick < 0.40:
            before = self._scratch.get_state()
            self._scratch_text.insert(len(self._scratch_text), self._text(8) or "x")
            update = self._scratch.get_update(before)
            return varuint(0) + varuint(2) + varbytes(update)
        if pick < 0.80:
            self._clock += 1
            target = own_id if rng.random() < 0.8 else rng.choice(self.foreign_ids)
            state = b"null" if rng.random() < 0.05 else self._state()
            return awareness_frame([(target, self._clock, state)])
        text = self._text(16)
        if text == "save":
            text = "saved"
        return varuint(2) + varbytes(text.encode("utf-8"))

    def hostile(self, own_id: int) -> bytes | str:
        rng = self.rng
        pick = rng.random()
        if pick < 0.20:
            head = bytes([rng.choice((0, 1, 2, 3, 0x80, rng.randrange(256)))])
            return head + rng.randbytes(rng.randint(0, 48))
        if pick < 0.80:
            base = self.valid(own_id)
            how = rng.random()
            if how < 0.4:
                return base[: rng.randint(1, max(1, len(base) - 1))]
            if how < 0.8:
                mutated = bytearray(base)
                for _ in range(rng.randint(1, 3)):
                    i = rng.randrange(len(mutated))
                    mutated[i] = rng.randrange(256) if rng.random() < 0.5 else mutated[i] ^ 0x80
                return bytes(mutated)
            return base + rng.randbytes(rng.randint(1, 8))
        if pick < 0.86:
            bad_state = rng.choice(
                [
                    b"\xff\xfe",
                    b'{"a":"\xc0\xaf"}',
                    b'{"a":"\xed\xa0\x80"}',
                    b"[1,2]",
                    b"{",
                    b"42",
                    b'{"a":NaN}',
                    b'{"a":-Infinity}',
                    b'{"a":1e999}',
                    b'{"a":"\\ud800"}',
                ]
            )
            return awareness_frame([(own_id, 10**6, bad_state)])
        if pick < 0.92:
            raw = rng.choice([b"save", b"\xff\xfe", b"hello"])
            tail = rng.choice([b"", b"\x80", b"\x01", b"\x01\x02"])
            return varuint(2) + varbytes(raw) + tail
        return "text frames are not part of the protocol"
