"""What everyone sees of a person: name, initials, color, role and access.

The hub (or the server's own identity provider outside a hub) says *who*;
this module fills what the authenticator left empty the same way for every
viewer: initials from the display name, a color from a fixed palette by a
stable hash of the user name.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from jupyter_server.auth.identity import User

from .access import Access, Role

# Readable on both the light and the dark JupyterLab themes (Material 700/800
# shades: white initials on them meet WCAG AA for large text).
# Nine hues far enough apart to tell two people apart at a glance (the old
# palette of twelve had blue/indigo, two teals, two greens and two oranges),
# each dark enough for white initials.
PALETTE: tuple[str, ...] = (
    "#1565C0",  # blue
    "#2E7D32",  # green
    "#C62828",  # red
    "#6A1B9A",  # purple
    "#D35400",  # orange
    "#00838F",  # teal
    "#AD1457",  # pink
    "#6D4C41",  # brown
    "#827717",  # olive
)

_JOINERS = {"\u200d", "\ufe0f", "\ufe0e"}


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _extends(ch: str) -> bool:
    """Characters that belong to the grapheme before them."""
    return (
        ch in _JOINERS
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")  # combining and enclosing marks
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tones
    )


def _first_grapheme(word: str) -> str:
    """The first user-perceived character of ``word`` (approximately).

    Keeps marks, keycaps, variation selectors, skin tones, flags (pairs of
    regional indicators) and zero-width-joiner sequences together, so emoji
    and accented names are not cut in half.
    """
    out = word[0]
    i = 1
    if _is_regional_indicator(out) and i < len(word) and _is_regional_indicator(word[i]):
        out += word[i]
        i += 1
    while i < len(word) and _extends(word[i]):
        out += word[i]
        i += 1
        if out[-1] == "\u200d" and i < len(word):
            out += word[i]
            i += 1
    return out


def _visible(text: str) -> str:
    # Bidi controls, zero-width spaces and other format characters are not letters.
    # The zero-width joiner stays: it glues emoji sequences together.
    return "".join(
        ch for ch in text if ch == "\u200d" or unicodedata.category(ch) not in ("Cf", "Cc")
    )


def _upper(grapheme: str) -> str:
    # "ß".upper() is "SS": keep a letter whose capital is not one letter.
    upper = grapheme.upper()
    return upper if len(upper) == len(grapheme) else grapheme


def make_initials(display_name: str | None, username: str) -> str:
    """Initials from the display name: "Alice Martin" -> "AM", "bob" -> "B"."""
    words = _visible(display_name or "").replace("_", " ").replace(".", " ").split()
    if not words:
        words = _visible(username).replace("_", " ").replace(".", " ").split() or ["?"]
    letters = [_first_grapheme(words[0])]
    if len(words) > 1:
        letters.append(_first_grapheme(words[-1]))
    return "".join(_upper(letter) for letter in letters)


def make_color(username: str) -> str:
    """A palette color chosen by a stable hash of the user name."""
    digest = hashlib.sha256(username.encode("utf-8")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def complete_user(user: User) -> User:
    """Fill the identity fields the authenticator left empty (in place)."""
    if not user.name:
        user.name = user.username
    if not user.display_name:
        user.display_name = user.name
    if not user.initials:
        user.initials = make_initials(user.display_name, user.username)
    if not user.color:
        user.color = make_color(user.username)
    return user


def public_identity(user: User, role: Role, access: Access) -> dict[str, Any]:
    """The identity every participant sees for ``user``."""
    return {
        "username": user.username,
        "name": user.name,
        "display_name": user.display_name,
        "initials": user.initials,
        "avatar_url": user.avatar_url,
        "color": user.color,
        "role": role,
        "access": access,
    }
