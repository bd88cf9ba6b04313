"""Commands for real cameras: a virtual Lumix to test against, and a libgphoto2 check-up."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click

from tether.cli.context import AppContext, pass_app
from tether.config import GPHOTO_LIBRARIES
from tether.errors import TetherError


@click.command("virtual-camera")
@click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
@click.option(
    "--port", default=15740, show_default=True, type=click.IntRange(1, 65535), help="TCP port (PTP/IP uses 15740)"
)
@click.option("--scene", default="macro", show_default=True, help="simulated scene the camera looks at")
@pass_app
def virtual_camera(app: AppContext, host: str, port: int, scene: str) -> None:
    """Serve a virtual Panasonic Lumix DMC-GX8 over PTP/IP, rendered by the simulated camera."""
    from tether.camera.ids import parse_camera_id
    from tether.ptpip import PtpIpServer, VirtualLumix

    try:
        from tether.camera.sim import SimCamera
    except ImportError as exc:
        raise TetherError(f"the simulated camera is not available ({exc})") from None
    sim = SimCamera(parse_camera_id(f"sim:{scene}"), app.settings().sim)
    sim.open()
    try:
        server = PtpIpServer(VirtualLumix(sim), host, port)
    except OSError as exc:
        sim.close()
        raise TetherError(
            f"cannot listen on {host}:{port}: {exc.strerror}", hint="is another virtual camera running? try --port"
        ) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    extra = "" if port == 15740 else f'  (list it with: [camera] ptpip = ["{server.camera_id}"])'
    click.echo(f"virtual Lumix DMC-GX8 at {server.camera_id}, scene {scene}; Ctrl+C stops it{extra}")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sim.close()


@click.command("gphoto-check")
@click.option("--camera", "camera_id", default="", help="also open this camera and list its settings")
@click.option(
    "--library",
    type=click.Choice(GPHOTO_LIBRARIES),
    default=None,
    help="which libgphoto2 (default: the [gphoto] library setting)",
)
@click.option("--ptpip", "ptpip", multiple=True, metavar="HOST[:PORT]", help="also probe this PTP/IP camera")
@click.option("--debug-gphoto", is_flag=True, help="print libgphoto2's internal debug log")
@pass_app
def gphoto_check(
    app: AppContext, camera_id: str, library: str | None, ptpip: tuple[str, ...], debug_gphoto: bool
) -> None:
    """Show which libgphoto2 tether uses, its known defects, and the cameras it finds."""
    from tether.camera import gphoto_defects
    from tether.camera.ids import parse_camera_id
    from tether.camera.supervisor import ChildProcess, SupervisedCamera, ptpip_ids

    overrides: dict[str, Any] = {"debug": True} if debug_gphoto else {}
    if library:
        overrides["library"] = library
    settings = app.settings(gphoto=overrides) if overrides else app.settings()
    if debug_gphoto:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("libgphoto2: %(message)s"))
        child_log = logging.getLogger("tether.camera.child")
        child_log.addHandler(handler)
        child_log.setLevel(logging.DEBUG)
        child_log.propagate = False  # once is enough, whatever the root logger does
    child = ChildProcess(settings)
    try:
        click.echo(f"libgphoto2 {child.version} ({child.library} build, python-gphoto2 from {child.origin})")
        for defect in gphoto_defects.defects_for(child.version):
            click.echo(f"  known defect: {defect.summary.format(version=child.version)}; fix: {defect.fix}")
        for info in child.call("detect", ptpip_ids(settings, ptpip)):
            caps = ",".join(info.capabilities.names()) or "-"
            note = f"  ({info.capabilities.focus_drive_note})" if info.capabilities.focus_drive_note else ""
            click.echo(f"{info.id}\t{info.model}\t{caps}{note}")
    finally:
        child.stop()
    if camera_id:
        camera = SupervisedCamera(parse_camera_id(camera_id), settings)
        with camera:
            for setting in camera.settings():
                flag = " (read-only)" if setting.read_only else ""
                click.echo(f"  {setting.group}/{setting.name} = {setting.value!r}{flag}")


COMMANDS = [virtual_camera, gphoto_check]
