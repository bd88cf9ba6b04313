"""The server's log file, ``<data dir>/logs/tether.log``: what happened, for a photographer to look back on or
send with a report.

The terminal shows warnings and errors only; the file also keeps tether's information lines (camera
connected, lost and re-opened, leftovers cleaned up, the server started and stopped). It is bounded: at
:data:`MAX_BYTES` it is renamed ``tether.log.1`` (and so on, :data:`BACKUPS` kept), so a server that runs for
months never fills the disk with it.
"""
from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

FOLDER = "logs"
NAME = "tether.log"
MAX_BYTES = 1_000_000
BACKUPS = 3

log = logging.getLogger(__name__)


def log_to_data_dir(data_dir: Path) -> Path | None:
    """Add the log file of ``data_dir`` to the root logger and let tether's information lines reach it; returns
    its path, or None (with a warning saying why) where the folder cannot be written: the server runs on."""
    path = Path(data_dir) / FOLDER / NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file in %s: %s", path.parent, exc.strerror or exc)
        return None
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    # The terminal keeps showing what it showed: tether's information lines, let through below for the file,
    # must not reach the handlers already there (which take whatever reaches them).
    for existing in root.handlers:
        if existing.level == logging.NOTSET:
            existing.setLevel(root.getEffectiveLevel())
    root.addHandler(handler)
    package = logging.getLogger("tether")
    if package.getEffectiveLevel() > logging.INFO:
        package.setLevel(logging.INFO)
    return path
