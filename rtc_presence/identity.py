"""Verified identities: who every request and websocket belongs to.

Puts :class:`RTCIdentityMixin` in front of the server's identity provider:
identities are completed (:mod:`rtc_presence.profiles`) and every request
passes the gate (:mod:`rtc_presence.gate`), which decides the person's role
and access level on this server or refuses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.utils import ensure_async

from .access import user_access, user_role
from .mixins import adopt
from .profiles import complete_user
from .state import state_of

if TYPE_CHECKING:
    from tornado.web import RequestHandler


class RTCIdentityMixin:
    """Completes identities and enforces the server's admission decisions.

    Mixed in front of the server's identity provider class (JupyterHub's
    ``JupyterHubIdentityProvider`` in a hub, jupyter_server's own otherwise),
    so its login, cookie and token handling stay exactly as they were.
    """

    async def get_user(self, handler: RequestHandler) -> User | None:
        user = await ensure_async(super().get_user(handler))  # type: ignore[misc]
        state = state_of(handler.settings)
        gate = state.gate if state is not None else None
        if user is None and gate is not None:
            # The hub's "no access" answers are cached for minutes; someone
            # who was just given access again should not wait that long.
            user = await gate.recheck_refused(handler)
            if user is None:
                # Identified by the hub but given no access here: the answer
                # says so (a page, not jupyter_server's bare 403).
                gate.refused_by_hub(handler)
        if user is None:
            return None
        complete_user(user)
        if gate is not None:
            share_scopes = state.share_scopes if state is not None else None
            if share_scopes is not None and gate.role_of(user.username) == "guest":
                await share_scopes.complete(user)
            gate.admit(handler, user)
        return user  # type: ignore[no-any-return]

    def identity_model(self, user: User) -> dict[str, Any]:
        model: dict[str, Any] = super().identity_model(user)  # type: ignore[misc]
        model["role"] = user_role(user)
        model["access"] = user_access(user)
        return model


class RTCIdentityProvider(RTCIdentityMixin, IdentityProvider):
    """jupyter_server's default identity provider with completed identities.

    Use it outside JupyterHub:
    ``c.ServerApp.identity_provider_class = "rtc_presence.identity.RTCIdentityProvider"``.
    Inside JupyterHub the extension adopts the hub's provider automatically.
    """


def adopt_identity_provider(provider: IdentityProvider) -> IdentityProvider:
    """Put :class:`RTCIdentityMixin` in front of ``provider``'s class, in place.

    Why in place: JupyterHub's single-user extension forces
    ``ServerApp.identity_provider_class`` at the highest config priority
    (``JupyterHubSingleUser.load_config_file``), and the instance already
    holds the OAuth state (``hub_auth``) when extensions load. Swapping the
    instance's class to a subclass keeps that state and every behaviour of
    the original class; ``tests/test_identity.py`` pins it.
    """
    return adopt(provider, RTCIdentityMixin, "RTC")
