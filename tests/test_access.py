"""Reading levels and terms back from hub scopes (rtc_presence.access)."""

from __future__ import annotations

from types import SimpleNamespace

from rtc_presence.access import (
    all_scopes,
    duration_from_scopes,
    level_from_scopes,
    stamp,
    user_access,
    user_role,
)


def test_the_highest_level_for_this_server_wins() -> None:
    held = [
        "access:servers!server=alice/",
        "custom:rtc-presence:view!server=alice/",
        "custom:rtc-presence:run!server=zed/",  # another server's
        "custom:rtc-presence:edit!user=alice",
        "custom:rtc-presence:sudo!server=alice/",  # not a level
    ]
    assert level_from_scopes(held, "alice/", "run") == "edit"
    assert level_from_scopes(held[:1], "alice/", "run") == "run"
    assert level_from_scopes(held[:1], "alice/", None) is None
    assert level_from_scopes(["custom:rtc-presence:view!server=alice/lab"], "alice/", None) is None


def test_terms_take_the_longest_known_one() -> None:
    held = [
        "custom:rtc-presence:for-3600!server=alice/",
        "custom:rtc-presence:for-86400!server=alice/",
        "custom:rtc-presence:for-604800!server=bob/",
        "custom:rtc-presence:for-123!server=alice/",  # not an offered term
    ]
    assert duration_from_scopes(held, "alice/") == 86400
    assert duration_from_scopes([], "alice/") is None


def test_every_scope_has_a_plain_description() -> None:
    scopes = all_scopes()
    assert set(scopes) >= {f"custom:rtc-presence:{lv}" for lv in ("view", "edit", "run")}
    assert all(text.endswith(".") and len(text) > 20 for text in scopes.values())


def test_an_unstamped_user_is_a_viewing_guest() -> None:
    user = SimpleNamespace()
    assert (user_role(user), user_access(user)) == ("guest", "view")
    stamp(user, "owner", "run")
    assert (user_role(user), user_access(user)) == ("owner", "run")
