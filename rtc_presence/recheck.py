"""Fresh hub answers for refused requests, at most one hub call per token per interval.

HubAuth caches the hub's answer about each token for ``cache_max_age``
(300 s), its "no access" answers included, so a guest let in again ("Allow
again", then an invite link) would be refused for up to five minutes. A
request that the cached answer refuses is therefore asked about again,
bypassing the cache. A refused client can poll (an old tab of a revoked
guest does), so the calls are bounded: per token at most one per
``interval``, and page loads (a person opening a link) have their own
slot, so an old tab's polling never delays them. A request that arrives
while the last call of its slot is recent waits for the next call instead
of being refused with an answer older than itself: that older answer is
what refused a re-admitted guest's page load while her old tab, polling
with the same token, had just used the one slot there was.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.identity import User
from tornado import web

from .refusals import wants_page


@dataclass
class _Check:
    starts: float  # event loop time at which the hub call starts
    task: asyncio.Future[dict[str, Any] | None]


class HubRecheck:
    """Asks the hub about refused tokens, coalescing the calls per token."""

    def __init__(self, hub_auth: Any, log: logging.Logger, interval: float = 1.0) -> None:
        self.hub_auth = hub_auth
        self.log = log
        self.interval = interval
        self.calls = 0  # hub calls made, for tests and figures
        self._checks: dict[tuple[int, bool], _Check] = {}

    async def admit_again(self, handler: web.RequestHandler) -> User | None:
        """The user of this refused request if the hub now gives them access."""
        # Only when the hub's own authentication path (its token, cookie and
        # XSRF rules) identified someone and just the scope check refused:
        # HubAuth leaves that model on the handler as ``_cached_hub_user``
        # (jupyterhub/services/auth.py, HubAuth._get_user). Credentials it
        # rejected, e.g. a cookie without X-XSRFToken, are never re-checked.
        # Pinned by tests/reliability/test_reliability_hub_authz.py and tests/test_hub_sharing.py.
        if not getattr(handler, "_cached_hub_user", None):
            return None
        token = self.hub_auth.get_token(handler)
        if not token:
            return None
        model = await self.fresh_model(token, page=wants_page(handler))
        if not model or not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            return None
        from jupyterhub.singleuser.extension import JupyterHubUser

        # Undo what the refusal left on this request: JupyterHub's identity
        # provider made its redirects raise 403 (``handler.redirect``, an
        # instance attribute) and cached the refusing model on it
        # (jupyterhub/singleuser/extension.py, get_user). Without this, a page
        # that redirects (``/user/alice/`` -> ``lab``) would still answer 403.
        handler.__dict__.pop("redirect", None)
        user: User = JupyterHubUser(model)
        handler._cached_hub_user = model  # type: ignore[attr-defined]
        handler._jupyterhub_user = user  # type: ignore[attr-defined]
        return user

    async def fresh_model(self, token: str, *, page: bool = False) -> dict[str, Any] | None:
        """The hub's answer about ``token`` from a call started after now.

        ``page``: for a page load, which has its own slot.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        key = (hash(token), page)
        check = self._checks.get(key)
        if check is None or check.starts < now:
            # None scheduled that starts after this request arrived: schedule one.
            starts = now if check is None else max(now, check.starts + self.interval)
            check = _Check(starts, asyncio.ensure_future(self._ask(token, starts - now)))
            self._checks[key] = check
            self._prune(now)
        # shield: a client that goes away does not cancel others' answer.
        return await asyncio.shield(check.task)

    async def _ask(self, token: str, delay: float) -> dict[str, Any] | None:
        if delay > 0:
            await asyncio.sleep(delay)
        self.calls += 1
        try:
            model: dict[str, Any] | None = await self.hub_auth.user_for_token(
                token, use_cache=False, sync=False
            )
        except Exception as exc:
            self.log.warning("rtc-presence: could not re-check a refused token: %s", exc)
            return None
        return model

    def _prune(self, now: float) -> None:
        if len(self._checks) <= 10_000:
            return
        self._checks = {
            k: c
            for k, c in self._checks.items()
            if not c.task.done() or now - c.starts < self.interval
        }
