"""HTTP APIs as a browser or a script calls them: the hub's REST API with a token
(:class:`HubAPI`) and a single-user server's API with a browser's cookies and XSRF
header (:class:`ServerAPI`), over the verbs of :class:`HTTPVerbs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .hubbrowser import HubBrowser

__all__ = ["HTTPVerbs", "HubAPI", "HubClientError", "ServerAPI"]


class HubClientError(Exception):
    """A step of the browser flow did not go as a browser would expect."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        if response is not None:
            message = (
                f"{message}: {response.request.method} {response.url} -> {response.status_code}"
            )
        super().__init__(message)
        self.response = response


class HTTPVerbs:
    """``get``/``post``/``put``/``patch``/``delete`` over the subclass's ``request``."""

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)


class ServerAPI(HTTPVerbs):
    """Calls to one single-user server with a browser's cookies and XSRF header.

    Paths are relative to the server (``api/me``). The ``X-XSRFToken`` header is the
    ``_xsrf`` cookie the server set on its own path, exactly what JupyterLab sends.
    """

    def __init__(self, browser: HubBrowser, owner: str, server_name: str = "") -> None:
        self.browser = browser
        self.owner = owner
        self.prefix = f"user/{owner}/" + (f"{server_name}/" if server_name else "")
        self.base_url = browser.hub_url + self.prefix

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def headers(self) -> dict[str, str]:
        headers = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
        xsrf = self.browser.cookie("_xsrf", "/" + self.prefix)
        if xsrf:
            headers["X-XSRFToken"] = xsrf
        return headers

    def websocket_headers(self) -> dict[str, str]:
        """Headers for a websocket to this server as the browser would open it."""
        return {"Cookie": self.browser.cookie_header("/" + self.prefix)}

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return await self.browser.client.request(method, self.url(path), headers=headers, **kwargs)

    async def put_notebook(self, path: str, *sources: str) -> httpx.Response:
        """Create or replace ``path`` (contents API) with one code cell per source."""
        cells: list[dict[str, Any]] = [
            {
                "cell_type": "code",
                "source": source,
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
            for source in sources
        ]
        content = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        return await self.put(f"api/contents/{path}", json={"type": "notebook", "content": content})


class HubAPI(HTTPVerbs):
    """Hub REST API (``/hub/api/``) with a token (``Authorization: token ...``)."""

    def __init__(self, hub_url: str, token: str, timeout: float = 30.0) -> None:
        self.hub_url = hub_url
        self.token = token
        self.client = httpx.AsyncClient(
            base_url=hub_url + "hub/api/",
            headers={"Authorization": f"token {token}"},
            timeout=timeout,
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path.lstrip("/"), **kwargs)

    async def create_share_code(
        self, owner: str, server_name: str = "", expires_in: int | None = None
    ) -> dict[str, Any]:
        body = {} if expires_in is None else {"expires_in": expires_in}
        r = await self.post(f"share-codes/{owner}/{server_name}", json=body)
        if r.status_code != 200:
            raise HubClientError("could not create a share code", r)
        result: dict[str, Any] = r.json()
        return result

    async def shares(self, owner: str, server_name: str = "") -> list[dict[str, Any]]:
        r = await self.get(f"shares/{owner}/{server_name}")
        if r.status_code != 200:
            raise HubClientError("could not list shares", r)
        return list(r.json()["items"])

    async def share_codes(self, owner: str, server_name: str = "") -> list[dict[str, Any]]:
        r = await self.get(f"share-codes/{owner}/{server_name}")
        if r.status_code != 200:
            raise HubClientError("could not list share codes", r)
        return list(r.json()["items"])

    async def aclose(self) -> None:
        await self.client.aclose()
