"""The root of tether's error tree: every error a user may see carries a message and a hint.

The bases below say what kind of trouble it is, whatever part of tether raised it; a front end
answers by base (the web layer maps them to HTTP statuses), never by the concrete class.
"""
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


class InvalidInput(TetherError):
    """A value someone gave (a setting, a request field) is outside what is accepted."""


class NotFound(TetherError):
    """What was named is not there: a camera, a burst, an export, a frame, a job."""


class Busy(TetherError):
    """What was asked for is in use or not ready yet: the same request may work a little later."""


class NotReady(Busy):
    """A result that is still being computed (a refocus map); its job says when it is done."""
