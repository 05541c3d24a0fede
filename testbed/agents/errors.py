"""Errors of the agent controller: each says what was expected and what happened."""

from __future__ import annotations

from ..errors import TestbedError


class AgentError(TestbedError):
    """An agent or the ledger did not start, stop or report as expected."""
