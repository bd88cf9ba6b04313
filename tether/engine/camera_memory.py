"""What each camera did last, kept in the data directory so a reload or a restart still shows it.

Two of these: the last pre-scan of each camera (``prescans.json``: a minute of stepping through the scene,
whose curves and range the Post Focus page is planned from) and its last sweep (``sweeps.json``: the burst,
what was asked for and how it ended, so a reloaded page shows that sweep again). The engine's state snapshot
carries them (``last_prescan`` and ``last_sweep`` of each camera); each file holds one entry per camera id.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from tether.fileio import StorageError, storage_error, write_atomic

log = logging.getLogger(__name__)

PRESCANS = "prescans.json"
SWEEPS = "sweeps.json"


class CameraMemory:
    """Camera id -> a JSON-able dict (a pre-scan's result, a sweep's record), saved on every change, with the
    time it was remembered (``saved_at``, seconds since the epoch: which of a camera's pre-scan and sweep came
    last)."""

    def __init__(self, data_dir: Path, file_name: str) -> None:
        self.path = Path(data_dir) / file_name
        self._lock = threading.Lock()
        self._results: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # unreadable: start without, it is only a convenience
            log.warning("ignoring %s: %s", self.path, exc)
            return {}
        return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def get(self, camera_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._results.get(camera_id)

    def remember(self, camera_id: str, result: dict[str, Any]) -> None:
        with self._lock:
            self._results[camera_id] = {**result, "saved_at": time.time()}
            text = json.dumps(self._results, separators=(",", ":"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, text.encode())
            except (OSError, StorageError) as exc:
                # Still in memory: a reload shows it, a restart will not. Only a convenience, and what made it fail
                # (a full disk) is told by whatever the user was doing: not a warning of its own.
                log.info("%s", storage_error(exc, self.path) if isinstance(exc, OSError) else exc)
