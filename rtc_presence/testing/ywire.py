"""The y-websocket wire format as the test clients speak it (no I/O here).

Binary frames whose first var-uint is the message type: ``0`` SYNC (followed by
the sync sub-type STEP1 / STEP2 / UPDATE and a var-length payload), ``1``
AWARENESS (a var-length awareness update), ``2`` RAW (jupyter-collaboration's
JSON side channel, e.g. save replies). :func:`decode_frame` reads one received
frame, once; the ``encode_*`` functions build what a client sends beyond what
pycrdt builds itself (``create_sync_message``, ``create_update_message``,
``create_awareness_message``). The same protocol as JupyterLab's
``@jupyter/docprovider``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Decoder, Encoder, YMessageType, YSyncMessageType

__all__ = [
    "RAW_MESSAGE_TYPE",
    "AwarenessTriple",
    "Frame",
    "YClientError",
    "decode_awareness_update",
    "decode_frame",
    "encode_awareness_update",
    "encode_save",
]

#: jupyter-collaboration's ``MessageType.RAW`` (JSON side channel, e.g. save replies).
RAW_MESSAGE_TYPE = 2

AwarenessTriple = tuple[int, int, dict[str, Any] | None]
"""One awareness entry on the wire: ``(client_id, clock, state)``; None: removed."""

FrameKind = Literal["sync_step1", "sync_step2", "sync_update", "awareness", "raw", "unknown"]


class YClientError(Exception):
    """Raised when the connection or the initial sync fails, or a frame is truncated."""


@dataclass(frozen=True)
class Frame:
    """One received frame, decoded."""

    kind: FrameKind
    payload: bytes = b""
    """``sync_step1``: the sync message (for pycrdt's ``handle_sync_message``);
    ``sync_step2`` / ``sync_update``: the Yjs update; ``awareness``: the
    awareness update (:func:`decode_awareness_update`)."""
    raw: Any = None
    """``raw``: the JSON payload (the text itself when it is not JSON)."""


def decode_frame(message: bytes) -> Frame | None:
    """Decode ``message`` (None for an empty one); raise on a truncated frame."""
    if not message:
        return None
    msg_type = message[0]
    if msg_type == YMessageType.SYNC:
        sub_type = message[1]
        if sub_type == YSyncMessageType.SYNC_STEP1:
            return Frame("sync_step1", message[1:])
        if sub_type in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            update = Decoder(message[2:]).read_message()
            if update is None:
                raise YClientError("truncated sync message")
            step2 = sub_type == YSyncMessageType.SYNC_STEP2
            return Frame("sync_step2" if step2 else "sync_update", update)
        return Frame("unknown")
    if msg_type == YMessageType.AWARENESS:
        payload = Decoder(message[1:]).read_message()
        if payload is None:
            raise YClientError("truncated awareness message")
        return Frame("awareness", payload)
    if msg_type == RAW_MESSAGE_TYPE:
        decoder = Decoder(message)
        decoder.read_var_uint()
        text = decoder.read_var_string()
        try:
            return Frame("raw", raw=json.loads(text))
        except ValueError:
            return Frame("raw", raw=text)
    return Frame("unknown")


def encode_awareness_update(entries: list[AwarenessTriple]) -> bytes:
    """Encode an awareness update (the payload of an AWARENESS message).

    ``entries`` are ``(client_id, clock, state)``; ``state=None`` encodes ``"null"``
    (the client is gone).
    """
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for client_id, clock, state in entries:
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state, separators=(",", ":")))
    return encoder.to_bytes()


def decode_awareness_update(payload: bytes) -> list[AwarenessTriple]:
    """Decode an awareness update into ``(client_id, clock, state)`` triples."""
    decoder = Decoder(payload)
    count = decoder.read_var_uint()
    out: list[AwarenessTriple] = []
    for _ in range(count):
        client_id = decoder.read_var_uint()
        clock = decoder.read_var_uint()
        raw = decoder.read_var_string()
        state = json.loads(raw) if raw else None
        out.append((client_id, clock, state if isinstance(state, dict) else None))
    return out


def encode_save(save_id: int = 1) -> bytes:
    """A RAW ``save`` request, as JupyterLab sends it (Ctrl+S)."""
    encoder = Encoder()
    encoder.write_var_uint(RAW_MESSAGE_TYPE)
    encoder.write_var_string("save")
    encoder.write_var_uint(save_id)
    return encoder.to_bytes()
