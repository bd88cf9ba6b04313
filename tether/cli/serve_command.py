"""``tether serve``: the browser control panel."""
from __future__ import annotations

import click

from tether.camera import default_camera_id
from tether.cli.context import AppContext, pass_app


@click.command()
@click.option(
    "--camera", "camera_id", default=None, help="camera id; default: the first real camera, else the simulator"
)
@click.option("--host", default=None, help="interface to listen on (default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="TCP port (default 8420)")
@pass_app
def serve(app: AppContext, camera_id: str | None, host: str | None, port: int | None) -> None:
    """Run the browser control panel."""
    overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = app.settings(server=overrides) if overrides else app.settings()
    simulated = False
    if camera_id is None:
        camera_id, simulated = default_camera_id(settings)
    from tether.web.server import run_server

    run_server(settings, camera_id=camera_id, simulated=simulated)


COMMANDS = [serve]
