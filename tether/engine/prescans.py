"""The last pre-scan of each camera, kept in the data directory so a reload or a restart still shows it.

A pre-scan takes a minute of stepping through the scene; its curves and range are what the Post Focus
page is planned from. The engine's state snapshot carries them (``last_prescan`` of each camera) and
this file keeps them across restarts: ``<data_dir>/prescans.json``, one entry per camera id.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from tether.fileio import StorageError, write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "prescans.json"


class PrescanMemory:
    """Camera id -> the result of its last pre-scan (as the job returned it), saved on every change."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
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
            self._results[camera_id] = result
            text = json.dumps(self._results, separators=(",", ":"))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(self.path, text.encode())
            except (OSError, StorageError) as exc:  # still in memory: a reload shows it, a restart will not
                log.warning("could not keep the pre-scan in %s: %s", self.path, exc)
