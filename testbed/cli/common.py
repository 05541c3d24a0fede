"""What every subcommand shares: error reporting with stable exit codes, and rig selection."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import TestbedError

F = TypeVar("F", bound=Callable[..., Any])

rig_option = click.option(
    "--rig", "-r", envvar="TESTBED_RIG", metavar="NAME",
    help="Which rig (default: the only one up). Also $TESTBED_RIG.",
)


def reports_errors(fn: F) -> F:
    """Turn a TestbedError into its message on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TestbedError as exc:
            click.echo(f"testbed: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


def choose_rig(rig: str | None) -> str:
    """The named rig, or the only rig up; a usage error when it is ambiguous."""
    from ..backends import state
    from ..errors import RigNotFound

    if rig:
        from ..backends.plan import check_rig_name

        return check_rig_name(rig)
    rigs = state.known_rigs()
    if not rigs:
        raise RigNotFound("no rig is up; bring one up with: testbed up TOPOLOGY.yaml")
    if len(rigs) > 1:
        raise click.UsageError(f"{len(rigs)} rigs are up ({', '.join(rigs)}); choose one with --rig NAME")
    return rigs[0]
