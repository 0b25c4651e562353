"""Identity completion, and the adoption of another identity provider class."""

from __future__ import annotations

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider

from rtc_presence.identity import RTCIdentityMixin, adopt_identity_provider
from rtc_presence.profiles import PALETTE, complete_user, make_color, make_initials
from rtc_presence.pytest_plugin import RTCServer


@pytest.mark.parametrize(
    ("display", "user", "expected"),
    [
        ("Alice Martin", "alice", "AM"),
        (None, "bob", "B"),
        ("jean-luc picard", "jl", "JP"),
        ("李小龙", "li", "李"),
        ("محمد علي", "m", "مع"),
        ("👩‍🔬 Ada", "ada", "👩‍🔬A"),
        ("Émile Zola", "ez", "ÉZ"),
        ("   ", "x.y", "XY"),
    ],
)
def test_initials(display: str | None, user: str, expected: str) -> None:
    assert make_initials(display, user) == expected


def test_color_is_stable_and_from_palette() -> None:
    assert make_color("alice") == make_color("alice")
    assert make_color("alice") in PALETTE
    assert len({make_color(f"user{i}") for i in range(200)}) == len(PALETTE)


def test_palette_colors_are_far_apart() -> None:
    # Two guests once got #1565C0 and #283593, nearly the same blue.
    def rgb(color: str) -> tuple[int, int, int]:
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)

    for i, a in enumerate(PALETTE):
        for b in PALETTE[i + 1 :]:
            distance = sum((x - y) ** 2 for x, y in zip(rgb(a), rgb(b), strict=True)) ** 0.5
            assert distance > 55, (a, b, distance)


def test_authenticator_values_win() -> None:
    user = complete_user(User(username="c", display_name="Carol N", initials="Q", color="#000"))
    assert (user.initials, user.color) == ("Q", "#000")


def test_adoption_keeps_state_and_class_behaviour() -> None:
    # Pins the in-place class swap used because JupyterHub forces its class.
    provider = JupyterHubIdentityProvider()
    hub_auth = provider.hub_auth
    adopted = adopt_identity_provider(provider)
    assert adopted is provider
    assert isinstance(provider, RTCIdentityMixin)
    assert isinstance(provider, JupyterHubIdentityProvider)
    assert provider.hub_auth is hub_auth
    assert type(provider).__mro__[1] is RTCIdentityMixin
    # idempotent, and the mixed class is reused
    cls = type(provider)
    adopt_identity_provider(provider)
    assert type(provider) is cls
    assert type(adopt_identity_provider(IdentityProvider())).__name__ == "RTCIdentityProvider"


async def test_me_under_the_real_server(rtc_server: RTCServer) -> None:
    views = []
    for viewer in ("alice", "bob"):
        resp = await rtc_server.request(viewer, "GET", "api/rtc-presence/info")
        assert resp.status_code == 200
        views.append(resp.json()["owner"])
    assert views[0] == views[1]
    resp = await rtc_server.request("carol", "GET", "api/me")
    ident = resp.json()["identity"]
    assert (ident["initials"], ident["color"], ident["role"]) == ("CaN", "#123456", "guest")
    resp = await rtc_server.request("alice", "GET", "api/me")
    assert resp.json()["identity"]["role"] == "owner"


async def test_offline_people_keep_their_names(rtc_server: RTCServer) -> None:
    await rtc_server.request("bob", "GET", "api/contents")
    assert not rtc_server.state.presence.is_present("bob")
    ident = rtc_server.state.identity_of("bob")
    assert (ident["display_name"], ident["initials"], ident["role"]) == (
        "Bob Dupont",
        "BD",
        "guest",
    )
    assert rtc_server.state.identity_of("nobody")["initials"] == "N"
