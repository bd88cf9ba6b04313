"""The ``tether`` command group: global options, error handling, and the sub-command modules."""
from __future__ import annotations

import logging
import sys
from typing import Any

import click

from tether import __version__
from tether.cli.context import AppContext
from tether.errors import TetherError


class TetherGroup(click.Group):
    """Turns tether's errors into one line on stderr and an exit code; tracebacks only with --debug."""

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


@click.group(cls=TetherGroup)
@click.version_option(__version__, prog_name="tether")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config file (TOML); default $TETHER_CONFIG or the user config file")
@click.option("--data-dir", type=click.Path(file_okay=False), help="where bursts, exports and logs go")
@click.option("--debug", is_flag=True, help="show tracebacks and debug logging")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None, debug: bool) -> None:
    """Tethered camera control: live view, Post Focus sweeps, refocus and focus stacking."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = AppContext(config_path, data_dir, debug)


def _register() -> None:
    from tether.cli import (
        burst_commands,
        camera_commands,
        capture_commands,
        gphoto_commands,
        imaging_commands,
        ops_commands,
        serve_command,
    )

    modules = (camera_commands, capture_commands, burst_commands, imaging_commands, serve_command, gphoto_commands, ops_commands)
    for module in modules:
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="tether")
