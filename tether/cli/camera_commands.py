"""Commands that talk to one camera: cameras, snapshot, capture."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tether.camera import list_cameras, open_camera
from tether.cli.context import AppContext, pass_app
from tether.fileio import write_atomic


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option("--ptpip", "ptpip", multiple=True, metavar="HOST[:PORT]",
              help="also look for this PTP/IP camera (adds to [camera] ptpip)")
@pass_app
def cameras(app: AppContext, as_json: bool, ptpip: tuple[str, ...]) -> None:
    """List every camera tether can see (the simulated ones are always there)."""
    settings = app.settings()
    if ptpip:
        settings = app.settings(camera={"ptpip": [*settings.camera.ptpip, *ptpip]})
    infos = list_cameras(settings)
    if as_json:
        click.echo(json.dumps([info.to_dict() for info in infos], indent=2))
        return
    for info in infos:
        caps = ",".join(info.capabilities.names()) or "-"
        note = f"  ({info.capabilities.focus_drive_note})" if info.capabilities.focus_drive_note else ""
        click.echo(f"{info.id}\t{info.model}\t{caps}{note}")


@click.command()
@click.option("--camera", "camera_id", default="sim:macro", show_default=True, help="camera id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JPEG file to write")
@pass_app
def snapshot(app: AppContext, camera_id: str, out: Path) -> None:
    """Save one live-view frame as a JPEG."""
    with open_camera(camera_id, app.settings()) as camera:
        frame = camera.live_view_frame()
    write_atomic(out, frame.data)
    click.echo(f"{out}  {frame.width}x{frame.height}  {len(frame.data)} bytes")
    _refuse_success_if_undecodable(out, frame.mime)


@click.command()
@click.option("--camera", "camera_id", default="sim:macro", show_default=True, help="camera id")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="file to write, or a folder to keep the camera's name"
)
@pass_app
def capture(app: AppContext, camera_id: str, out: Path) -> None:
    """Take one still picture and download it."""
    with open_camera(camera_id, app.settings()) as camera:
        still = camera.capture_still()
    target = out / still.name if out.is_dir() else out
    write_atomic(target, still.data)
    size = f"  {still.width}x{still.height}" if still.width else ""
    click.echo(f"{target}{size}  {len(still.data)} bytes")
    _refuse_success_if_undecodable(target, still.mime)


def _refuse_success_if_undecodable(path: Path, mime: str) -> None:
    """A JPEG the camera sent damaged is kept as it came (a recovery tool may rescue it), but is not a success:
    a warning line says so and the exit code lets a script notice."""
    from tether.imaging.errors import UnreadableImage  # the image decoder only once there is a picture to check
    from tether.imaging.io import read_image

    if mime != "image/jpeg":
        return
    try:
        read_image(path, reduce=8)
    except UnreadableImage:
        click.echo(f"warning: {path}: the camera sent a picture that cannot be decoded; its bytes are kept as they "
                   "came", err=True)
        sys.exit(1)


COMMANDS = [cameras, snapshot, capture]
