"""The ``tether`` command group: global options, error handling, and the sub-command modules."""
from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

import tether
from tether.cli.context import AppContext
from tether.errors import TetherError

#: Command name -> the module that defines it (in its ``COMMANDS``).
# Modules are imported only when their command runs: ``tether stack`` need not pay (in start-up
# time and memory) for the camera, capture and web code the other commands use.
COMMAND_MODULES = {
    "cameras": "camera_commands", "snapshot": "camera_commands", "capture": "camera_commands",
    "prescan": "capture_commands", "sweep": "capture_commands",
    "burst": "burst_commands",
    "stack": "imaging_commands", "refocus": "imaging_commands", "aperture": "imaging_commands",
    "export-living": "living_command",
    "serve": "serve_command",
    "virtual-camera": "gphoto_commands", "gphoto-check": "gphoto_commands",
    "udev-rules": "ops_commands", "doctor": "ops_commands",
    "worker": "cluster_commands", "batch": "cluster_commands",
    "sessions": "sessions_commands",
}


class TetherGroup(click.Group):
    """Turns tether's errors into one line on stderr and an exit code; tracebacks only with --debug.

    Sub-commands are loaded from their modules on first use (see :data:`COMMAND_MODULES`).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMAND_MODULES.get(cmd_name)
        if module is None:
            return None
        commands = importlib.import_module(f"tether.cli.{module}").COMMANDS
        return next(c for c in commands if c.name == cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TetherError as exc:
            app = ctx.find_object(AppContext)
            if app is not None and app.debug:
                raise
            click.echo(f"tether: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("tether: interrupted", err=True)
            sys.exit(130)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"tether, version {tether.__version__}")  # looked up only here (see tether/__init__.py)
        ctx.exit()


@click.group(cls=TetherGroup)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="config file (TOML); default $TETHER_CONFIG or the user config file",
)
@click.option("--data-dir", type=click.Path(file_okay=False), help="where bursts, exports and logs go")
@click.option("--debug", is_flag=True, help="show tracebacks and debug logging")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None, debug: bool) -> None:
    """Tethered camera control: live view, Post Focus sweeps, refocus and focus stacking."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_path, data_dir, debug)


def main() -> None:
    cli(prog_name="tether")
