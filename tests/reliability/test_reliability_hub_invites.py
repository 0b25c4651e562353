"""Bad invite codes on a real JupyterHub (issue 7, part 1).

Unknown, revoked, malformed and own codes get the hub's clear refusal and grant
nothing. (Expired codes: ``test_hub_sharing.py::test_revocation_elsewhere_restart_and_expiry``
waits out a 60 s link; not repeated.)
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from rtc_presence.testing.hubclient import HubClientError
from tests.reliability.shared_hub import hub_state, shared_server, status_of
from tests.reliability.util import record

pytestmark = pytest.mark.hub


async def test_bad_invite_codes_are_refused_and_grant_nothing(tmp_path: Path) -> None:
    async with shared_server(tmp_path) as (hub, alice, _bob, carol):
        owner = alice.api()
        # a link created then revoked by the owner
        revoked = (await owner.post("api/rtc-presence/invites", json={})).json()
        r = await owner.delete(f"api/rtc-presence/invites/{revoked['id']}")
        assert r.status_code == 204
        revoked_code = urllib.parse.parse_qs(urllib.parse.urlparse(revoked["url"]).query)["code"][0]
        own = (await owner.post("api/rtc-presence/invites", json={})).json()
        before = await hub_state(alice)
        codes = {
            "unknown": "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "revoked": revoked_code,
            "script": "<script>alert(1)</script>",
            "sql": "' OR '1'='1' --",
            "unicode": "кодé😀",
            "empty": "",
            "nul": "\x00",
            "long": "A" * 8000,
        }
        refusals: dict[str, tuple[int, int]] = {}
        hub_xsrf = carol._hub_xsrf_headers()["X-XSRFToken"]
        for label, code in codes.items():
            page = await carol.client.get(
                hub.url + "hub/accept-share?" + urllib.parse.urlencode({"code": code})
            )
            posted = await carol.client.post(
                hub.url + "hub/accept-share", data={"code": code, "_xsrf": hub_xsrf}
            )
            refusals[label] = (page.status_code, posted.status_code)
            for r in (page, posted):
                assert r.status_code in (400, 404, 414, 431), (label, r.status_code)
                assert "<script>alert(1)</script>" not in r.text  # reflected only escaped
            if page.status_code == 404:
                assert "Share not found or expired" in page.text, label
        # the owner's own link: refused to herself
        own_code = urllib.parse.parse_qs(urllib.parse.urlparse(own["url"]).query)["code"][0]
        with pytest.raises(HubClientError) as refused:
            await alice.accept_share(own_code)
        assert refused.value.response is not None
        assert refused.value.response.status_code == 403
        # nothing granted: same shares and links, carol still has no access
        assert await hub_state(alice) == before
        assert await status_of(carol.api("alice")) == 403
        with pytest.raises(HubClientError):
            await carol.open_lab("alice")
        record(
            "invites_refused",
            {
                "codes_tried": len(codes) + 1,
                "statuses_get_post": refusals,
                "shares_changed": 0,
                "expired": "test_hub_sharing.py (60 s link)",
            },
        )
