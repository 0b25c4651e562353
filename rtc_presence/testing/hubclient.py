"""Drive a real JupyterHub the way a browser does, for integration tests: one import for
the whole hub kit, which lives in modules named by role:

* :mod:`.demohub`: :class:`DemoHub`, ``rtc-presence demo`` in a subprocess (start, stop,
  leftovers);
* :mod:`.hubbrowser`: :class:`HubBrowser`, one person's browser (login, spawn, OAuth
  consent, accept-share, XSRF);
* :mod:`.hubapi`: :class:`HubAPI` (hub REST with a token), :class:`ServerAPI` (a
  single-user server with a browser's cookies), :class:`HubClientError`;
* :mod:`.webpages`: the forms and JupyterLab page config a browser reads;
* :mod:`.sharingflows`: :func:`owner_and_guest`, a hub with an owner's server running and
  a guest who accepted her invite link.
"""

from __future__ import annotations

from ..demo.processes import free_port
from .demohub import DemoHub, which_rtc_presence
from .hubapi import HTTPVerbs, HubAPI, HubClientError, ServerAPI
from .hubbrowser import HubBrowser
from .sharingflows import SharedServer, owner_and_guest
from .webpages import Form, LabPage, parse_forms

__all__ = [
    "DemoHub",
    "Form",
    "HTTPVerbs",
    "HubAPI",
    "HubBrowser",
    "HubClientError",
    "LabPage",
    "ServerAPI",
    "SharedServer",
    "free_port",
    "owner_and_guest",
    "parse_forms",
    "which_rtc_presence",
]
