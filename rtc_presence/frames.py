"""Parsing and encoding of y-websocket frames (sync and awareness).

Only the framing is handled here; applying updates is pycrdt's job. Every
function raises :class:`MalformedFrame` on bad input so that the caller can
close exactly the offending connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pycrdt import get_state

# y-websocket message types (first varuint of a frame).
SYNC = 0
AWARENESS = 1
# jupyter-collaboration's extension for out-of-band JSON messages (e.g. "save").
RAW = 2

SYNC_STEP1 = 0
SYNC_STEP2 = 1
SYNC_UPDATE = 2

_MAX_VARUINT_BYTES = 8  # 2**56 is far above any client id, clock or length we accept


class MalformedFrame(ValueError):
    """A frame that does not follow the y-websocket protocol."""


class OverLimit(ValueError):
    """A well-formed frame that exceeds one of the server's bounds."""


@dataclass(slots=True)
class AwarenessEntry:
    """One client's entry in an awareness update."""

    client_id: int
    clock: int
    state_json: str
    """The state as sent (JSON text); ``"null"`` means the client is gone."""

    @property
    def is_removal(self) -> bool:
        return self.state_json == "null" or self.state_json == ""


def read_varuint(data: bytes, pos: int) -> tuple[int, int]:
    """Read an unsigned LEB128 integer at ``pos``; return (value, new position)."""
    value = 0
    shift = 0
    end = min(len(data), pos + _MAX_VARUINT_BYTES)
    while pos < end:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise MalformedFrame("truncated or oversized integer")


def write_varuint(out: bytearray, value: int) -> None:
    """Append ``value`` as an unsigned LEB128 integer."""
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def read_varbytes(data: bytes, pos: int) -> tuple[bytes, int]:
    """Read a length-prefixed byte string."""
    length, pos = read_varuint(data, pos)
    end = pos + length
    if end > len(data):
        raise MalformedFrame("length prefix runs past the end of the frame")
    return data[pos:end], end


def write_varbytes(out: bytearray, payload: bytes) -> None:
    write_varuint(out, len(payload))
    out += payload


def message_type(frame: bytes) -> int:
    if not frame:
        raise MalformedFrame("empty frame")
    return read_varuint(frame, 0)[0]


def validate_sync(frame: bytes) -> int:
    """Check a SYNC frame's structure and payload; return its sub-type.

    Updates are decoded (not applied) by pycrdt, which costs well under a
    microsecond for a keystroke and rejects garbage before it reaches a room.
    """
    subtype, pos = read_varuint(frame, 1)
    payload, end = read_varbytes(frame, pos)
    if end != len(frame):
        raise MalformedFrame("trailing bytes after sync payload")
    if subtype == SYNC_STEP1:
        _validate_state_vector(payload)
    elif subtype in (SYNC_STEP2, SYNC_UPDATE):
        try:
            get_state(payload)
        except ValueError as exc:
            raise MalformedFrame(f"invalid document update ({exc})") from None
    else:
        raise MalformedFrame(f"unknown sync message type {subtype}")
    return subtype


def _validate_state_vector(payload: bytes) -> None:
    count, pos = read_varuint(payload, 0)
    if count > len(payload):
        raise MalformedFrame("state vector length is larger than the frame")
    for _ in range(2 * count):
        _, pos = read_varuint(payload, pos)
    if pos != len(payload):
        raise MalformedFrame("trailing bytes after state vector")


def parse_awareness(
    frame: bytes, max_entries: int | None = None, max_state_bytes: int | None = None
) -> list[AwarenessEntry]:
    """Parse an AWARENESS frame into entries; states stay as JSON text.

    Raises :class:`OverLimit` for more than ``max_entries`` entries or a state
    over ``max_state_bytes``, before any entry is decoded.
    """
    payload, end = read_varbytes(frame, 1)
    if end != len(frame):
        raise MalformedFrame("trailing bytes after awareness payload")
    count, pos = read_varuint(payload, 0)
    if count > len(payload):
        raise MalformedFrame("awareness entry count is larger than the frame")
    if max_entries is not None and count > max_entries:
        raise OverLimit(f"{count} awareness entries in one message (limit {max_entries})")
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id, pos = read_varuint(payload, pos)
        clock, pos = read_varuint(payload, pos)
        raw, pos = read_varbytes(payload, pos)
        if max_state_bytes is not None and len(raw) > max_state_bytes:
            raise OverLimit(f"awareness state of {len(raw)} bytes (limit {max_state_bytes})")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedFrame("awareness state is not valid UTF-8") from None
        entries.append(AwarenessEntry(client_id, clock, text))
    if pos != len(payload):
        raise MalformedFrame("trailing bytes after awareness entries")
    return entries


def decode_state(entry: AwarenessEntry) -> dict[str, Any] | None:
    """Decode an entry's state: a JSON object, or None for a removal."""
    if entry.is_removal:
        return None
    try:
        state = json.loads(entry.state_json, parse_constant=_no_constant, parse_float=_finite)
    except ValueError as exc:
        raise MalformedFrame(f"awareness state is not valid JSON ({exc})"[:100]) from None
    except RecursionError:
        # json.loads recurses once per nesting level; thousands of "[" exhaust the stack.
        raise MalformedFrame("awareness state is nested too deeply") from None
    if not isinstance(state, dict):
        raise MalformedFrame("awareness state is not a JSON object")
    if "\\u" in entry.state_json and _has_lone_surrogate(state):
        raise MalformedFrame("awareness state has a lone surrogate escape")
    return state


def _no_constant(name: str) -> Any:
    # Python accepts NaN and Infinity; browsers' JSON.parse does not.
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def validate_raw(frame: bytes) -> None:
    """Check a RAW frame: a UTF-8 string, and for ``save`` its request id."""
    payload, pos = read_varbytes(frame, 1)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedFrame("raw message is not valid UTF-8") from None
    if text == "save":
        _, pos = read_varuint(frame, pos)
    if pos != len(frame):
        raise MalformedFrame("trailing bytes after raw message")


def encode_awareness(entries: list[tuple[int, int, str]]) -> bytes:
    """Encode (client id, clock, state JSON) triples as an AWARENESS frame."""
    payload = bytearray()
    write_varuint(payload, len(entries))
    for client_id, clock, state_json in entries:
        write_varuint(payload, client_id)
        write_varuint(payload, clock)
        write_varbytes(payload, state_json.encode("utf-8"))
    frame = bytearray()
    write_varuint(frame, AWARENESS)
    write_varbytes(frame, bytes(payload))
    return bytes(frame)
