"""Sub-commands load on demand: every command is listed, and the image commands import no camera or web code."""
from __future__ import annotations

import importlib
import subprocess
import sys

from tether.cli.main import COMMAND_MODULES


def test_every_command_of_every_module_is_listed_in_help(run_tether):
    modules = set(COMMAND_MODULES.values())
    defined = {c.name for m in modules for c in importlib.import_module(f"tether.cli.{m}").COMMANDS}
    assert defined == set(COMMAND_MODULES)
    listed = run_tether("--help", check=True).stdout.split("Commands:")[1]
    for name in COMMAND_MODULES:
        assert f"\n  {name} " in listed, name


def test_image_commands_do_not_load_camera_capture_or_web_code():
    probe = ("import sys, click; from tether.cli.main import cli; ctx = click.Context(cli); "
             "[cli.get_command(ctx, n) for n in ('stack', 'refocus', 'aperture')]; "
             "print(' '.join(m for m in sys.modules if m.startswith('tether.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert "tether.imaging" in loaded
    assert not [m for m in loaded if m.startswith(("tether.camera", "tether.capture", "tether.web", "tether.burst"))]
