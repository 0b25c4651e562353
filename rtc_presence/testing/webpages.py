"""What a browser reads from the hub's and JupyterLab's pages, without JavaScript: the
forms it would submit (:func:`parse_forms`) and JupyterLab's page config (:class:`LabPage`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

__all__ = ["PAGE_CONFIG", "Form", "LabPage", "parse_forms"]


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


PAGE_CONFIG = re.compile(
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
