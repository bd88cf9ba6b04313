"""The root of tether's error tree: every error a user may see carries a message and a hint."""
from __future__ import annotations


class TetherError(Exception):
    """An error whose message is written for the person at the camera, not for a developer."""

    #: Process exit code the CLI uses for this kind of error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class Cancelled(TetherError):
    """Someone cancelled the job; whatever it had finished (a sweep's frames) is kept."""

    exit_code = 130
