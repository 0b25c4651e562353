"""Drive a real JupyterHub the way a browser does, for integration tests.

* :class:`DemoHub` runs ``rtc-presence demo`` (a real hub, configurable-http-proxy, one
  local process per user) on a free port with its own state directory, and stops
  everything it started.
* :class:`HubBrowser` is one person's browser: cookies, the login form, the spawn page,
  the OAuth "Authorize access" consent page, the accept-share form, XSRF headers for the
  single-user server's API, and a personal hub API token for hub REST calls.

Example::

    async with DemoHub() as hub, HubBrowser(hub.url, "alice") as alice:
        await alice.login()
        await alice.start_server()
        lab = await alice.open_lab()
        me = (await alice.api().get("api/me")).json()

Plain classes and async context managers: the pytest plugin wires them into fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx

from ..demo import DEFAULT_PASSWORD, READY_LINE, _marked_pids, _needs_pythonpath, kill_marked
from .server import free_port

__all__ = [
    "DemoHub",
    "Form",
    "HubAPI",
    "HubBrowser",
    "HubClientError",
    "LabPage",
    "ServerAPI",
    "free_port",
    "parse_forms",
]


class HubClientError(Exception):
    """A step of the browser flow did not go as a browser would expect."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        if response is not None:
            message = (
                f"{message}: {response.request.method} {response.url} -> {response.status_code}"
            )
        super().__init__(message)
        self.response = response


# ---------------------------------------------------------------- the demo hub


class DemoHub:
    """``rtc-presence demo`` in a subprocess, on a free loopback port.

    ``url`` is the hub's public URL (``http://127.0.0.1:PORT/``). The demo's output goes
    to ``log_path`` (inside the state directory unless given). ``start()`` waits until
    ``/hub/api/`` answers; ``stop()`` sends SIGTERM and waits for the demo to stop the
    hub, the proxy and every user server, then kills whatever is left.
    """

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        port: int | None = None,
        password: str = DEFAULT_PASSWORD,
        extra_args: list[str] | None = None,
        log_path: Path | str | None = None,
        startup_timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="rtc-presence-hub-")
            state_dir = Path(self._tmp.name) / "state"
        self.state_dir = Path(state_dir).resolve()
        self.port = port or free_port()
        self.password = password
        self.url = f"http://127.0.0.1:{self.port}/"
        self.extra_args = list(extra_args or [])
        self.log_path = Path(log_path) if log_path else self.state_dir.parent / "demo.log"
        self.startup_timeout = startup_timeout
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None
        self.leftovers_at_exit: list[int] = []
        self._log_start = 0
        self._log_file: IO[bytes] | None = None

    def command(self) -> list[str]:
        """The command line: the ``rtc-presence`` script of this environment if installed."""
        script = Path(sys.executable).parent / "rtc-presence"
        base = [str(script)] if script.exists() else [sys.executable, "-m", "rtc_presence.cli"]
        return [
            *base,
            "demo",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--password",
            self.password,
            *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])
        package_parent = str(Path(__file__).resolve().parents[2])
        if _needs_pythonpath(package_parent):
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (package_parent, env.get("PYTHONPATH")) if p
            )
        return env

    async def start(self) -> DemoHub:
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self._open_log()
        self._log_start = self._log_file.tell()
        started = time.monotonic()
        # A plain Popen, not an asyncio subprocess: a session-wide hub may be stopped from
        # another event loop than the one that started it.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=self.environment(),
        )
        deadline = started + self.startup_timeout
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                if self.process.poll() is not None:
                    raise HubClientError(
                        f"rtc-presence demo exited with {self.process.returncode}"
                        f" before the hub answered:\n{self.log_tail()}"
                    )
                # The launcher says its own hub is ready (another process could answer on
                # the port, e.g. a leftover the launcher is about to stop), and it answers.
                if READY_LINE.encode() in self._read_log():
                    with contextlib.suppress(httpx.HTTPError):
                        r = await client.get(self.url + "hub/api/")
                        if r.status_code == 200:
                            break
                if time.monotonic() > deadline:
                    await self.stop()
                    raise HubClientError(
                        f"hub did not answer within {self.startup_timeout} s:\n{self.log_tail()}"
                    )
                await asyncio.sleep(0.1)
        self.startup_seconds = time.monotonic() - started
        return self

    async def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> float:
        """Stop the demo (``sig``, then SIGKILL after ``timeout``); return seconds taken.

        ``sig=signal.SIGINT`` is what Ctrl-C in a terminal sends.
        """
        started = time.monotonic()
        proc = self.process
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        # What the demo left behind by itself (tests assert it is nothing), then clean up.
        self.leftovers_at_exit = self.leftover_pids()
        kill_marked(f"{self.state_dir}:")
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return time.monotonic() - started

    def _read_log(self) -> bytes:
        """What the demo wrote to the log since this start."""
        try:
            return self.log_path.read_bytes()[self._log_start :]
        except OSError:
            return b""

    def _open_log(self) -> IO[bytes]:
        return self.log_path.open("ab")

    def leftover_pids(self) -> list[int]:
        """Processes started by this demo (hub, proxy, servers, kernels) still running."""
        return _marked_pids(f"{self.state_dir}:")

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cleanup(self) -> None:
        """Remove the temporary state directory (only one this object created)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    async def __aenter__(self) -> DemoHub:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            self.cleanup()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        self.cleanup()


# ---------------------------------------------------------------- HTML forms


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.fields if k == name]

    def data(self) -> dict[str, str | list[str]]:
        """The fields as httpx form data (repeated names become lists)."""
        out: dict[str, str | list[str]] = {}
        for k, v in self.fields:
            if k not in out:
                out[k] = v
            else:
                prev = out[k]
                out[k] = [*prev, v] if isinstance(prev, list) else [prev, v]
        return out


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None:
            name = a.get("name")
            kind = a.get("type", "text").lower()
            if not name or "disabled" in a or kind in ("submit", "button", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._current.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[Form]:
    """The forms of a page with the fields a browser would submit (no JavaScript)."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


_PAGE_CONFIG = re.compile(
    r'<script[^>]*id="jupyter-config-data"[^>]*>(.*?)</script>', re.DOTALL | re.IGNORECASE
)


@dataclass
class LabPage:
    url: str
    html: str
    page_config: dict[str, Any]

    @property
    def token(self) -> str | None:
        token = self.page_config.get("token")
        return str(token) if token else None

    def labextension_names(self) -> list[str]:
        """Names of the prebuilt (federated) lab extensions this page loads."""
        return [str(e.get("name")) for e in self.page_config.get("federated_extensions", [])]


# ---------------------------------------------------------------- API helpers


class _HTTPVerbs:
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


class ServerAPI(_HTTPVerbs):
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


class HubAPI(_HTTPVerbs):
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


# ---------------------------------------------------------------- the browser


class HubBrowser:
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
        deadline = started + timeout
        while True:
            model = await self.server_model()
            if model and model.get("ready"):
                break
            if model is None and time.monotonic() - started > 5:
                raise HubClientError(f"server of {self.username} is not starting")
            if time.monotonic() > deadline:
                raise HubClientError(f"server of {self.username} not ready in {timeout} s")
            await asyncio.sleep(0.2)
        # Open the server like a browser (the OAuth flow sets the server's cookie; its API
        # answers 403 rather than redirecting), then wait for its API.
        r = await self.navigate(f"user/{self.username}/")
        if r.status_code >= 400:
            raise HubClientError("open server", r)
        while True:
            r = await self.api().get("api/status")
            if r.status_code == 200:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise HubClientError("server API", r)
            await asyncio.sleep(0.2)

    async def stop_server(self, *, timeout: float = 60.0) -> float:
        """Stop my server through the hub API (as the home page's Stop button does)."""
        started = time.monotonic()
        r = await self.hub_request("DELETE", f"users/{self.username}/server")
        if r.status_code not in (202, 204):
            raise HubClientError("stop server", r)
        while await self.server_model() is not None:
            if time.monotonic() - started > timeout:
                raise HubClientError(f"server of {self.username} did not stop in {timeout} s")
            await asyncio.sleep(0.2)
        self.lab_pages.pop(self.username, None)
        return time.monotonic() - started

    async def open_lab(self, owner: str | None = None, path: str = "lab") -> LabPage:
        """Open JupyterLab on ``owner``'s server (default: mine), through OAuth and consent."""
        owner = owner or self.username
        r = await self.navigate(f"user/{owner}/{path}")
        if r.status_code != 200:
            raise HubClientError(f"open JupyterLab of {owner}", r)
        match = _PAGE_CONFIG.search(r.text)
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

    async def __aenter__(self) -> HubBrowser:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _path_matches(request_path: str, cookie_path: str) -> bool:
    return request_path == cookie_path or request_path.startswith(cookie_path.rstrip("/") + "/")


def which_rtc_presence() -> str | None:
    """The ``rtc-presence`` script next to this Python, or on PATH."""
    script = Path(sys.executable).parent / "rtc-presence"
    return str(script) if script.exists() else shutil.which("rtc-presence")
