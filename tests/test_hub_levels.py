"""Access levels and the server's own token on a real JupyterHub (issues 13 and 14).

The hub is the demo's (``rtc_presence.hub.configure(c)``, CHP, local spawner, sqlite);
people are driven as browsers. ``rtc_presence.sharing.HubSharing`` is called with the
owner's own browser token, as the single-user server does.
"""

from __future__ import annotations

import asyncio
import html
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from rtc_presence.access import DESCRIPTIONS, LEVELS, level_from_scopes, scope
from rtc_presence.sharescopes import ShareScopes
from rtc_presence.sharing import (
    HubSharing,
    HubTarget,
    SharingError,
    invite_model,
    share_level,
)
from rtc_presence.testing.hubclient import DemoHub, HubAPI, HubBrowser, parse_forms
from rtc_presence.testing.yclient import open_session, room_url

pytestmark = pytest.mark.hub

SERVER = "alice/"


def on_alice(name: str) -> str:
    return f"{name}!server={SERVER}"


def levels_held(scopes: list[str]) -> set[str]:
    """The level scopes among ``scopes`` that apply to alice's server."""
    return {level for level in LEVELS if on_alice(scope(level)) in scopes}


async def token_scopes(hub: DemoHub, token: str) -> list[str]:
    """The token model the hub gives a single-user server for ``token`` (what HubAuth
    asks: ``GET /hub/api/user``)."""
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.get(hub.url + "hub/api/user", headers={"Authorization": f"token {token}"})
    assert r.status_code == 200, r.text
    return list(r.json()["scopes"])


async def test_levels_travel_as_custom_scopes(tmp_path: Path) -> None:
    async with (
        DemoHub(tmp_path / "state", log_path=tmp_path / "demo.log") as hub,
        HubBrowser(hub.url, "alice") as alice,
        HubBrowser(hub.url, "bob") as bob,
        HubBrowser(hub.url, "carol") as carol,
    ):
        await alice.login()
        await alice.start_server()
        owner_page = await alice.open_lab()
        assert owner_page.token
        owner_token = owner_page.token
        sharing = HubSharing(HubTarget(hub.url + "hub/api", "alice"))

        # the owner's browser token holds every level for her own server (to grant it)
        owner_scopes = await token_scopes(hub, owner_token)
        assert levels_held(owner_scopes) == set(LEVELS)
        assert on_alice("shares") in owner_scopes

        # a view link: the scopes of the contract, accepted by the hub
        code = await sharing.create_code(owner_token, 3600, "view")
        assert sorted(code["scopes"]) == sorted(
            [on_alice("access:servers"), on_alice("custom:rtc-presence:view")]
        )
        model = invite_model(code)
        assert (model["access"], model["access_for"]) == ("view", None)
        assert model["url"]

        # the accept page says in plain words what bob is accepting
        await bob.login()
        r = await bob.client.get(hub.url + "hub/accept-share", params={"code": code["code"]})
        assert r.status_code == 200
        assert DESCRIPTIONS["view"] in html.unescape(r.text)
        assert DESCRIPTIONS["run"] not in html.unescape(r.text)
        await bob.accept_share(code["code"])

        # The authorize page of his first visit, and so his token for alice's server,
        # carry no level: JupyterHub 6 resolves a server's OAuth scopes against the
        # guest's roles, not his shares (pinned: ShareScopes exists because of it).
        r = await bob.navigate("user/alice/lab", consent=False)
        assert "/hub/api/oauth2/authorize" in str(r.url), r.url
        consent = [f for f in parse_forms(r.text) if f.values("scopes")]
        assert consent and not [
            s for s in consent[0].values("scopes") if s.startswith("custom:rtc-presence:")
        ]
        bob_page = await bob.open_lab("alice")
        assert bob.consents == 1
        assert bob_page.token
        bob_scopes = await token_scopes(hub, bob_page.token)
        assert on_alice("access:servers") in bob_scopes
        assert levels_held(bob_scopes) == set()
        assert not [s for s in bob_scopes if s.startswith("shares")]

        # the server reads his level from the share, with its own token
        now = [0.0]
        levels = ShareScopes(
            HubSharing(sharing.target), server_token_of(hub, "alice"), clock=lambda: now[0]
        )
        assert levels_held(await levels.of("bob") or []) == {"view"}
        assert level_from_scopes(await levels.of("bob") or [], SERVER, "run") == "view"
        assert await levels.of("alice") == []  # the owner has no share
        (share,) = await sharing.list_shares(owner_token)
        assert share_level(share) == "view"
        # ... as alice's server does: bob is a view guest there, writes are refused
        guest = bob.api("alice")
        me = (await guest.get("api/me")).json()["identity"]
        assert (me["role"], me["access"]) == ("guest", "view")
        r = await guest.put(
            "api/contents/bob.txt", json={"type": "file", "format": "text", "content": "x"}
        )
        assert r.status_code == 403, r.text
        assert (await guest.get("api/contents")).status_code == 200

        # a guest can not grant a level on alice's server, with any token he holds
        body = {"scopes": [on_alice("access:servers"), on_alice(scope("run"))]}
        bob_hub = await bob.hub_api()
        for token in (bob_page.token, bob_hub.token):
            guest_api = HubAPI(hub.url, token)
            try:
                # (the hub answers 404 "No access to resources" without the scope)
                r = await guest_api.post("share-codes/alice/", json=body)
                assert r.status_code in (403, 404), r.text
                r = await guest_api.post("shares/alice/", json={"user": "carol", **body})
                assert r.status_code in (403, 404), r.text
            finally:
                await guest_api.aclose()
        with pytest.raises(SharingError) as refused:
            await sharing.create_code(bob_page.token, 3600, "run")
        assert refused.value.status in (403, 404)
        assert len(await sharing.list_codes(owner_token)) == 1

        # upgrade view -> edit: the share says edit, the server's reader after max_age
        calls = levels.calls
        share = await sharing.set_level(owner_token, "bob", "edit")
        assert levels_held(share["scopes"]) == {"edit"}
        assert share_level(share) == "edit"
        assert on_alice("access:servers") in share["scopes"]
        assert levels_held(await levels.of("bob") or []) == {"view"}  # cached
        assert levels.calls == calls
        now[0] += levels.max_age
        assert levels_held(await levels.of("bob") or []) == {"edit"}
        assert levels.calls == calls + 1

        # alice's server follows a change made on the hub (here: by the owner's token
        # directly) within its reader's max_age
        async def bob_access() -> str:
            return str((await guest.get("api/me")).json()["identity"]["access"])

        deadline = time.monotonic() + 30
        while await bob_access() != "edit":
            assert time.monotonic() < deadline, "alice's server did not see the new level"
            await asyncio.sleep(0.2)
        r = await guest.put(
            "api/contents/bob.txt", json={"type": "file", "format": "text", "content": "x"}
        )
        assert r.status_code == 201, r.text

        # downgrade edit -> view: no higher scope left anywhere
        share = await sharing.set_level(owner_token, "bob", "view")
        assert levels_held(share["scopes"]) == {"view"}
        (listed,) = await sharing.list_shares(owner_token)
        assert levels_held(listed["scopes"]) == {"view"}
        levels.invalidate()
        assert levels_held(await levels.of("bob") or []) == {"view"}
        # through the owner's API of alice's server: the same calls
        r = await alice.api().patch("api/rtc-presence/guests/bob", json={"access": "edit"})
        assert r.status_code == 200, r.text
        assert r.json()["access"] == "edit"
        (listed,) = await sharing.list_shares(owner_token)
        assert levels_held(listed["scopes"]) == {"edit"}
        assert await bob_access() == "edit"
        # and up to run, and the same level again changes nothing
        share = await sharing.set_level(owner_token, "bob", "run")
        assert levels_held(share["scopes"]) == {"run"}
        assert (await sharing.set_level(owner_token, "bob", "run"))["scopes"] == share["scopes"]

        # a share made with the hub's own API carries no level; set_level gives it one
        plain = await (await alice.hub_api()).create_share_code("alice")
        assert invite_model(plain)["access"] == "run"  # unscoped_access default
        assert invite_model(plain, unscoped_access="view")["access"] == "view"
        await carol.login()
        calls = levels.calls
        await carol.accept_share(plain["code"])
        # a name the listing does not hold is read again at once, not left at
        # "no share" (the unscoped level) until the listing ages: a new guest
        now[0] += 0.01
        assert await levels.of("carol") == [on_alice("access:servers")]
        assert levels.calls == calls + 1
        # a person the hub lets in without a share (the owner here) is asked for
        # once, then remembered for max_age
        now[0] += 0.01
        assert await levels.of("alice") == []
        assert await levels.of("alice") == []
        assert levels.calls == calls + 2
        carol_share = await sharing.find_share(owner_token, "carol")
        assert carol_share is not None
        assert share_level(carol_share) is None
        assert share_level(carol_share, "run") == "run"
        carol_share = await sharing.set_level(owner_token, "carol", "view")
        assert sorted(carol_share["scopes"]) == sorted(
            [on_alice("access:servers"), on_alice(scope("view"))]
        )

        # nobody gets access through a level change
        await sharing.revoke_user(owner_token, "carol")
        with pytest.raises(SharingError) as missing:
            await sharing.set_level(owner_token, "carol", "edit")
        assert missing.value.status == 404
        assert "carol" in missing.value.message
        assert await sharing.find_share(owner_token, "carol") is None

        # a link with a term carries it as a scope
        timed = await sharing.create_code(owner_token, 600, "edit", 3600)
        assert on_alice("custom:rtc-presence:for-3600") in timed["scopes"]
        model = invite_model(timed)
        assert (model["access"], model["access_for"]) == ("edit", 3600)
        # a token the hub refuses: no answer (callers fail closed), asked again later
        blind = ShareScopes(HubSharing(sharing.target), "not-a-token", clock=lambda: now[0])
        assert await blind.of("bob") is None
        assert await blind.of("bob") is None  # not asked again at once
        assert blind.calls == 1
        now[0] += blind.min_interval
        assert await blind.of("bob") is None
        assert blind.calls == 2

        listed_models = [invite_model(c) for c in await sharing.list_codes(owner_token)]
        assert {(m["access"], m["access_for"]) for m in listed_models} == {
            ("view", None),
            ("run", None),
            ("edit", 3600),
        }


# ---------------------------------------------------------------- the server's own token


def server_token_of(hub: DemoHub, owner: str) -> str:
    """``$JUPYTERHUB_API_TOKEN`` of ``owner``'s server, read from its process as a guest
    who runs code would (``/proc/<pid>/environ``)."""
    for pid in hub.leftover_pids():
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        env = dict(
            item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item
        )
        if env.get("JUPYTERHUB_USER") == owner and env.get("JUPYTERHUB_API_TOKEN"):
            return env["JUPYTERHUB_API_TOKEN"]
    raise AssertionError(f"no server process of {owner} with JUPYTERHUB_API_TOKEN")


async def ws_refused(url: str, headers: dict[str, str]) -> int:
    """The HTTP status that refused the websocket handshake (fails if it opened)."""
    try:
        async with connect(url, additional_headers=headers, proxy=None, open_timeout=30):
            pass
    except InvalidStatus as exc:
        return exc.response.status_code
    raise AssertionError(f"websocket {url} opened")


async def server_activity(alice: HubBrowser) -> str | None:
    model = await alice.server_model()
    assert model is not None
    return model.get("last_activity")


async def test_server_token_cannot_open_the_server(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # Report activity every second (the default is 300 s), through the server's token.
    config_dir = state / "home" / "alice" / ".jupyter"
    config_dir.mkdir(parents=True)
    (config_dir / "jupyter_server_config.py").write_text(
        "c.JupyterHubSingleUser.hub_activity_interval = 1\n"
    )
    async with (
        DemoHub(state, log_path=tmp_path / "demo.log") as hub,
        HubBrowser(hub.url, "alice") as alice,
        HubBrowser(hub.url, "bob") as bob,
    ):
        # jupyterhub-singleuser starts, the owner logs in through OAuth
        await alice.login()
        await alice.start_server()
        await alice.open_lab()
        owner = alice.api()
        me = (await owner.get("api/me")).json()["identity"]
        assert (me["username"], me["role"]) == ("alice", "owner")

        # the hub gave the server's token posting activity and reading its shares, no more
        tokens = (await alice.hub_request("GET", "users/alice/tokens")).json()["api_tokens"]
        (server_token,) = [t for t in tokens if t["note"].startswith("Server at")]
        stolen = server_token_of(hub, "alice")
        for scopes in (server_token["scopes"], await token_scopes(hub, stolen)):
            assert {"users:activity!user=alice", "read:shares!server=alice/"} <= set(scopes)
            # besides: only what identifies alice (the hub adds it to every token)
            others = set(scopes) - {"users:activity!user=alice", "read:shares!server=alice/"}
            assert all(s.startswith("read:users:") and s.endswith("!user=alice") for s in others)

        # ... which it still does: the server's last activity moves after a request
        before = await server_activity(alice)
        await asyncio.sleep(1.1)  # activity timestamps have a resolution of seconds
        assert (await owner.get("api/contents")).status_code == 200
        deadline = time.monotonic() + 30
        while (after := await server_activity(alice)) == before:
            assert time.monotonic() < deadline, "the server did not report activity"
            await asyncio.sleep(0.2)
        assert after is not None and (before is None or after > before)
        assert "Error notifying Hub of activity" not in hub.log_path.read_text()

        # a guest still logs in through OAuth
        code = await (await alice.hub_api()).create_share_code("alice")
        await bob.login()
        await bob.accept_share(code["code"])
        await bob.open_lab("alice")
        me = (await bob.api("alice").get("api/me")).json()["identity"]
        assert (me["username"], me["role"]) == ("bob", "guest")

        # the stolen token opens nothing on the server
        base = hub.url + "user/alice/"
        headers = {"Authorization": f"token {stolen}"}
        r = await owner.put_notebook("shared.ipynb", "print(1)")
        assert r.status_code in (200, 201), r.text
        async with httpx.AsyncClient(timeout=30) as client:
            for method, path in [
                ("GET", "api/contents"),
                ("GET", "api/contents/shared.ipynb"),
                ("PUT", "api/contents/stolen.txt"),
                ("GET", "api/me"),
                ("GET", "api/status"),
                ("POST", "api/kernels"),
                ("GET", "api/rtc-presence/info"),
                ("GET", "api/rtc-presence/presence"),
                ("GET", "api/rtc-presence/guests"),
                ("POST", "api/rtc-presence/invites"),
                ("DELETE", "api/rtc-presence/guests/bob"),
                ("POST", "api/rtc-presence/guests/bob/allow"),
                ("PUT", "api/collaboration/session/shared.ipynb"),
            ]:
                body = b"{}" if method in ("POST", "PUT") else None
                r = await client.request(method, base + path, headers=headers, content=body)
                assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
        assert not (state / "home" / "alice" / "stolen.txt").exists()
        # on the hub it reads who has access to this server, and changes nothing
        stolen_api = HubAPI(hub.url, stolen)
        try:
            r = await stolen_api.get("shares/alice/")
            assert r.status_code == 200, r.text
            assert [s["user"]["name"] for s in r.json()["items"]] == ["bob"]
            calls: list[tuple[str, str, dict[str, Any] | None]] = [
                ("POST", "share-codes/alice/", {}),
                ("PATCH", "shares/alice/", {"user": "bob"}),
                ("DELETE", "shares/alice/", None),
                ("POST", "users/alice/tokens", {"scopes": ["inherit"]}),
                ("DELETE", "users/alice/server", None),
                ("GET", "shares/bob/", None),
            ]
            for method, path, hub_body in calls:
                r = await stolen_api.request(method, path, json=hub_body)
                assert r.status_code in (403, 404), (method, path, r.status_code, r.text)
        finally:
            await stolen_api.aclose()
        assert [s["user"]["name"] for s in await (await alice.hub_api()).shares("alice")] == ["bob"]
        assert (await bob.api("alice").get("api/status")).status_code == 200

        # nor any websocket: a room, the presence stream, a kernel's channels
        owner_headers = {**owner.headers(), **owner.websocket_headers()}
        room_id, session = await open_session(owner.base_url, "shared.ipynb", headers=owner_headers)
        r = await owner.post("api/kernels", json={"name": "python3"})
        assert r.status_code == 201, r.text
        kernel_id = r.json()["id"]
        ws_base = "ws" + base[len("http") :]
        for url in [
            room_url(ws_base, room_id, session),
            ws_base + "api/rtc-presence/presence/stream",
            ws_base + f"api/kernels/{kernel_id}/channels",
        ]:
            assert await ws_refused(url, headers) == 403, url
        assert (await owner.delete(f"api/kernels/{kernel_id}")).status_code == 204
        assert (await owner.get("api/contents/shared.ipynb")).status_code == 200
