"""A test double for jupyter_server's IdentityProvider: one token per user.

Lets tests run several verified people against one real Jupyter server
without a hub. Send ``Authorization: token <token>`` (or ``?token=`` on
websockets), or the cookie ``rtc-test-session=<token>``, which stands for a
browser's session cookie: not token-authenticated, so Origin and XSRF checks
apply as they do to a browser.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado.web import RequestHandler
from traitlets import Dict

SESSION_COOKIE = "rtc-test-session"


class TokenIdentityProvider(IdentityProvider):
    """Maps each configured token to a user (tests only)."""

    users = Dict(
        config=True,
        help="token -> user fields (username, display_name, initials, color, ...).",
    )

    def token_of(self, handler: RequestHandler) -> str:
        header = handler.request.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            return header[6:].strip()
        return handler.get_query_argument("token", "")

    async def get_user(self, handler: RequestHandler) -> User | None:
        token = self.token_of(handler)
        by_token = bool(token)
        if not token:
            token = handler.get_cookie(SESSION_COOKIE) or ""
        info: dict[str, Any] | None = self.users.get(token)
        if info is None:
            return None
        if by_token:
            handler._token_authenticated = True  # type: ignore[attr-defined]
        return User(**info)

    def is_token_authenticated(self, handler: RequestHandler) -> bool:
        return bool(self.token_of(handler))

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return False

    def validate_security(self, app: Any, ssl_options: dict[str, Any] | None = None) -> None:
        """Tests bind to 127.0.0.1 only."""
