"""Progress bars for the commands: drawn on stderr, and only when stderr is a terminal.

Elsewhere (a pipe, a log file, a script's capture) click prints just each bar's label ("Analysing",
"Stacking", "Sweep") on a line of its own: lines that tell a script nothing and read as output.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar  # what click.progressbar returns; not exported by click


def on_terminal() -> bool:
    """Whether progress is shown at all: stderr is a terminal."""
    return sys.stderr.isatty()


def progress_bar(**options: Any) -> ProgressBar[Any]:
    """``click.progressbar(**options)`` on stderr, hidden unless :func:`on_terminal`."""
    return click.progressbar(file=sys.stderr, hidden=not on_terminal(), **options)
