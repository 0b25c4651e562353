"""One person's browser on a real JupyterHub (:class:`HubBrowser`): cookies, the login
form, the spawn page, the OAuth "Authorize access" consent page, the accept-share form,
XSRF headers for the single-user server's API, and a personal hub API token.

Example::

    async with HubBrowser(hub.url, "alice") as alice:
        await alice.login()
        await alice.start_server()
        lab = await alice.open_lab()
        me = (await alice.api().get("api/me")).json()
"""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import httpx

from ..demo.hubside import DEFAULT_PASSWORD
from .closing import AsyncClosing
from .hubapi import HubAPI, HubClientError, ServerAPI
from .waiting import until
from .webpages import PAGE_CONFIG, Form, LabPage, parse_forms

__all__ = ["HubBrowser"]


class HubBrowser(AsyncClosing):
    """One person's browser on the hub: cookies, forms, redirects, OAuth consent."""

    max_redirects = 20

    def __init__(
        self,
        hub_url: str,
        username: str,
        password: str = DEFAULT_PASSWORD,
        *,
        timeout: float = 30.0,
    ) -> None:
        self.hub_url = hub_url.rstrip("/") + "/"
        self.username = username
        self.password = password
        self.client = httpx.AsyncClient(follow_redirects=False, timeout=timeout)
        self.lab_pages: dict[str, LabPage] = {}
        self._hub_apis: list[HubAPI] = []
        self.consents = 0

    # -- cookies ----------------------------------------------------------------

    def cookie(self, name: str, path: str = "/") -> str | None:
        """Value of cookie ``name`` that a request to ``path`` would send (most specific)."""
        best: tuple[int, str] | None = None
        for c in self.client.cookies.jar:
            cookie_path = c.path or "/"
            if c.name != name or c.value is None:
                continue
            if _path_matches(path, cookie_path) and (best is None or len(cookie_path) > best[0]):
                best = (len(cookie_path), c.value)
        return best[1] if best else None

    def cookie_header(self, path: str = "/") -> str:
        sent: dict[str, tuple[int, str]] = {}
        for c in self.client.cookies.jar:
            cookie_path = c.path or "/"
            if c.value is None:
                continue
            if _path_matches(path, cookie_path) and (
                c.name not in sent or len(cookie_path) > sent[c.name][0]
            ):
                sent[c.name] = (len(cookie_path), c.value)
        return "; ".join(f"{name}={value}" for name, (_, value) in sent.items())

    def _abs(self, url: str) -> str:
        return urllib.parse.urljoin(self.hub_url, url)

    # -- navigation -------------------------------------------------------------

    async def navigate(
        self, url: str, *, method: str = "GET", data: Any = None, consent: bool = True
    ) -> httpx.Response:
        """Load ``url`` like a browser: follow redirects, accept the OAuth consent page.

        Returns the final response (a page, or an error status). Raises when a redirect
        leads to the hub's login page (log in first).
        """
        url = self._abs(url)
        for _ in range(self.max_redirects):
            headers = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "same-origin"}
            if method == "GET":
                r = await self.client.get(url, headers=headers)
            else:
                r = await self.client.request(method, url, data=data, headers=headers)
            if r.is_redirect:
                target = urllib.parse.urljoin(str(r.url), r.headers["location"])
                if urllib.parse.urlparse(target).path.endswith("/hub/login"):
                    raise HubClientError(f"{self.username} is not logged in", r)
                url, method, data = target, "GET", None
                continue
            if consent and r.status_code == 200 and "/hub/api/oauth2/authorize" in str(r.url):
                form = self._form_with(r, "scopes") or self._form_with(r, "_xsrf")
                if form is None:
                    raise HubClientError("OAuth consent page without a form", r)
                self.consents += 1
                url = urllib.parse.urljoin(str(r.url), form.action) if form.action else str(r.url)
                method, data = "POST", form.data()
                continue
            return r
        raise HubClientError(f"more than {self.max_redirects} redirects from {url}")

    @staticmethod
    def _form_with(r: httpx.Response, field_name: str) -> Form | None:
        return next((f for f in parse_forms(r.text) if f.get(field_name) is not None), None)

    # -- hub pages --------------------------------------------------------------

    async def login(self) -> None:
        """Log in through the hub's login form."""
        r = await self.client.get(self._abs("hub/login"), headers={"Sec-Fetch-Mode": "navigate"})
        if r.status_code != 200:
            raise HubClientError("login page", r)
        form = self._form_with(r, "_xsrf")
        if form is None:
            raise HubClientError("no login form", r)
        fields = form.data()
        fields.update(username=self.username, password=self.password)
        action = urllib.parse.urljoin(str(r.url), form.action or str(r.url))
        r = await self.client.post(action, data=fields, headers={"Sec-Fetch-Mode": "navigate"})
        if not r.is_redirect:
            raise HubClientError(f"login as {self.username} refused", r)
        # The first page after login sets the hub's XSRF cookie for the new session.
        await self.navigate("hub/home")

    def _hub_xsrf_headers(self) -> dict[str, str]:
        xsrf = self.cookie("_xsrf", "/hub/api/")
        if not xsrf:
            raise HubClientError("no hub _xsrf cookie (log in first)")
        return {"X-XSRFToken": xsrf, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}

    async def hub_request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Hub REST call with the browser session (cookie + XSRF), as the hub's pages do."""
        headers = {**self._hub_xsrf_headers(), **kwargs.pop("headers", {})}
        return await self.client.request(
            method, self._abs("hub/api/" + path.lstrip("/")), headers=headers, **kwargs
        )

    async def server_model(self, server_name: str = "") -> dict[str, Any] | None:
        r = await self.hub_request("GET", f"users/{self.username}")
        if r.status_code != 200:
            raise HubClientError("user model", r)
        servers: dict[str, Any] = r.json().get("servers", {})
        model = servers.get(server_name)
        return dict(model) if model else None

    async def start_server(self, *, timeout: float = 120.0) -> float:
        """Start my server through the spawn page; wait until its API answers. Seconds."""
        started = time.monotonic()
        r = await self.client.get(
            self._abs(f"hub/spawn/{self.username}"), headers={"Sec-Fetch-Mode": "navigate"}
        )
        if r.status_code >= 400:
            raise HubClientError("spawn", r)

        async def model() -> dict[str, Any] | None:
            found = await self.server_model()
            if found is None and time.monotonic() - started > 5:
                raise HubClientError(f"server of {self.username} is not starting")
            return found

        await until(
            model,
            timeout,
            f"the server of {self.username} ready",
            interval=0.2,
            accept=lambda m: bool(m and m.get("ready")),
        )
        # Open the server like a browser (the OAuth flow sets the server's cookie; its API
        # answers 403 rather than redirecting), then wait for its API.
        r = await self.navigate(f"user/{self.username}/")
        if r.status_code >= 400:
            raise HubClientError("open server", r)
        left = max(0.0, started + timeout - time.monotonic())
        await until(
            lambda: self.api().get("api/status"),
            left,
            f"the API of {self.username}'s server",
            interval=0.2,
            accept=lambda r: r.status_code == 200,
        )
        return time.monotonic() - started

    async def stop_server(self, *, timeout: float = 60.0) -> float:
        """Stop my server through the hub API (as the home page's Stop button does)."""
        started = time.monotonic()
        r = await self.hub_request("DELETE", f"users/{self.username}/server")
        if r.status_code not in (202, 204):
            raise HubClientError("stop server", r)
        await until(
            self.server_model,
            timeout,
            f"the server of {self.username} stopped",
            interval=0.2,
            accept=lambda model: model is None,
        )
        self.lab_pages.pop(self.username, None)
        return time.monotonic() - started

    async def open_lab(self, owner: str | None = None, path: str = "lab") -> LabPage:
        """Open JupyterLab on ``owner``'s server (default: mine), through OAuth and consent."""
        owner = owner or self.username
        r = await self.navigate(f"user/{owner}/{path}")
        if r.status_code != 200:
            raise HubClientError(f"open JupyterLab of {owner}", r)
        match = PAGE_CONFIG.search(r.text)
        if match is None:
            raise HubClientError(f"no JupyterLab page config at {r.url}", r)
        page = LabPage(str(r.url), r.text, json.loads(match.group(1)))
        self.lab_pages[owner] = page
        return page

    def token(self, owner: str | None = None) -> str | None:
        """My OAuth token for ``owner``'s server (from its Lab page config), if opened."""
        page = self.lab_pages.get(owner or self.username)
        return page.token if page else None

    def api(self, owner: str | None = None, server_name: str = "") -> ServerAPI:
        return ServerAPI(self, owner or self.username, server_name)

    async def accept_share(self, url_or_code: str, *, follow: bool = False) -> str:
        """Accept an invitation (link or bare code) through the hub's form.

        Returns the URL the hub redirects to (the shared server). Raises
        :class:`HubClientError` with the response when the hub refuses (404 unknown or
        expired code, 403 own server...). ``follow=True`` also opens that URL.
        """
        code = url_or_code
        if "code=" in url_or_code:
            query = urllib.parse.urlparse(url_or_code).query
            code = urllib.parse.parse_qs(query)["code"][0]
        page_url = self._abs("hub/accept-share?" + urllib.parse.urlencode({"code": code}))
        r = await self.client.get(page_url, headers={"Sec-Fetch-Mode": "navigate"})
        if r.status_code != 200:
            raise HubClientError("accept-share page", r)
        form = self._form_with(r, "code")
        if form is None:
            raise HubClientError("accept-share page without a form", r)
        action = urllib.parse.urljoin(str(r.url), form.action) if form.action else str(r.url)
        r = await self.client.post(action, data=form.data(), headers={"Sec-Fetch-Mode": "navigate"})
        if not r.is_redirect:
            raise HubClientError("accepting the share", r)
        target = urllib.parse.urljoin(str(r.url), r.headers["location"])
        if follow:
            await self.navigate(target)
        return target

    async def hub_api(self, *, note: str = "rtc-presence tests", expires_in: int = 3600) -> HubAPI:
        """A hub API client with a token I create for myself through my browser session."""
        r = await self.hub_request(
            "POST",
            f"users/{self.username}/tokens",
            json={"note": note, "expires_in": expires_in},
        )
        if r.status_code not in (200, 201):
            raise HubClientError("create token", r)
        api = HubAPI(self.hub_url, r.json()["token"])
        self._hub_apis.append(api)
        return api

    async def logout(self) -> None:
        await self.navigate("hub/logout")

    async def aclose(self) -> None:
        for api in self._hub_apis:
            await api.aclose()
        await self.client.aclose()


def _path_matches(request_path: str, cookie_path: str) -> bool:
    return request_path == cookie_path or request_path.startswith(cookie_path.rstrip("/") + "/")
