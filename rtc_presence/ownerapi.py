"""The owner's sharing API: invite links, who has access, at which level.

Every change is made with the owner's *own* hub token (forwarded from their
request, :mod:`rtc_presence.sharing`): the hub refuses anyone else, and this
server refuses non-owners first (403). See "API reference" in the README.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from tornado import web

from .access import DURATIONS, LEVELS, Access, is_level
from .handlers import RTCAPIHandler
from .presence import iso
from .sharing import HubSharing, SharingError, invite_model

DEFAULT_ACCESS: Access = "run"


class OwnerHandler(RTCAPIHandler):
    """Base class of the owner's sharing API (403 for everyone else)."""

    def owner_token(self) -> tuple[HubSharing, str]:
        if self.role() != "owner":
            raise web.HTTPError(403, "Only the owner of this server can manage who has access.")
        sharing = self.rtc.sharing
        if sharing is None:
            raise web.HTTPError(
                501, "Sharing needs JupyterHub: this server is not running under a hub."
            )
        token = self.rtc.caller_token(self)
        if not token:
            raise web.HTTPError(401, "No hub session found. Reload the page to sign in again.")
        return sharing, token

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SharingError):
            self.set_status(exc.status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message}))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, SharingError):
            self.log.warning(
                "rtc-presence: %s %s: %s", self.request.method, self.request.path, value
            )
            return
        super().log_exception(typ, value, tb)

    def guest_model(self, name: str, share: dict[str, Any] | None = None) -> dict[str, Any]:
        rtc = self.rtc
        gate = rtc.gate
        model = {
            **rtc.identity_of(name),
            "access": gate.access_of(name),
            "access_expires_at": iso(gate.grants.ends_at(name)),
            "online": gate.is_online(name),
        }
        if share is not None:
            model["accepted_at"] = share.get("created_at")
        model["ran_code_in"] = self.shared_kernels_of(name)
        return model

    def restart_choice(self) -> bool:
        """``?restart_kernels=true``: also restart the shared kernels the revoked
        ran code in (default false: other people's work in them is kept)."""
        value = self.get_query_argument("restart_kernels", "false").lower()
        if value not in ("true", "false"):
            raise web.HTTPError(400, "restart_kernels must be true or false.")
        return value == "true"

    def shared_kernels_of(self, name: str) -> list[dict[str, Any]]:
        """Kernels ``name`` ran code in that others started (a revoke leaves them
        running unless the owner asks to restart them), with their notebook."""
        rtc = self.rtc
        if rtc.executions is None:
            return []
        own = set(rtc.processes.kernels_started_by(name))
        live = rtc.processes.kernel_manager
        return [
            {"kernel_id": kid, "path": rtc.executions.kernel_paths.get(kid)}
            for kid in rtc.executions.kernels_run_by(name)
            if kid not in own and (live is None or kid in live)
        ]


def parse_access(body: dict[str, Any], default: Access | None) -> Access | None:
    value = body.get("access", default)
    if value is None:
        return None
    if not is_level(value):
        raise web.HTTPError(400, f"access must be one of {', '.join(LEVELS)}.")
    level: Access = value
    return level


def parse_access_for(body: dict[str, Any]) -> int | None:
    value = body.get("access_for")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value not in DURATIONS:
        choices = ", ".join(str(s) for s in DURATIONS)
        raise web.HTTPError(400, f"access_for must be null or one of {choices} (seconds).")
    return value


def parse_when(value: Any) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise web.HTTPError(400, "access_expires_at must be an ISO 8601 date-time or null.")
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise web.HTTPError(
            400, "access_expires_at must be an ISO 8601 date-time or null."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class InvitesHandler(OwnerHandler):
    """Invite links: list, create, revoke all."""

    @web.authenticated
    async def get(self) -> None:
        sharing, token = self.owner_token()
        codes = await sharing.list_codes(token)
        self.send({"invites": [invite_model(code) for code in codes]})

    @web.authenticated
    async def post(self) -> None:
        sharing, token = self.owner_token()
        cfg = self.rtc.settings
        body = self.json_body()
        expires_in = body.get("expires_in", cfg.invite_lifetime)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise web.HTTPError(400, "expires_in must be a number of seconds.")
        if not cfg.invite_lifetime_min <= expires_in <= cfg.invite_lifetime_max:
            raise web.HTTPError(
                400,
                f"expires_in must be between {cfg.invite_lifetime_min} and "
                f"{cfg.invite_lifetime_max} seconds.",
            )
        access = parse_access(body, DEFAULT_ACCESS) or DEFAULT_ACCESS
        access_for = parse_access_for(body)
        code = await sharing.create_code(token, int(expires_in), access, access_for)
        base = f"{self.request.protocol}://{self.request.host}"
        self.rtc.notify_access()
        self.send(invite_model(code, base), status=201)

    @web.authenticated
    async def delete(self) -> None:
        sharing, token = self.owner_token()
        await sharing.delete_all_codes(token)
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()


class InviteHandler(OwnerHandler):
    """One invite link: revoke."""

    @web.authenticated
    async def delete(self, code_id: str) -> None:
        sharing, token = self.owner_token()
        if not code_id.startswith("sc_") or not code_id[3:].isdigit():
            raise web.HTTPError(400, "Unknown invite link id.")
        await sharing.delete_code(token, code_id)
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()


class GuestsHandler(OwnerHandler):
    """People with access: list, revoke all."""

    @web.authenticated
    async def get(self) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        shares = await sharing.list_shares(token)
        guests = []
        for share in shares:
            name = (share.get("user") or {}).get("name")
            if not name:
                continue  # group shares are listed by the hub admin UI, not here
            if name in rtc.gate.revoked:
                # Came back through a still-active link, or expired: the server
                # refuses them, and the hub is told again with the owner's token.
                await sharing.revoke_user(token, name)
                continue
            guests.append(self.guest_model(name, share))
        revoked = []
        for name, ts in sorted(rtc.gate.revoked.items(), key=lambda kv: kv[1]):
            attempts, last_attempt = rtc.gate.attempts.of(name)
            revoked.append(
                {
                    **rtc.identity_of(name),
                    "access": rtc.gate.access_of(name),
                    "revoked_at": iso(ts),
                    "expired": name in rtc.gate.expired,
                    "last_attempt_at": iso(last_attempt),
                    "attempts": attempts,
                }
            )
        self.send({"guests": guests, "revoked": revoked})

    @web.authenticated
    async def delete(self) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        names = {
            (share.get("user") or {}).get("name") for share in await sharing.list_shares(token)
        }
        names.discard(None)
        names.update(rtc.gate.connected_guests())
        names.discard(rtc.gate.owner)
        restart = self.restart_choice()
        shared = {k["kernel_id"] for n in names for k in self.shared_kernels_of(str(n))}
        closed = sum(rtc.gate.evict(str(name), by=self.current_user.username) for name in names)
        await sharing.revoke_all(token)
        rtc.notify_access()
        restarted = await rtc.processes.restart_kernels(shared) if restart and shared else {}
        self.send(
            {
                "revoked": sorted(str(n) for n in names),
                "closed_connections": closed,
                "restarted_kernels": restarted,
            }
        )


class GuestHandler(OwnerHandler):
    """One person: change their level or term, or revoke them."""

    @web.authenticated
    async def patch(self, username: str) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        if rtc.gate.role_of(username) == "owner":
            raise web.HTTPError(400, "You always have every access to your own server.")
        body = self.json_body()
        unknown = set(body) - {"access", "access_expires_at"}
        if unknown or not body:
            raise web.HTTPError(400, "Send access and/or access_expires_at.")
        access = parse_access(body, None)
        ends = parse_when(body["access_expires_at"]) if "access_expires_at" in body else None
        share = next(
            (
                s
                for s in await sharing.list_shares(token)
                if (s.get("user") or {}).get("name") == username
            ),
            None,
        )
        if share is None or username in rtc.gate.revoked:
            raise web.HTTPError(404, f"{username} has no access to this server.")
        if access is not None:
            # The hub first (it refuses what the owner may not grant), then
            # this server, whose record wins over tokens issued before.
            await sharing.set_level(token, username, access)
            closed = rtc.gate.set_access(username, access)
            rtc.emit_level(username, access, by=self.current_user.username, closed=closed)
        if "access_expires_at" in body:
            rtc.gate.grants.set_end(username, ends)
        rtc.notify_access()
        self.send(self.guest_model(username, share))

    @web.authenticated
    async def delete(self, username: str) -> None:
        sharing, token = self.owner_token()
        rtc = self.rtc
        if rtc.gate.role_of(username) == "owner":
            raise web.HTTPError(400, "You cannot revoke yourself from your own server.")
        # The hub confirms these are the owner's own credentials (one read
        # of the shares) before anything changes here.
        await sharing.list_shares(token)
        restart = self.restart_choice()
        shared = [k["kernel_id"] for k in self.shared_kernels_of(username)]
        # Then cut off (this server) before telling the hub: the person is
        # out even if the hub call fails, and the error says so.
        closed = rtc.gate.evict(username, by=self.current_user.username)
        rtc.notify_access()
        restarted: dict[str, str] = {}
        if restart and shared:
            # What their code left in kernels others started ends with them.
            restarted = await rtc.processes.restart_kernels(shared)
        try:
            await sharing.revoke_user(token, username)
        except SharingError as exc:
            raise SharingError(
                exc.status,
                f"{username} was disconnected and is refused by this server, "
                f"but the hub could not be told: {exc.message}",
            ) from None
        self.send(
            {"username": username, "closed_connections": closed, "restarted_kernels": restarted}
        )


class GuestAllowHandler(OwnerHandler):
    """ "Allow again": lift this server's refusal of a revoked person."""

    @web.authenticated
    async def post(self, username: str) -> None:
        sharing, token = self.owner_token()
        # Checked with the hub using the owner's own credentials before
        # anything changes: a token that is not the owner's gets nowhere.
        await sharing.list_codes(token)
        if not self.rtc.gate.allow(username):
            raise web.HTTPError(404, f"{username} is not in the revoked list.")
        if self.rtc.share_scopes is not None:
            # The link they accept next decides their level: read it afresh.
            self.rtc.share_scopes.invalidate()
        self.rtc.notify_access()
        self.set_status(204)
        self.finish()
