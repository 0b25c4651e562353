"""Sharing flows on a real hub, as people go through them.

:func:`owner_and_guest` is the setup most hub tests share: a demo hub, the owner logged
in with her server running and JupyterLab open, an invite link she created through
rtc-presence's API, and guests who logged in, accepted it and opened her JupyterLab;
other people are logged in without a share.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .demohub import DemoHub
from .hubbrowser import HubBrowser
from .webpages import LabPage

__all__ = ["SharedServer", "owner_and_guest", "write_server_config"]


@dataclass
class SharedServer:
    hub: DemoHub
    owner: HubBrowser
    #: The guests, in the order they accepted the invite.
    guests: list[HubBrowser]
    #: Logged in, no share.
    others: dict[str, HubBrowser]
    #: The invite as ``POST api/rtc-presence/invites`` answered it (``url``, ``id``...).
    invite: dict[str, Any]
    #: ``time.time()`` when the invite was created.
    invite_created_at: float
    #: Each guest's JupyterLab page on the owner's server, by user name.
    guest_labs: dict[str, LabPage] = field(default_factory=dict)

    @property
    def guest(self) -> HubBrowser:
        """The first guest."""
        return self.guests[0]


def write_server_config(state_dir: Path, user: str, rtc_config: dict[str, Any]) -> None:
    """``c.RTCPresence`` settings for ``user``'s server, read when it starts.

    The local spawner sets HOME to the user's home under the state directory, so
    ``~/.jupyter/jupyter_server_config.json`` there is the server's own config.
    """
    config_dir = state_dir / "home" / user / ".jupyter"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({"RTCPresence": rtc_config}))


@contextlib.asynccontextmanager
async def owner_and_guest(
    state_dir: Path,
    *,
    owner: str = "alice",
    guests: Sequence[str] = ("bob",),
    others: Sequence[str] = (),
    notebook: tuple[str, Sequence[str]] | None = None,
    rtc_config: dict[str, Any] | None = None,
    invite: dict[str, Any] | None = None,
    **hub_options: Any,
) -> AsyncIterator[SharedServer]:
    """A demo hub in ``state_dir`` with ``owner``'s server shared with ``guests``.

    ``notebook`` is ``(path, cell sources)``, created by the owner before she invites;
    ``rtc_config`` becomes her server's ``c.RTCPresence`` settings; ``invite`` is the
    body of her ``POST api/rtc-presence/invites`` (``{"access": "view"}``);
    ``hub_options`` go to :class:`DemoHub`. Everything is stopped and closed on exit.
    """
    if rtc_config:
        write_server_config(state_dir, owner, rtc_config)
    async with (
        DemoHub(state_dir=state_dir, **hub_options) as hub,
        contextlib.AsyncExitStack() as stack,
    ):
        people = {
            name: await stack.enter_async_context(HubBrowser(hub.url, name))
            for name in (owner, *guests, *others)
        }
        host = people[owner]
        await host.login()
        await host.start_server()
        await host.open_lab()
        if notebook is not None:
            path, sources = notebook
            r = await host.api().put_notebook(path, *sources)
            assert r.status_code in (200, 201), r.text
        r = await host.api().post("api/rtc-presence/invites", json=invite or {})
        assert r.status_code == 201, r.text
        shared = SharedServer(
            hub=hub,
            owner=host,
            guests=[people[name] for name in guests],
            others={name: people[name] for name in others},
            invite=r.json(),
            invite_created_at=time.time(),
        )
        for guest in shared.guests:
            await guest.login()
            await guest.accept_share(shared.invite["url"])
            shared.guest_labs[guest.username] = await guest.open_lab(owner)
        for other in shared.others.values():
            await other.login()
        yield shared
