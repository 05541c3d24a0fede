"""Why the sensor agent refused its configuration or stopped; messages say expected vs got."""

from __future__ import annotations


class SensorError(Exception):
    """Base of every error the sensor agent raises on purpose; the message is for a person."""


class ConfigError(SensorError):
    """The agent's configuration file (or a key file it names) cannot be used."""


class QueueCorrupt(SensorError):
    """The on-disk queue does not hold what this code wrote (another device's, or damaged)."""


class LedgerRefused(SensorError):
    """The ledger refused a record for a reason retrying cannot fix (not enrolled, bad signature).

    Sending later records past it would break the in-order guarantee, so the uploader stops.
    """
