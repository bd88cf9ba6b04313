"""Post Focus from the command line: ``tether prescan`` and ``tether sweep``.

Both run the same camera owner as the server (one thread owns the camera), so what works here
works in the browser. Ctrl-C during a sweep cancels it and keeps the frames taken.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import click

from tether.camera.errors import CameraDisconnected, CameraError
from tether.camera.registry import default_camera_id
from tether.camera.types import StepClass
from tether.capture import MODES, PrescanOptions, SweepOptions
from tether.cli.context import AppContext, pass_app
from tether.cli.progress import on_terminal, progress_bar
from tether.config import Settings
from tether.engine import Engine
from tether.errors import Cancelled
from tether.jobs import Job

#: The progress bar's label for each phase a job reports (others: the phase's own name).
_PHASES = {"prescan": "Pre-scan", "homing": "Homing", "sweep": "Sweep", "analysing": "Analysing"}
#: How long to wait for the camera to open before giving up.
CONNECT_TIMEOUT = 30.0


class _Session:
    """An engine for one command (the server's, so what works here works in the browser): connect,
    run one job with a progress bar, stop."""

    def __init__(self, settings: Settings, camera_id: str) -> None:
        self.engine = Engine(settings, camera_id=camera_id)
        self.bus = self.engine.bus

    def __enter__(self) -> _Session:
        connected = threading.Event()
        unsubscribe = self.bus.subscribe(lambda e: connected.set() if e["type"] == "camera.state" else None)
        owner = self.engine.start().owner_for()
        deadline = time.monotonic() + CONNECT_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if owner.state not in ("disconnected", "error"):
                    return self
                connected.wait(0.2)
                connected.clear()
                if owner.state in ("disconnected", "error") and owner.snapshot()["message"] not in ("connecting", ""):
                    break
        finally:
            unsubscribe()
        message = owner.snapshot()["message"]
        self.engine.close()
        raise CameraDisconnected(f"cannot open {owner.camera_id}: {message}")

    def __exit__(self, *exc: object) -> None:
        self.engine.close()

    def run(self, job: Job) -> dict[str, Any]:
        """Show a progress bar per phase (on a terminal only) until ``job`` ends; Ctrl-C cancels it (and keeps
        what it captured)."""
        updates: list[dict[str, Any]] = []
        lock = threading.Condition()

        def listen(event: dict[str, Any]) -> None:
            if event.get("job") == job.id and event["type"] == "job.progress":
                with lock:
                    updates.append(event)
                    lock.notify()

        unsubscribe = self.bus.subscribe(listen) if on_terminal() else lambda: None
        phase = None
        bar = None
        try:
            while not job.future.done():
                try:
                    with lock:
                        lock.wait(0.2)
                        pending, updates[:] = list(updates), []
                except KeyboardInterrupt:
                    job.cancel()
                    click.echo("\ncancelling: the frames taken so far are kept ...", err=True)
                    continue
                for event in pending:
                    if event["phase"] != phase or bar is None:
                        if bar is not None:
                            bar.render_finish()
                        phase = event["phase"]
                        bar = progress_bar(length=max(1, round(event["total"])), label=_PHASES.get(phase, phase),
                                           show_eta=True)
                    bar.length = max(1, round(event["total"]))
                    bar.update(round(event["done"]) - bar.pos)
            if bar is not None:
                bar.render_finish()
        finally:
            unsubscribe()
        return job.future.result()


def _camera_id(app: AppContext, camera_id: str | None) -> str:
    return camera_id or default_camera_id(app.settings())[0]


@click.command()
@click.option("--camera", "camera_id", help="camera id (default: the configured or first camera, else sim:macro)")
@click.option("--from-here", is_flag=True,
              help="range from the current focus to infinity instead of nearest to farthest subject")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output, with every tile's curve")
@pass_app
def prescan(app: AppContext, camera_id: str | None, from_here: bool, as_json: bool) -> None:
    """Find the nearest and farthest subject: the focus range a sweep should cover."""
    camera_id = _camera_id(app, camera_id)
    with _Session(app.settings(), camera_id) as session:
        result = session.run(session.engine.start_prescan(None, PrescanOptions(from_here=from_here)))
    if as_json:
        click.echo(json.dumps(result, indent=1))
        return
    near, far = result["range"]
    scale = result["scale"]
    click.echo(f"range {near}:{far}  (small focus steps from the near end stop)")
    click.echo(f"large step = {scale['large']:g} small steps ({scale['source']}); "
               f"frame spacing for overlapping depth of field: {result['dof_spacing']}")
    click.echo(f"{result['subjects']} of {len(result['peaks'])} tiles have a subject; "
               f"{result['frames']} frames in {result['seconds']:.1f} s")
    rows, cols = result["grid"]
    click.echo("peak position per tile ('.' = flat):")
    for r in range(rows):
        cells = result["peaks"][r * cols:(r + 1) * cols]
        click.echo(" ".join(f"{p['position']:5.0f}" if p["subject"] else "    ." for p in cells))
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}")


@click.command()
@click.option("--camera", "camera_id", help="camera id (default: the configured or first camera, else sim:macro)")
@click.option("--mode", type=click.Choice(list(MODES)), default=SweepOptions.mode, show_default=True,
              help="how frames are taken: " + ", ".join(f"{mode.name} = {mode.label}" for mode in MODES.values()))
@click.option("--frames", type=int, help="target frame count (default: from the depth of field)")
@click.option("--max-frames", type=int, default=SweepOptions.max_frames, show_default=True,
              help="never more frames than this")
@click.option("--range", "range_text", metavar="NEAR:FAR", help="focus range in small steps (skips the pre-scan)")
@click.option("--from-here", is_flag=True, help="sweep from the current focus to infinity (pre-scan still measures)")
@click.option("--step", type=click.Choice([step.value for step in StepClass]),
              help="step class between frames (overrides the plan)")
@click.option("--step-count", type=int, help="steps of that class between frames")
@click.option("--settle", "settle_seconds", type=float, metavar="SECONDS",
              help="stills: wait this long after each move before the picture (the rig's vibration)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="burst file to create (default: in the data dir)")
@pass_app
def sweep(app: AppContext, camera_id: str | None, mode: str, frames: int | None, max_frames: int,
          range_text: str | None, from_here: bool, step: str | None, step_count: int | None,
          settle_seconds: float | None, out: Path | None) -> None:
    """Pre-scan, then sweep focus through the range into a new burst."""
    settings = app.settings()
    camera_id = _camera_id(app, camera_id)
    options = SweepOptions.from_dict({"mode": mode, "frames": frames, "max_frames": max_frames, "step": step,
                                      "step_count": step_count, "from_here": from_here or None, "range": range_text,
                                      "settle_seconds": settle_seconds})
    with _Session(settings, camera_id) as session:
        job, burst_id = session.engine.start_sweep(None, options, path=out)
        path = out or session.engine.store.burst_file(burst_id)
        try:
            result = session.run(job)
        except CameraError:
            if path.exists():  # a fault mid-sweep: say where the frames taken are
                click.echo(f"the frames taken before the fault are in {path}", err=True)
            raise
    if result["burst"] is None:
        click.echo("cancelled before the first frame: no burst was kept")
        sys.exit(Cancelled.exit_code)
    state = "cancelled, kept" if result.get("cancelled") else "wrote"
    click.echo(f"{state} {result['frames']} frames ({result['mode']}, range {result['range'][0]}:{result['range'][1]}, "
               f"{result['fps']:.1f} fps) to")
    click.echo(result["burst"])
    if range_text and result["plan"]["note"]:  # a range typed by hand: say where its frames went, and why
        click.echo(f"note: {result['plan']['note']}")
    # then the plan's own (frames too far apart for the depth of field), which `burst info` shows too
    for warning in [*result["warnings"], *result["plan"]["warnings"]]:
        click.echo(f"warning: {warning}")
    if result.get("cancelled"):  # a script must not take a cancelled sweep for a full one
        sys.exit(Cancelled.exit_code)


COMMANDS = [prescan, sweep]
