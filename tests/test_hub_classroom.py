"""A class on a real JupyterHub: one view link, every student through the proxy.

The teacher (alice) shares her server with one invite link at view level; the
students of ``rtc-presence demo --students N`` log in, accept it and open her
JupyterLab like browsers (login form, accept-share form, OAuth consent), then
all open the lesson's room at once through configurable-http-proxy with their
own cookies. She types; every student sees every key in order; what a student
sends to change the notebook never reaches anyone; the teacher sees each
student under the identity the hub gave them, whatever they wrote; and one
call throws the whole class out: every room socket closes 4403, every API
call is refused, and the teacher keeps working. The measured seconds go to
``bench/results/revocation.json`` (``classroom``) for the README.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rtc_presence.testing.hubclient import ServerAPI, owner_and_guest
from rtc_presence.testing.yclient import YClient, append_text, cell_source, open_session, room_url

pytestmark = pytest.mark.hub

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results" / "revocation.json"
STUDENTS = 100
LESSON = "lesson.ipynb"
KEYS = 20


async def _room(api: ServerAPI) -> YClient:
    headers = {**api.headers(), **api.websocket_headers()}
    room_id, session = await open_session(
        api.base_url, LESSON, headers=headers, client=api.browser.client, timeout=60
    )
    ws_base = "ws" + api.base_url[len("http") :]
    return await YClient.connect(
        room_url(ws_base, room_id, session), headers=api.websocket_headers(), timeout=60
    )


async def _status(api: ServerAPI) -> int:
    try:
        return (await api.get("api/contents")).status_code
    except httpx.HTTPError:
        return 0


def _record(key: str, value: Any) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


async def _all_keys(student: YClient) -> None:
    await student.wait_until(lambda: _keys_in_order(str(cell_source(student.doc, 0))), 60)


def _keys_in_order(text: str) -> bool:
    marks = [f"#K{k};" for k in range(KEYS)]
    at = [text.find(m) for m in marks]
    return all(i >= 0 for i in at) and at == sorted(at)


async def test_a_class_follows_one_view_link_and_leaves_at_once(tmp_path: Path) -> None:
    names = [f"student{i}" for i in range(1, STUDENTS + 1)]
    async with owner_and_guest(
        tmp_path / "hub",
        guests=names,
        notebook=(LESSON, ["# lesson\n"]),
        invite={"access": "view"},
        extra_args=["--students", str(STUDENTS)],
    ) as shared:
        owner = shared.owner.api()
        listed = (await owner.get("api/rtc-presence/guests")).json()["guests"]
        assert sorted(g["username"] for g in listed) == sorted(names)
        assert {g["access"] for g in listed} == {"view"}, json.dumps(listed, indent=1)

        # -- the whole class opens the lesson at once, through the proxy ----------
        teacher = await _room(owner)
        t0 = time.monotonic()
        apis = [g.api("alice") for g in shared.guests]
        students = await asyncio.gather(*(_room(api) for api in apis))
        all_synced_s = time.monotonic() - t0
        assert all("# lesson" in str(cell_source(s.doc, 0)) for s in students)

        # Each tab announces itself, claiming to be the teacher: the server
        # forwards the hub's identity of the sender instead.
        forged = {"name": "alice", "username": "alice", "display_name": "Alice Martin"}
        await asyncio.gather(*(s.set_awareness({"user": forged, "cursor": None}) for s in students))
        ids = {s.client_id: name for s, name in zip(students, names, strict=True)}

        def everyone_seen(states: dict[int, Any]) -> bool:
            return all(states.get(cid) for cid in ids)

        await teacher.wait_awareness(everyone_seen, 60)
        seen = {cid: teacher.awareness[cid] or {} for cid in ids}
        assert {cid: s["user"]["username"] for cid, s in seen.items()} == ids
        assert all(s["user"]["access"] == "view" for s in seen.values())
        people = (await owner.get("api/rtc-presence/presence")).json()["people"]
        assert set(names) <= {p["username"] for p in people}

        # -- she types; every student gets every key, in order -------------------
        for k in range(KEYS):
            append_text(teacher.doc, 0, f"#K{k};")
            await asyncio.sleep(0.1)  # human typing speed, 10 keys/s (not a wait)
        await asyncio.gather(*(_all_keys(s) for s in students))

        # -- a student's change reaches nobody; she stays in the class -----------
        rogue, other = students[0], students[1]
        append_text(rogue.doc, 0, "student-was-here")
        # The server handles one connection's frames in order: once her next
        # awareness state is forwarded, the change before it was handled.
        await rogue.set_awareness({"cursor": 1})
        await teacher.wait_awareness(
            lambda st: (st.get(rogue.client_id) or {}).get("cursor") == 1, 30
        )
        append_text(teacher.doc, 0, "#after;")
        await other.wait_until(lambda: "#after;" in str(cell_source(other.doc, 0)), 30)
        assert "student-was-here" not in str(cell_source(teacher.doc, 0))
        assert "student-was-here" not in str(cell_source(other.doc, 0))
        assert not rogue.closed

        # -- one call throws the class out -----------------------------------------
        t1 = time.monotonic()
        r = await owner.delete("api/rtc-presence/guests")
        assert r.status_code == 200, r.text
        assert set(r.json()["revoked"]) >= set(names)
        closed = await asyncio.gather(*(s.wait_closed(10) for s in students))
        socket_cutoff_s = time.monotonic() - t1
        assert {code for code, _ in closed} == {4403}
        statuses = await asyncio.gather(*(_status(api) for api in apis))
        http_cutoff_s = time.monotonic() - t1
        assert set(statuses) == {403}
        await teacher.wait_awareness(lambda st: not any(st.get(cid) for cid in ids), 10)
        append_text(teacher.doc, 0, "#class-dismissed;")
        assert not teacher.closed
        assert await _status(owner) == 200
        await teacher.close()

        _record(
            "classroom",
            {
                "students": STUDENTS,
                "all_synced_s": round(all_synced_s, 3),
                "socket_cutoff_s": round(socket_cutoff_s, 3),
                "http_cutoff_s": round(http_cutoff_s, 3),
            },
        )
