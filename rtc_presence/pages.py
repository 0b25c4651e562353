"""The page a browser gets when its person may not be on this server.

One self-contained HTML page (inline CSS, no images, scripts or fonts):
the person's requests for the server's static files are refused too, so a
page that linked them would show unstyled with a broken logo, which is what
jupyter_server's own ``403 : Forbidden`` page looks like to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .profiles import make_initials

_TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)


@dataclass(frozen=True)
class AccessPage:
    """What to tell a refused person.

    ``revoked``: the owner revoked them on this server; otherwise the hub
    identifies them but gives them no access (no share: never invited,
    revoked elsewhere, or the server restarted, which ends every share).
    """

    revoked: bool
    owner_name: str
    owner_username: str
    hub_home: str | None
    expired: bool = False
    """Revoked because the time-boxed access the owner gave ended."""

    @property
    def title(self) -> str:
        return "Access ended" if self.revoked else "No access to this server"

    @property
    def text(self) -> str:
        if self.revoked and self.expired:
            return f"The time {self.owner_name} gave you on this server is over."
        if self.revoked:
            return f"{self.owner_name} revoked your access to this server."
        return f"You do not have access to {self.owner_name}'s server."

    @property
    def hint(self) -> str:
        if self.revoked:
            return (
                f"Your open tabs of this server have stopped. If {self.owner_name} lets you "
                "in again, open the invite link you were given once more."
            )
        return (
            "Your invitation may have been revoked, or the server restarted, which ends "
            f"every invitation. Ask {self.owner_name} for a new invite link."
        )

    @property
    def message(self) -> str:
        """The one-line ``message`` of the JSON answer (API requests)."""
        if self.revoked and self.expired:
            return "Your access to this server expired."
        if self.revoked:
            return "Your access to this server was revoked by its owner."
        return "You do not have access to this server. Ask its owner for a new invite link."

    def render(self) -> str:
        return _env.get_template("access_ended.html").render(
            title=self.title,
            text=self.text,
            hint=self.hint,
            hub_home=self.hub_home,
            owner_initials=make_initials(self.owner_name, self.owner_username),
        )
