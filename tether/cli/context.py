"""The object every command receives, and the decorator that passes it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the config (platformdirs, TOML) is loaded by the commands that read it: `tether stack` does not
    from tether.config import Settings


@dataclass
class AppContext:
    """Global options: where the config is, the data dir override, and whether to show tracebacks."""

    config_path: str | None
    data_dir: str | None
    debug: bool
    _settings: Settings | None = None

    def settings(self, **overrides: dict[str, Any]) -> Settings:
        """Load the settings once (so a bad config file is reported by the command that needs it)."""
        if self._settings is None:
            from tether.config import load_settings

            base: dict[str, dict[str, Any]] = {}
            if self.data_dir:
                base["paths"] = {"data_dir": self.data_dir}
            self._settings = load_settings(self.config_path, base)
        return self._settings.with_overrides(overrides) if overrides else self._settings


pass_app = click.make_pass_decorator(AppContext)
