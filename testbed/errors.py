"""Errors a person can act on. Each carries the exit code the CLI returns for it."""

from __future__ import annotations


class TestbedError(Exception):
    """Base of every error the testbed raises on purpose; the message is for a person."""

    __test__ = False  # not a pytest test class, despite the name
    exit_code = 1


class TopologyInvalid(TestbedError):
    """A topology file is not valid; ``problems`` lists each finding with its location."""

    exit_code = 3

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{source}: {count}\n" + "\n".join(problems))


class BadArgument(TestbedError):
    """A command-line value is malformed (a rig name that cannot be one, say)."""

    exit_code = 2


class HostUnsuitable(TestbedError):
    """The host cannot do what was asked: not root, or the kernel lacks a feature."""

    exit_code = 4


class RigNotFound(TestbedError):
    """No such rig or node is up."""

    exit_code = 5


class RigConflict(TestbedError):
    """The rig (or something with its names) already exists, or another command holds its lock."""

    exit_code = 6
