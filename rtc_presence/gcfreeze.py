"""The server's start-up objects kept out of the garbage collector's full passes.

A Jupyter server holds ~210,000 objects once started (modules, schemas, parsed
grammars, configuration), nearly all of which live as long as the process. Python's
full collection visits every one of them: 110-150 ms each on this project's bench
machine, and a class joining (300 websockets' worth of handlers, frames and
futures) sets off one or two, stalling every room of the server meanwhile.

:func:`freeze_long_lived` runs once the server has started: one collection,
then ``gc.freeze()`` moves what survived to the permanent generation, which later
collections skip (the technique CPython documents for long-lived processes).
Objects created afterwards are collected as before; a frozen object that later
dies is still freed by reference counting, only a reference cycle among frozen
objects would stay.
"""

from __future__ import annotations

import gc
import logging


def freeze_long_lived(log: logging.Logger) -> int:
    """Collect once, then freeze everything that is left; returns how many objects."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("rtc-presence: %d start-up objects frozen out of full collections", frozen)
    return frozen


__all__ = ["freeze_long_lived"]
