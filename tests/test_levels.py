"""Access levels enforced by a real server: what view, edit and run guests may do.

The guests here are what the hub would make them: bob's level is the one the
owner set on this server (``Gate.set_access``, what ``PATCH guests/bob`` does
after telling the hub), which wins over the scopes of any token he holds.
Every refused path is tried the way a hand-written client would.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pycrdt
import pytest
from websockets.exceptions import InvalidStatus

from rtc_presence.access import Access
from rtc_presence.closecodes import CloseCode
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.yclient import append_text, cell_source


def _level(rtc_server: RTCServer, user: str, level: Access) -> int:
    closed: int = rtc_server.state.gate.set_access(user, level)
    return closed


async def _kernel(rtc_server: RTCServer, user: str = "alice") -> str:
    resp = await rtc_server.request(user, "POST", "api/kernels", body={"name": "python3"})
    assert resp.status_code == 201, resp.text
    kernel_id: str = resp.json()["id"]
    return kernel_id


WRITES: list[tuple[str, str, Any]] = [
    ("PUT", "api/contents/new.txt", {"type": "file", "format": "text", "content": "x"}),
    ("POST", "api/contents", {"type": "notebook"}),
    ("PATCH", "api/contents/shared.ipynb", {"path": "renamed.ipynb"}),
    ("DELETE", "api/contents/shared.ipynb", None),
    ("POST", "api/kernels", {"name": "python3"}),
    ("POST", "api/sessions", {"path": "s.ipynb", "type": "notebook", "kernel": {}}),
    ("POST", "api/terminals", None),
    ("PATCH", "api/config/notebook", {"x": 1}),
    ("POST", "api/shutdown", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_a_viewer_changes_nothing(
    rtc_server: RTCServer, method: str, path: str, body: Any
) -> None:
    rtc_server.notebook()
    _level(rtc_server, "bob", "view")
    before = sorted(p.name for p in rtc_server.root.iterdir())
    resp = await rtc_server.request("bob", method, path, body=body)
    assert resp.status_code == 403, resp.text
    assert "access (view)" in resp.json()["message"]
    assert sorted(p.name for p in rtc_server.root.iterdir()) == before
    kernels = await rtc_server.request("alice", "GET", "api/kernels")
    assert kernels.json() == []


async def test_a_viewer_reads_and_opens_documents(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    _level(rtc_server, "bob", "view")
    assert (await rtc_server.request("bob", "GET", f"api/contents/{path}")).status_code == 200
    assert (await rtc_server.request("bob", "GET", "api/kernelspecs")).status_code == 200
    me = (await rtc_server.request("bob", "GET", "api/me")).json()
    assert me["identity"]["access"] == "view"
    assert me["identity"]["role"] == "guest"
    info = (await rtc_server.request("bob", "GET", "api/rtc-presence/info")).json()
    assert info["me"]["access"] == "view"
    assert [lv["access"] for lv in info["levels"]] == ["view", "edit", "run"]
    # Opening a document asks for a room session (a PUT): allowed.
    bob = await rtc_server.room("bob", path)
    await bob.wait_synced()


async def test_a_viewers_edits_never_reach_the_room(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook(cells=1)
    _level(rtc_server, "bob", "view")
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    carol = await rtc_server.room("carol", path)
    for client in (alice, bob, carol):
        await client.wait_synced()
    append_text(bob.doc, 0, "<bob was here>")
    await bob.send_save()
    append_text(alice.doc, 0, "<alice>")
    # alice's later edit reaches everyone, bob included: had bob's arrived, it
    # would have come first on the same ordered sockets.
    for client in (bob, carol):
        await client.wait_until(lambda c=client: "<alice>" in str(cell_source(c.doc, 0)), 10)
    await alice.wait_until(lambda: "<alice>" in str(cell_source(alice.doc, 0)), 10)
    assert "<bob was here>" not in str(cell_source(alice.doc, 0))
    assert "<bob was here>" not in str(cell_source(carol.doc, 0))
    assert not bob.closed  # still following along
    room = next(iter(rtc_server.state.liveness.peers)).room
    cells = room.ydoc.get("cells", type=pycrdt.Array)
    assert "<alice>" in str(cells[0]["source"])
    assert "<bob was here>" not in str(cells[0]["source"])


async def test_an_editor_edits_but_runs_nothing(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook(cells=1)
    _level(rtc_server, "bob", "edit")
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    await alice.wait_synced()
    await bob.wait_synced()
    append_text(bob.doc, 0, "<bob edits>")
    await alice.wait_until(lambda: "<bob edits>" in str(cell_source(alice.doc, 0)), 10)
    put = await rtc_server.request(
        "bob",
        "PUT",
        "api/contents/notes.txt",
        body={"type": "file", "format": "text", "content": "bob"},
    )
    assert put.status_code == 201, put.text
    assert (rtc_server.root / "notes.txt").read_text() == "bob"
    for method, path_, body in WRITES[4:]:
        resp = await rtc_server.request("bob", method, path_, body=body)
        assert resp.status_code == 403, (path_, resp.text)
    kernel_id = await _kernel(rtc_server)
    with pytest.raises(InvalidStatus) as refused:
        async with rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob"):
            pass
    assert refused.value.response.status_code == 403


async def test_a_runner_runs(rtc_server: RTCServer) -> None:
    _level(rtc_server, "bob", "run")
    kernel_id = await _kernel(rtc_server, "bob")
    async with rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob") as ws:
        assert ws.protocol is not None
    term = await rtc_server.request("bob", "POST", "api/terminals")
    assert term.status_code == 200, term.text


async def test_a_downgrade_closes_kernel_and_room_sockets_at_once(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook(cells=1)
    _level(rtc_server, "bob", "run")
    kernel_id = await _kernel(rtc_server, "bob")
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    await alice.wait_synced()
    await bob.wait_synced()
    async with rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob") as kernel_ws:
        started = time.monotonic()
        closed = _level(rtc_server, "bob", "view")
        assert closed >= 2
        code, reason = await bob.wait_closed(timeout=1)
        assert (code, reason) == (CloseCode.ACCESS_CHANGED, "access changed")
        await asyncio.wait_for(kernel_ws.wait_closed(), timeout=1)
        assert kernel_ws.close_code == CloseCode.ACCESS_CHANGED
        assert time.monotonic() - started < 1.5
    # Reconnected at the new level: he follows, his edits stay his own.
    bob = await rtc_server.room("bob", path)
    await bob.wait_synced()
    append_text(bob.doc, 0, "<after downgrade>")
    append_text(alice.doc, 0, "<alice>")
    await bob.wait_until(lambda: "<alice>" in str(cell_source(bob.doc, 0)), 10)
    assert "<after downgrade>" not in str(cell_source(alice.doc, 0))
    with pytest.raises(InvalidStatus):
        async with rtc_server.ws(f"api/kernels/{kernel_id}/channels", "bob"):
            pass


async def test_an_upgrade_lets_the_next_edit_through(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook(cells=1)
    _level(rtc_server, "bob", "view")
    alice = await rtc_server.room("alice", path)
    await alice.wait_synced()
    bob = await rtc_server.room("bob", path)
    await bob.wait_synced()
    _level(rtc_server, "bob", "edit")
    await bob.wait_closed(timeout=1)
    bob = await rtc_server.room("bob", path)
    await bob.wait_synced()
    append_text(bob.doc, 0, "<now an editor>")
    await alice.wait_until(lambda: "<now an editor>" in str(cell_source(alice.doc, 0)), 10)


async def test_the_owner_is_never_downgraded(rtc_server: RTCServer) -> None:
    with pytest.raises(ValueError, match="owner"):
        rtc_server.state.gate.set_access("alice", "view")
    me = (await rtc_server.request("alice", "GET", "api/me")).json()
    assert me["identity"]["access"] == "run"


async def test_time_boxed_access_ends_on_time(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook(cells=1)
    bob = await rtc_server.room("bob", path)
    await bob.wait_synced()
    grants = rtc_server.state.gate.grants
    grants.set_end("bob", time.time() + 1.0)
    code, reason = await bob.wait_closed(timeout=4)
    assert (code, reason) == (CloseCode.REVOKED, "access expired")
    resp = await rtc_server.request("bob", "GET", f"api/contents/{path}")
    assert resp.status_code == 403
    assert resp.json()["message"] == "Your access to this server expired."
    assert "bob" in rtc_server.state.gate.expired


@pytest.mark.parametrize(
    ("level", "method", "path", "allowed"),
    [
        # Handlers that never ask the authorizer (JupyterLab's settings and
        # workspaces, other extensions) are covered by the gate's path rule.
        ("view", "PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes", False),
        ("edit", "PUT", "lab/api/settings/@jupyterlab/apputils-extension:themes", False),
        ("edit", "PUT", "lab/api/workspaces/default", False),
        ("view", "POST", "some-extension/api/anything", False),
        ("view", "PUT", "api/collaboration/session/a.ipynb", True),
        ("view", "PUT", "api/collaboration/undo/room", False),
        ("edit", "PUT", "api/collaboration/undo/room", True),
        ("edit", "PATCH", "api/contents/a.ipynb", True),
        ("view", "GET", "anything/at/all", True),
        ("run", "PUT", "lab/api/settings/x", True),
    ],
)
def test_the_request_rule(level: Access, method: str, path: str, allowed: bool) -> None:
    from rtc_presence.authorizer import request_allowed

    assert request_allowed(level, method, path) is allowed
