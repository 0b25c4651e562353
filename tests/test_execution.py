"""Who ran what (issue 15), on a real Jupyter server with a real ipykernel.

Clients write whatever ``username`` they like in their kernel messages; the
server must record, stamp and show the person it verified for the websocket
(or the REST request) instead. Both kernel websocket protocols are covered.
"""

from __future__ import annotations

import hashlib
import json
import socket
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from rtc_presence.execution import AttributedKernelConnection
from rtc_presence.executionlog import EVENTS_SCHEMA_ID, ExecutionLog
from rtc_presence.pytest_plugin import RTCServer
from rtc_presence.testing.kernelwire import KernelClient, Protocol
from rtc_presence.testing.waiting import until

NOTEBOOK = "analysis.ipynb"
# What the kernel itself was told: the header of the request it is executing.
KERNEL_SEES = "print(get_ipython().kernel.get_parent()['header']['username'])"


async def _kernel(rtc_server: RTCServer, user: str = "alice") -> str:
    rtc_server.notebook(NOTEBOOK)
    resp = await rtc_server.request(
        user,
        "POST",
        "api/sessions",
        {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}},
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["kernel"]["id"])


def _events(rtc_server: RTCServer) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(data)

    rtc_server.app.event_logger.add_listener(schema_id=EVENTS_SCHEMA_ID, listener=listener)
    return seen


def _log(rtc_server: RTCServer) -> ExecutionLog:
    log: ExecutionLog | None = rtc_server.state.executions
    assert log is not None, "the execution log is in the server's RTCState"
    return log


async def _activity(rtc_server: RTCServer, user: str = "alice", **query: str) -> list[Any]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    resp = await rtc_server.request(user, "GET", f"api/rtc-presence/activity?{qs}")
    assert resp.status_code == 200, resp.text
    events: list[Any] = resp.json()["events"]
    return events


def _stdout(client: KernelClient, msg_id: str) -> str:
    return "".join(
        m["content"].get("text", "")
        for m in client.seen
        if m["header"]["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id
    )


@pytest.mark.parametrize("protocol", ["json", "v1"])
async def test_claimed_username_is_replaced_by_the_verified_one(
    rtc_server: RTCServer, protocol: Protocol
) -> None:
    kernel_id = await _kernel(rtc_server)
    events = _events(rtc_server)
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token", protocol)
    code = f"x = 1\n{KERNEL_SEES}"
    msg_id, reply = await bob.execute(code, cell_id="cell-1", username="alice")

    assert reply["content"]["status"] == "ok"
    # The kernel was told bob, and every answer's parent header says bob.
    assert reply["parent_header"]["username"] == "bob"
    await bob.wait_for(msg_id, "status", execution_state="idle")
    assert _stdout(bob, msg_id) == "bob\n"
    iopub = [m for m in bob.seen if m["parent_header"].get("msg_id") == msg_id]
    assert {m["parent_header"]["username"] for m in iopub} == {"bob"}

    done = await until(
        lambda: [e for e in events if e["action"] == "execute"], 5, "the execution event"
    )
    event = done[0]
    assert event["username"] == "bob" and event["role"] == "guest" and event["access"] == "run"
    assert event["kernel_id"] == kernel_id and event["path"] == NOTEBOOK
    assert event["cell_id"] == "cell-1" and event["msg_id"] == msg_id
    assert event["code_sha256"] == hashlib.sha256(code.encode()).hexdigest()
    assert event["code_first_line"] == "x = 1"
    assert "code" not in event  # record_code is off by default
    assert event["status"] == "ok" and event["execution_count"] == 1
    assert event["requested"] <= event["started"] <= event["finished"]

    timeline = await _activity(rtc_server, path=NOTEBOOK)
    runs = [e for e in timeline if e["kind"] == "execute"]
    assert [(e["username"], e["cell_id"], e["status"]) for e in runs] == [("bob", "cell-1", "ok")]
    assert runs[0]["display_name"] == "Bob Dupont" and runs[0]["initials"] == "BD"
    assert _log(rtc_server).kernels_run_by("bob") == [kernel_id]
    assert _log(rtc_server).kernels_run_by("alice") == []
    await bob.close()


async def test_two_people_in_one_kernel_are_told_apart(rtc_server: RTCServer) -> None:
    kernel_id = await _kernel(rtc_server)
    alice = await KernelClient.connect(rtc_server.ws_url, kernel_id, "alice-token")
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token", "v1")
    a_id, _ = await alice.execute(KERNEL_SEES, cell_id="a", username="bob")
    b_id, _ = await bob.execute(KERNEL_SEES, cell_id="b", username="alice")
    # Each sees the other's outputs (iopub goes to every connection), attributed.
    bob_on_alice = await alice.wait_for(b_id, "stream")
    assert bob_on_alice["parent_header"]["username"] == "bob"
    assert bob_on_alice["content"]["text"] == "bob\n"
    alice_on_bob = await bob.wait_for(a_id, "stream")
    assert alice_on_bob["parent_header"]["username"] == "alice"

    await until(
        lambda: _log(rtc_server).people_of(kernel_id) == {"alice": 1, "bob": 1},
        5,
        "one execution each",
    )
    runs = await until(
        lambda: _activity(rtc_server, user="bob"),
        5,
        "both executions finished",
        accept=lambda es: (
            [(e["username"], e["cell_id"], e["status"]) for e in es if e["kind"] == "execute"]
            == [("alice", "a", "ok"), ("bob", "b", "ok")]
        ),
    )
    assert {e["role"] for e in runs if e["kind"] == "execute"} == {"owner", "guest"}
    await alice.close()
    await bob.close()


async def test_interrupt_and_restart_are_attributed(rtc_server: RTCServer) -> None:
    kernel_id = await _kernel(rtc_server)
    present = await rtc_server.global_room("bob")  # a presence row for bob
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token")
    msg = bob.message(
        "execute_request",
        {"code": "import time\ntime.sleep(60)", "silent": False},
        {"cellId": "slow"},
    )
    msg_id = await bob.send("shell", msg)
    await bob.wait_for(msg_id, "status", execution_state="busy")

    # While it runs, bob's presence row says what he is running.
    async def bob_row() -> dict[str, Any] | None:
        resp = await rtc_server.request("alice", "GET", "api/rtc-presence/presence")
        rows = {p["username"]: p for p in resp.json()["people"]}
        return rows.get("bob")

    row = await until(bob_row, 5, "bob's row running", accept=lambda r: bool(r and r["running"]))
    assert row is not None
    assert row["running"]["path"] == NOTEBOOK and row["running"]["cell_id"] == "slow"
    assert row["running"]["since"]

    # carol interrupts through the REST API (JupyterLab's toolbar), as herself.
    resp = await rtc_server.request("carol", "POST", f"api/kernels/{kernel_id}/interrupt")
    assert resp.status_code == 204, resp.text
    reply = await bob.wait_for(msg_id, "execute_reply")
    assert reply["content"]["status"] == "error"  # KeyboardInterrupt
    await until(
        lambda: bob_row(),
        5,
        "bob running nothing",
        accept=lambda r: bool(r and r["running"] is None),
    )

    # bob restarts over the websocket's control channel, claiming to be alice.
    restart = bob.message("shutdown_request", {"restart": True}, username="alice")
    await bob.send("control", restart)
    await bob.wait_for(restart["header"]["msg_id"], "shutdown_reply")

    timeline = await until(
        lambda: _activity(rtc_server),
        5,
        "interrupt and restart in the timeline",
        accept=lambda es: {"interrupt", "restart"} <= {e["kind"] for e in es},
    )
    actions = {e["kind"]: e for e in timeline if e["kind"] in ("interrupt", "restart")}
    assert actions["interrupt"]["username"] == "carol" and actions["interrupt"]["via"] == "rest"
    assert actions["restart"]["username"] == "bob" and actions["restart"]["via"] == "websocket"
    assert actions["interrupt"]["kernel_id"] == kernel_id == actions["restart"]["kernel_id"]
    assert actions["interrupt"]["path"] == NOTEBOOK
    runs = [e for e in timeline if e["kind"] == "execute"]
    assert [(e["username"], e["status"]) for e in runs] == [("bob", "error")]
    assert set(_log(rtc_server).kernels_run_by("carol")) == {kernel_id}
    await bob.close()
    await present.close()


@pytest.mark.parametrize("level", ["view", "edit"])
async def test_view_and_edit_guests_are_refused_at_the_kernel_websocket(
    rtc_server: RTCServer, level: str
) -> None:
    kernel_id = await _kernel(rtc_server)
    rtc_server.state.gate.set_access("bob", level)
    with pytest.raises(InvalidStatus) as refused:
        await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token")
    assert refused.value.response.status_code == 403
    assert _log(rtc_server).kernels_run_by("bob") == []
    changes = [e for e in await _activity(rtc_server) if e["kind"] == "access_changed"]
    assert [(e["username"], e["access"]) for e in changes] == [("bob", level)]
    # The owner still runs code in the same kernel.
    alice = await KernelClient.connect(rtc_server.ws_url, kernel_id, "alice-token", "v1")
    _, reply = await alice.execute("1 + 1")
    assert reply["content"]["status"] == "ok"
    await alice.close()


@pytest.mark.parametrize("rtc_config", [{"record_code": True}])
async def test_record_code_keeps_the_full_text(rtc_server: RTCServer) -> None:
    kernel_id = await _kernel(rtc_server)
    events = _events(rtc_server)
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token")
    code = "\n\nsecret = 42\nsecret * 2"
    await bob.execute(code)
    done = await until(lambda: [e for e in events if e["action"] == "execute"], 5, "the event")
    assert done[0]["code"] == code and done[0]["code_first_line"] == "secret = 42"
    await bob.close()


@pytest.mark.parametrize("rtc_config", [{"activity_visible_to_guests": False}])
async def test_activity_can_be_kept_from_guests(rtc_server: RTCServer) -> None:
    kernel_id = await _kernel(rtc_server)
    stream = await rtc_server.stream("bob")
    json.loads(await stream.recv())  # the snapshot
    resp = await rtc_server.request("bob", "GET", "api/rtc-presence/activity")
    assert resp.status_code == 403
    assert "owner" in resp.json()["message"]
    alice = await KernelClient.connect(rtc_server.ws_url, kernel_id, "alice-token")
    await alice.execute("1")
    owner_view = await until(lambda: _activity(rtc_server), 5, "alice's run", accept=bool)
    assert owner_view[-1]["kind"] == "execute"
    await alice.close()
    await stream.close()


async def test_activity_since_and_bad_input(rtc_server: RTCServer) -> None:
    resp = await rtc_server.request("alice", "GET", "api/rtc-presence/activity?since=yesterday")
    assert resp.status_code == 400
    assert "ISO 8601" in resp.json()["message"]
    g = await rtc_server.global_room("bob")
    joined = await until(lambda: _activity(rtc_server), 5, "bob's join", accept=bool)
    assert [(e["kind"], e["username"]) for e in joined] == [("join", "bob")]
    since = joined[-1]["updated"]
    again = await _activity(rtc_server, since=since)
    assert [e["id"] for e in again] == [joined[-1]["id"]]  # inclusive, to the millisecond
    await g.close()
    await until(
        lambda: _activity(rtc_server, since=since),
        5,
        "bob's leave",
        accept=lambda es: (
            [(e["kind"], e["username"]) for e in es] == [("join", "bob"), ("leave", "bob")]
        ),
    )


async def test_a_revoked_persons_last_execution_stays_in_the_timeline(
    rtc_server: RTCServer,
) -> None:
    kernel_id = await _kernel(rtc_server)
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token")
    await bob.execute("last = 'before the revoke'", cell_id="last-cell")
    rtc_server.state.gate.evict("bob", by="alice")
    timeline = await until(
        lambda: _activity(rtc_server),
        5,
        "bob's run and his revocation",
        accept=lambda es: (
            [e["kind"] for e in es if e["username"] == "bob"][-2:] == ["execute", "revoked"]
        ),
    )
    run, revoked = [e for e in timeline if e["username"] == "bob"][-2:]
    assert run["cell_id"] == "last-cell" and run["status"] == "ok"
    assert revoked["by"] == "alice"


async def test_kernel_websockets_have_tcp_nodelay(rtc_server: RTCServer) -> None:
    # A cell's reply comes as several small frames; with Nagle's algorithm
    # each waited for the client's delayed ACK (~40 ms, docs/execution.md).
    kernel_id = await _kernel(rtc_server)
    bob = await KernelClient.connect(rtc_server.ws_url, kernel_id, "bob-token")
    await bob.execute("1")
    connections = [c for c in AttributedKernelConnection._open_sockets if c.kernel_id == kernel_id]
    assert len(connections) == 1
    stream = connections[0].websocket_handler.ws_connection.stream
    assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    await bob.close()


async def test_who_opened_a_terminal_is_on_the_timeline(rtc_server: RTCServer) -> None:
    resp = await rtc_server.request("bob", "POST", "api/terminals")
    assert resp.status_code == 200, resp.text
    terminals = [e for e in await _activity(rtc_server) if e["kind"] == "terminal"]
    assert [e["username"] for e in terminals] == ["bob"]
    # A viewer opens none, and none is recorded.
    rtc_server.state.gate.set_access("carol", "view")
    assert (await rtc_server.request("carol", "POST", "api/terminals")).status_code == 403
    terminals = [e for e in await _activity(rtc_server) if e["kind"] == "terminal"]
    assert [e["username"] for e in terminals] == ["bob"]
