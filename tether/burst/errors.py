"""The errors a burst can raise; every one names the file and the problem."""
from __future__ import annotations

from tether.errors import Busy, TetherError


class BurstError(TetherError):
    """A burst could not be read, written or changed."""


class CorruptBurst(BurstError):
    """The file is damaged, truncated, not a ZIP, or not laid out as a burst."""


class UnsupportedVersion(BurstError):
    """The burst was written by a newer tether whose format major version this one cannot read."""


class BurstBusy(BurstError, Busy):
    """Another process (usually the writer of a running sweep) holds the burst."""
