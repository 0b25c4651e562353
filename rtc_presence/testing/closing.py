"""``async with`` for the test kit's clients and servers: leaving it is ``aclose()``."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

__all__ = ["AsyncClosing"]

_T = TypeVar("_T", bound="AsyncClosing")


class AsyncClosing:
    """``async with x:`` gives ``x`` and ends with ``await x.aclose()``, error or not."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self: _T) -> _T:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
