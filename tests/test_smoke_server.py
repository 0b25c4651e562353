"""The extension loads in a real Jupyter server and completes identities."""

from __future__ import annotations

from rtc_presence.pytest_plugin import RTCServer


async def test_me_is_completed(rtc_server: RTCServer) -> None:
    resp = await rtc_server.request("bob", "GET", "api/me")
    assert resp.status_code == 200
    ident = resp.json()["identity"]
    assert ident["username"] == "bob"
    assert ident["display_name"] == "Bob Dupont"
    assert ident["initials"] == "BD"
    assert ident["color"].startswith("#")
    assert ident["role"] == "guest"


async def test_two_clients_sync(rtc_server: RTCServer) -> None:
    path = rtc_server.notebook()
    alice = await rtc_server.room("alice", path)
    bob = await rtc_server.room("bob", path)
    from rtc_presence.testing.yclient import append_text, cell_source

    append_text(alice.doc, 0, "hello-from-alice")
    await bob.wait_until(lambda: "hello-from-alice" in str(cell_source(bob.doc, 0)), 5)
