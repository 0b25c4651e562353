"""Re-checking connected guests with the hub, for changes made elsewhere.

A revocation or a level change made on the hub (its API, the admin panel)
reaches no websocket by itself: every ``revalidate_interval`` seconds each
connected guest's own token is asked about again, bypassing HubAuth's
cache. Refused: evicted (not remembered: the hub decides). A lower level
than the one they were admitted with: their sockets reconnect at it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import allows, level_from_scopes

if TYPE_CHECKING:
    from .gate import Gate


async def revalidate_guests(gate: Gate) -> list[str]:
    """Re-check each connected guest with the hub; return those evicted."""
    hub_auth = gate.hub_auth
    if hub_auth is None:
        return []
    evicted = []
    for username in gate.connected_guests():
        token = gate.guest_token(username)
        if not token:
            continue
        try:
            model = await hub_auth.user_for_token(token, use_cache=False, sync=False)
        except Exception as exc:
            # The hub being down is not a revocation: keep people connected.
            gate.log.warning("rtc-presence: could not re-check %s: %s", username, exc)
            continue
        allowed = bool(
            model
            and model.get("name") == username
            and hub_auth.check_scopes(hub_auth.access_scopes, model)
        )
        if not allowed:
            gate.evict(username, by="hub", remember=False)
            evicted.append(username)
            continue
        grants = gate.grants
        if username in grants.set_levels:
            continue  # the owner chose on this server; that choice is in force
        level = level_from_scopes(model.get("scopes") or [], grants.server, grants.unscoped_access)
        admitted = grants.levels.get(username)
        if level is not None and admitted is not None and not allows(level, admitted):
            gate.set_access(username, level)
    return evicted
