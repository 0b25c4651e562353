"""The close-code table in TypeScript mirrors rtc_presence/closecodes.py."""

from __future__ import annotations

import re
from pathlib import Path

from rtc_presence.closecodes import FATAL, REASONS, CloseCode

TS_FILE = Path(__file__).resolve().parents[1] / "labextension" / "src" / "closecodes.ts"


def _ts_source() -> str:
    return TS_FILE.read_text(encoding="utf-8")


def _ts_enum() -> dict[str, int]:
    body = re.search(r"export enum CloseCode \{(?P<body>.*?)\n\}", _ts_source(), re.S)
    assert body is not None, "no `export enum CloseCode { ... }` in closecodes.ts"
    # Drop comments so that a number in a doc comment is never read as a member.
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", body.group("body"), flags=re.S)
    members = re.findall(r"\b([A-Z][A-Z0-9_]*)\s*=\s*(\d+)\s*,?", text)
    assert members, "CloseCode in closecodes.ts has no members"
    names = [name for name, _ in members]
    assert len(names) == len(set(names)), f"duplicate members: {names}"
    return {name: int(value) for name, value in members}


def _ts_fatal() -> set[str]:
    match = re.search(
        r"export const FATAL\b[^=]*=\s*new Set<number>\(\[(?P<items>[^\]]*)\]\)", _ts_source()
    )
    assert match is not None, "no `export const FATAL = new Set<number>([...])` in closecodes.ts"
    return set(re.findall(r"CloseCode\.([A-Z0-9_]+)", match.group("items")))


def test_same_codes_with_the_same_names() -> None:
    assert _ts_enum() == {code.name: code.value for code in CloseCode}


def test_same_fatal_codes() -> None:
    assert _ts_fatal() == {code.name for code in FATAL}


def test_only_revoked_is_fatal() -> None:
    # Flood (4429), malformed (4400) and over-limit (4413) closes are no reason
    # to give up for good: a client reconnects after them, with backoff.
    assert {code.name for code in FATAL} == {"REVOKED"}


def test_same_close_reasons() -> None:
    # The Lab tells "revoked by the owner" from "the owner stopped the server"
    # by the reason that comes with 4403.
    reasons = dict(re.findall(r"export const (\w+) = '([^']*)'", _ts_source()))
    assert reasons == REASONS
