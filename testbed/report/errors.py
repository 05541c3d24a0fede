"""Why a report could not be written, with the exit code the CLI returns for each."""

from __future__ import annotations

from ..errors import TestbedError


class ResultsInvalid(TestbedError):
    """results.json (or a series file it names) breaks the results contract; the message names file and field."""

    exit_code = 3


class ResultsNotFound(TestbedError):
    """The results directory, or the results.json inside it, does not exist."""

    exit_code = 5


class ReportNotWritten(TestbedError):
    """The page was rendered but could not be written where it was asked to go."""

    exit_code = 1
