"""Unit and property tests of the y-websocket frame codec and awareness rules."""

from __future__ import annotations

import contextlib
import json

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtc_presence.awareness import AwarenessLimits, RoomAwareness
from rtc_presence.frames import (
    MalformedFrame,
    OverLimit,
    encode_awareness,
    parse_awareness,
    validate_sync,
)
from rtc_presence.limits import TokenBucket

USER = json.dumps({"username": "bob", "role": "guest"})


def test_awareness_roundtrip_matches_pycrdt() -> None:
    frame = encode_awareness([(7, 3, '{"a":1}'), (9, 1, "null")])
    entries = parse_awareness(frame)
    assert [(e.client_id, e.clock, e.state_json) for e in entries] == [
        (7, 3, '{"a":1}'),
        (9, 1, "null"),
    ]
    # pycrdt's own decoder reads our frames
    doc = pycrdt.Doc()
    aw = pycrdt.Awareness(doc)
    aw.apply_awareness_update(pycrdt.read_message(frame[1:]), "test")
    assert aw.states[7] == {"a": 1}


def test_sync_validation() -> None:
    doc = pycrdt.Doc()
    doc.get("t", type=pycrdt.Text).insert(0, "hi")
    assert validate_sync(pycrdt.create_update_message(doc.get_update())) == 2
    assert validate_sync(pycrdt.create_sync_message(doc)) == 0
    with pytest.raises(MalformedFrame):
        validate_sync(b"\x00\x02\x03\xff\xff\xff")


def test_rules_ownership_rewrite_and_release() -> None:
    room = RoomAwareness(server_client_id=1, server_meta={1: {"clock": 4}})
    bob, eve = object(), object()
    v = room.filter(bob, USER, encode_awareness([(5, 1, '{"user":{"name":"alice"},"c":2}')]))
    assert v.frame is not None
    (entry,) = parse_awareness(v.frame)
    assert json.loads(entry.state_json) == {"user": json.loads(USER), "c": 2}
    assert entry.clock == 1  # clocks pass unchanged
    # the first claim asks the client to announce itself above what peers may know
    assert v.nudge is not None and [(e.client_id, e.clock) for e in parse_awareness(v.nudge)] == [
        (5, 1)
    ]
    assert parse_awareness(v.nudge)[0].is_removal
    room.filter(eve, USER, encode_awareness([(9, 1, "{}")]))  # eve's own id
    # eve cannot touch bob's id, nor the server's, nor remove either
    for cid, state in ((5, '{"x":1}'), (5, "null"), (1, "null"), (1, '{"x":1}')):
        v = room.filter(eve, USER, encode_awareness([(cid, 99, state)]))
        assert v.frame is None and v.forged == 1
    # echoes at clocks already forwarded are not forgeries
    for cid, clock in ((5, 1), (1, 4)):
        v = room.filter(eve, USER, encode_awareness([(cid, clock, '{"x":1}')]))
        assert v.frame is None and v.forged == 0 and v.echoes == 1
    # a removal for an unowned id claims nothing
    assert room.filter(eve, USER, encode_awareness([(8, 1, "null")])).frame is None
    assert room.owner_of(8) is None
    # bob's unchanged keep-alive reuses the rewrite and reports no activity
    v = room.filter(bob, USER, encode_awareness([(5, 2, '{"user":{"name":"alice"},"c":2}')]))
    assert v.frame is not None and v.changed_states == [] and v.nudge is None
    assert room.release(bob) == [(5, 2)]  # removed at its last clock
    assert room.owner_of(5) is None


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10, burst=20)
    assert sum(bucket.take() for _ in range(100)) <= 21


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=256))
def test_fuzz_frames_only_raise_malformed(data: bytes) -> None:
    room = RoomAwareness(server_client_id=1)
    frame = b"\x01" + data
    with contextlib.suppress(MalformedFrame, OverLimit):
        room.filter(object(), USER, frame)
    with contextlib.suppress(MalformedFrame):
        validate_sync(b"\x00" + data)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**53),
            st.integers(0, 2**32),
            st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=20), max_size=4),
        ),
        max_size=8,
    )
)
def test_fuzz_valid_states_get_verified_user(entries: list[tuple[int, int, dict]]) -> None:
    room = RoomAwareness(limits=AwarenessLimits(max_client_ids=8))
    conn = object()
    frame = encode_awareness([(c, k, json.dumps(s)) for c, k, s in entries])
    v = room.filter(conn, USER, frame)
    for out in parse_awareness(v.frame) if v.frame else []:
        state = json.loads(out.state_json)
        assert state["user"] == json.loads(USER)
