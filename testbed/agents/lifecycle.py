"""The ``with`` protocol every group of target processes shares: start, and always stop on the way out.

Why one place: on an error inside the block the original exception matters more than a
complaint from shutting down, so the exit swallows the stop's AgentError only then.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from .errors import AgentError

_Self = TypeVar("_Self", bound="Lifecycle")


class Lifecycle:
    """Mixin: ``with x:`` runs ``x.start()``; leaving runs ``x.stop()`` (quietly after an error)."""

    def start(self: _Self) -> _Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        try:
            return self.start()
        except BaseException:
            self._stop_quietly()
            raise

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.stop()
        else:
            self._stop_quietly()  # the original error matters more than a shutdown complaint

    def _stop_quietly(self) -> None:
        try:
            self.stop()
        except AgentError:
            pass
