"""``tether burst``: inspect, verify, repair, export and import burst files (no camera needed)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from tether.burst import BurstError, open_burst
from tether.burst.exports import export as run_export
from tether.burst.labels import burst_labels
from tether.burst.recovery import repair as run_repair
from tether.numbering import frame_index, frame_number

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def burst() -> None:
    """Burst files: info, verify, repair, export, import."""


@burst.command(short_help="Camera, sweep, frames, focus range, derived data.")
@click.argument("file", type=_FILE)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def info(file: Path, as_json: bool) -> None:
    """Show what a burst holds: camera, sweep, frames, focus range, derived data."""
    with open_burst(file) as reader:
        summary = dict(reader.info(), **burst_labels(reader))
        frames = [m.to_dict() for m in reader.frames_meta()]
    if as_json:
        click.echo(json.dumps(dict(summary, frames=frames), indent=2))
        return
    camera = summary["camera"]
    lines = [f"{file}"]
    lines += [f"  {key:<11} {summary[key]}".replace("\n", "\n" + " " * 14) for key in ("title", "notes")
              if summary[key]]
    lines += [
        f"  format      {summary['format_version']}  status {summary['status']}"
        + ("  (recovered by scanning: not closed properly)" if summary["recovered"] else ""),
        f"  camera      {' '.join(str(camera[k]) for k in ('model', 'serial', 'lens') if camera.get(k)) or '-'}",
        f"  sweep       {_sweep_text(summary['sweep'])}",
        *(f"  {'plan note':<11} {text}" for text in _plan_texts(summary["sweep"], "note")),
        *(f"  {'warning':<11} {text}" for text in _plan_texts(summary["sweep"], "warnings")),
        f"  frames      {summary['frame_count']}  "
        f"({', '.join(summary['sources']) or '-'}; {', '.join(summary['sizes']) or '-'})",
        f"  focus       {summary['focus_range'][0]}..{summary['focus_range'][1]} steps"
        if summary["focus_range"]
        else "  focus       -",
        f"  duration    {_duration_text(summary['duration_s'])}   size {summary['bytes'] / 1e6:.1f} MB",
        f"  derived     {', '.join(summary['derived']) or '-'}",
    ]
    if summary["corrupt_frames"]:
        corrupt = ", ".join(str(frame_number(i)) for i in summary["corrupt_frames"])
        lines.append(f"  corrupt     frames {corrupt} (as the camera sent them)")
    lines += [f"  problem     {p}" for p in summary["problems"]]
    click.echo("\n".join(lines))


def _sweep_text(sweep: dict[str, Any]) -> str:
    """The sweep record in words: its mode, the plan's frames and spacing, the range, the depth of field, and
    the sweeps that extended it."""
    if not sweep:
        return "-"
    parts = [str(sweep.get("mode", "?")), *_span_texts(sweep)]
    if isinstance(sweep.get("dof"), int | float):
        parts.append(f"depth of field about {sweep['dof']:.1f} steps")
    merged = [m for m in sweep.get("merged") or [] if isinstance(m, dict)]
    if merged:
        parts.append(f"extended by {len(merged)} later sweep(s): " + "; ".join(
            ", ".join(_span_texts(m)) or "?" for m in merged))
    known = {"mode", "plan", "range", "dof", "scale", "unit", "prescan", "merged"}
    parts += [f"{key} {json.dumps(value)}" for key, value in sorted(sweep.items()) if key not in known]
    return "; ".join(parts)


def _span_texts(sweep: dict[str, Any]) -> list[str]:
    """What a sweep record says of its frames and range: ``60 frames 3 steps apart, 21..198``, ``Near 22, Far 198``."""
    plan, focus_range, out = sweep.get("plan") or {}, sweep.get("range"), []
    if {"frames", "spacing", "start", "end"} <= plan.keys():
        steps = f"{plan['spacing']:g} step{'' if plan['spacing'] == 1 else 's'}"
        out.append(f"{plan['frames']} frames {steps} apart, {plan['start']:g}..{plan['end']:g}")
    if focus_range:
        out.append(f"Near {focus_range[0]:g}, Far {focus_range[1]:g}")
    return out


def _plan_texts(sweep: dict[str, Any], key: str) -> list[str]:
    """The sweep plan's note (one sentence) or warnings (a list), as a list of sentences."""
    value = (sweep.get("plan") or {}).get(key) or []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _duration_text(seconds: float) -> str:
    """``15.69 s``, or ``11 min 48 s`` from a minute up (a burst extended later spans the pause)."""
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


@burst.command(short_help="Check every checksum; exit 1 on a problem.")
@click.argument("file", type=_FILE)
def verify(file: Path) -> None:
    """Check every frame's checksum and the metadata records; exit 1 on any problem."""
    with open_burst(file) as reader:
        problems = reader.verify()
        count = reader.frame_count
    for problem in problems:
        click.echo(f"problem: {problem}")
    if problems:
        raise BurstError(f"{file}: {len(problems)} problem(s) found", hint="'tether burst repair' keeps what is intact")
    click.echo(f"{file}: OK, {count} frames verified")


@burst.command(short_help="Write a valid copy beside a crashed burst.")
@click.argument("file", type=_FILE)
@click.option(
    "--out", type=_FILE, help="where to write the repaired burst (default FILE-repaired.zip, or .burst, beside it)"
)
def repair(file: Path, out: Path | None) -> None:
    """Write a valid copy of a crashed or damaged burst beside it (never in place)."""
    report = run_repair(file, out)
    if report.output is None:
        click.echo(f"{file}: intact, {report.kept} frames; nothing to repair")
        return
    click.echo(f"{report.output}: kept {report.kept} frames, dropped {len(report.dropped)}")
    for item in report.dropped:
        click.echo(f"  dropped: {item}")
    for note in report.notes:
        click.echo(f"  note: {note}")


#: What ``burst export`` says it wrote: "fly.zip: a ZIP of 48 frames".
_EXPORT_KINDS = {"folder": "a folder", "zip": "a ZIP", "mp4": "an MP4 movie"}


@burst.command(short_help="JPEG folder, MP4, ZIP or one frame.")
@click.argument("file", type=_FILE)
@click.option(
    "--to",
    "target",
    type=click.Path(path_type=Path),
    required=True,
    help="a folder (JPEGs with EXIF/XMP), FILE.mp4 (H.264), FILE.zip, "
    "or FILE.jpg (one frame: --frame, else the middle one)",
)
@click.option("--frame", type=click.IntRange(min=frame_number(0)), help="export only this frame (counted from 1)")
@click.option("--fps", type=float, default=10.0, show_default=True, help="movie frame rate")
@click.option("--width", type=int, help="movie width in pixels (default: the frames' width)")
def export(file: Path, target: Path, frame: int | None, fps: float, width: int | None) -> None:
    """Export a burst for other tools: Zerene/Helicon/Lightroom folder, MP4 movie, ZIP or one frame."""
    start = time.monotonic()
    with open_burst(file) as reader:
        if frame is not None and frame > frame_number(reader.frame_count - 1):
            raise click.BadParameter(f"{file} has frames {frame_number(0)}-{frame_number(reader.frame_count - 1)}, "
                                     f"not {frame}", param_hint="--frame")
        result = run_export(reader, target, frame=None if frame is None else frame_index(frame), fps=fps,
                            width=width)
    what = (f"frame {frame_number(result.index)}" if result.index is not None
            else f"{_EXPORT_KINDS[result.kind]} of {result.frames} frame{'' if result.frames == 1 else 's'}")
    click.echo(f"{result.path}: {what} ({time.monotonic() - start:.1f} s)")
    if result.skipped:  # the rest is exported; the exit code lets a script notice what is missing
        numbers = ", ".join(str(frame_number(i)) for i in result.skipped)
        several = len(result.skipped) > 1
        click.echo(f"warning: {file}: {'frames' if several else 'frame'} {numbers} {'are' if several else 'is'} "
                   f"damaged and left out of {result.path}", err=True)
        sys.exit(1)


@burst.command(name="import", short_help="Make a burst from stack images.")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=_FILE, required=True, help="the new burst file (must not exist)")
def import_(sources: tuple[Path, ...], out: Path) -> None:
    """Make a burst from a folder (or list) of stack images, in file-name order."""
    from tether.capture.live_analysis import import_analysed  # the image engine only when importing

    path = import_analysed(sources, out)
    with open_burst(path) as reader:
        click.echo(f"{path}: {reader.frame_count} frames imported")


COMMANDS = [burst]
