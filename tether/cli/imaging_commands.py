"""``tether stack``, ``tether refocus``, ``tether aperture``: the image engine on bursts and image files."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from tether.cli.progress import progress_bar
from tether.engine.heap import limit_heap_growth, release_free_heap
from tether.imaging import (
    FOCUS_INDEX_NAME,
    FORMATS,
    METHODS,
    FocusIndex,
    ImageFiles,
    ImagingError,
    compute_focus_index,
    coverage_map,
    depth_map,
    format_of,
    motion_map,
    reading_ahead,
    render_aperture,
    stack_frames,
    write_image,
)
from tether.imaging.formats import readable_suffixes, suffixes_text
from tether.imaging.frame_range import frame_positions
from tether.imaging.rawfile import RAW_SUFFIXES
from tether.numbering import frame_number

_IN = click.Path(dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, path_type=Path)
_FILES_OR_FOLDER = click.Path(path_type=Path)


def _is_burst(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


class _Bar:
    """A progress bar (on a terminal only: see tether.cli.progress) fed by the engine's (done, total, stage)
    callback."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._stage = ""
        self._done = 0

    def __call__(self, done: int, total: int, stage: str) -> None:
        if self._bar is None or stage != self._stage:
            self.close()
            self._bar = progress_bar(length=total, label=stage.capitalize().ljust(10), show_pos=True, show_eta=True)
            self._bar.__enter__()
            self._stage = stage
            self._bar.update(done - 1)
            self._done = done - 1
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@contextlib.contextmanager
def _progress() -> Iterator[_Bar]:
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.close()


@contextlib.contextmanager
def _open_source(inputs: tuple[Path, ...]) -> Iterator[tuple[Any, FocusIndex | None, Path | None]]:
    """(frame source, cached focus index or None, burst path or None) for a burst or image files.

    The process is about to hold frames: glibc is told to give large freed blocks back at once.
    """
    limit_heap_growth()
    if len(inputs) == 1 and _is_burst(inputs[0]):
        from tether.burst import open_burst
        from tether.engine.burst_frames import BurstFrames

        with open_burst(inputs[0]) as reader:
            source = BurstFrames(reader)
            index = None
            if FOCUS_INDEX_NAME in reader.derived_names():
                try:
                    index = FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME))
                except ImagingError:
                    index = None  # stale or damaged: recompute
                if index is not None and (index.frame_count, tuple(index.shape)) != (len(source), tuple(source.shape)):
                    index = None
            yield source, index, inputs[0]
        return
    for p in inputs:
        if _is_burst(p):
            raise ImagingError(f"{p}: a burst must be the only input (stack one burst, or image files)")
    yield ImageFiles(inputs), None, None


def _swept_coverage(source: Any) -> Any:
    """The coverage the burst's sweep recorded (a :class:`tether.capture.coverage.Coverage`), None if none."""
    from tether.capture.coverage import Coverage

    summary = source.reader.manifest.get("summary") or {}
    try:
        return Coverage.from_dict(summary["coverage"])
    except (KeyError, TypeError, ValueError):  # imported, or from before sweeps recorded it
        return None


def _index_for(source: Any, cached: FocusIndex | None, burst: Path | None, bar: _Bar) -> FocusIndex:
    """The cached focus index, else computed now and (for a burst) stored in it for next time."""
    if cached is not None:
        return cached
    with reading_ahead(source) as ahead:
        index = compute_focus_index(ahead, progress=bar)
    if burst is not None:
        from tether.burst import keep_derived

        reason = keep_derived(burst, {FOCUS_INDEX_NAME: index.to_bytes()}, what="the focus index")
        if reason:
            bar.close()  # the warning gets a line of its own, not the end of the progress line
            click.echo(f"warning: {reason}", err=True)
    return index


def _parse_range(text: str | None, source: Any) -> range | None:
    """``A:B`` (frame numbers, inclusive) as positions in the frame source."""
    if text is None:
        return None
    try:
        first, last = (int(v) for v in text.split(":"))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected FIRST:LAST frame numbers, like 3:12") from None
    return frame_positions(_numbers(source), first, last, counted_from=frame_number(0))


def _numbers(source: Any) -> list[int]:
    """The numbers a person reads for the frames of ``source`` (a burst's keep their gaps; files are counted)."""
    return [frame_number(i) for i in getattr(source, "indices", range(len(source)))]


def _parse_point(text: str, option: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected X,Y in pixels, like 1200,800", param_hint=option) from None
    return x, y


def _check_out(path: Path | None, option: str) -> None:
    if path is None:
        return
    try:
        format_of(path.suffix)
    except ImagingError:
        raise click.BadParameter(f"{path.name}: use {suffixes_text()}", param_hint=option) from None


def _image_files(inputs: tuple[Path, ...]) -> tuple[Path, ...]:
    """The inputs; a folder given alone stands for the images in it, by name (only its RAWs when it holds
    any: a RAW+JPEG folder stacks the RAWs, not each picture twice)."""
    if len(inputs) != 1 or not inputs[0].is_dir():
        return inputs
    images = sorted(p for p in inputs[0].iterdir() if p.is_file() and p.suffix.lower() in readable_suffixes())
    if not images:
        raise ImagingError(f"{inputs[0]}: no images in this folder ({', '.join(readable_suffixes())})")
    raws = tuple(p for p in images if p.suffix.lower() in RAW_SUFFIXES)
    return raws or tuple(images)


def _default_out(inputs: tuple[Path, ...], dtype: Any, what: str) -> Path:
    """``<first input>-<what>.jpg`` (``.tif`` for 16-bit) beside the input, never an existing file."""
    import numpy as np

    suffix = ".tif" if np.dtype(dtype) == np.uint16 else ".jpg"
    base = inputs[0].with_name(f"{inputs[0].stem}-{what}")
    out, n = base.with_suffix(suffix), 2
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}").with_suffix(suffix), n + 1
    return out


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=_FILES_OR_FOLDER)
@click.option("--range", "frame_range", metavar="A:B",
              help="stack only frames A to B (counted from 1, inclusive): a partial stack")
@click.option("--method", type=click.Choice(list(METHODS)), default=METHODS.default, show_default=True,
              help="; ".join(f"{m.name}: {m.use}" for m in METHODS.values()))
@click.option("--out", type=_OUT, help=f"output image ({', '.join(f.suffix for f in FORMATS.values())}); "
                                       "default INPUT-stack.jpg beside the input")
@click.option("--depth-map", "depth_out", type=_OUT, help="also write the depth map (16-bit PNG, near = bright)")
@click.option("--coverage", "coverage_out", type=_OUT, help="also write the coverage map (black = never sharp)")
@click.option("--motion-map", "motion_out", type=_OUT,
              help="also write the motion map (white = a moving subject, taken from one frame)")
@click.option("--no-align", is_flag=True, help="frames are already aligned (skip breathing correction)")
@click.option("--slabs", type=click.IntRange(min=2), metavar="N",
              help="stack N overlapping slabs of the frames, then the slabs (for deep stacks)")
def stack(inputs: tuple[Path, ...], frame_range: str | None, method: str, out: Path | None, depth_out: Path | None,
          coverage_out: Path | None, motion_out: Path | None, no_align: bool, slabs: int | None) -> None:
    """Focus-stack a burst, image files or a folder of them (JPEG, PNG, TIFF, camera RAW; 16-bit kept)."""
    files = _image_files(inputs)
    for path, option in ((out, "--out"), (depth_out, "--depth-map"), (coverage_out, "--coverage"),
                         (motion_out, "--motion-map")):
        _check_out(path, option)
    with _open_source(files) as (source, cached, burst), _progress() as bar:
        if len(source) < 2:
            raise ImagingError(f"{inputs[0]}: a stack needs at least two frames, this input has {len(source)}")
        selected = _parse_range(frame_range, source)
        if no_align:
            with reading_ahead(source) as ahead:
                index = compute_focus_index(ahead, align=False, progress=bar)
        else:
            index = _index_for(source, cached, burst, bar)
        if slabs:
            from tether.imaging.slabs import stack_slabs

            result = stack_slabs(source, count=slabs, method=method, frames=selected, index=index, progress=bar,
                                 on_strip_done=release_free_heap).result
        else:
            result = stack_frames(source, method=method, frames=selected, index=index, progress=bar,
                                  on_strip_done=release_free_heap)
        bar.close()
        used = result.frames
        numbers = _numbers(source)
        how = f"{method}, {slabs} slabs" if slabs else method
        note = (f"tether focus stack ({how}) of {len(used)} frames, {numbers[used.start]}-{numbers[used.stop - 1]}, "
                f"of {burst.name if burst else f'{len(source)} files'}"
                + (f", {len(result.excluded)} left out" if result.excluded else ""))
        target = out or _default_out(inputs, result.image.dtype, "stack")
        write_image(target, result.image, exif_from=source.exif_source(), note=note)
        click.echo(f"wrote {target} ({result.image.shape[1]}x{result.image.shape[0]}, "
                   f"{8 * result.image.dtype.itemsize}-bit, {len(used) - len(result.excluded)} frames, {how})")
        for i in result.excluded:
            frame = files[i].name if len(files) == len(source) else f"frame {numbers[i]}"
            click.echo(f"warning: {frame} could not be registered to the other frames (another scene, or no "
                       "texture) and was left out")
        r0, r1, c0, c1 = result.valid_box
        h, w = result.image.shape[:2]
        if (r0, r1, c0, c1) != (0, h, 0, w):
            # Reported, not cropped: the picture keeps frame 0's framing (and matches the depth and
            # coverage maps); the photographer crops, and now knows where.
            click.echo(f"note: frames cover rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1} fully; cropping to that "
                       f"cuts {100 * result.uncovered:.1f} % of the picture, whose border was filled from the "
                       "nearest pixels (focus breathing, or the camera moved)")
        if depth_out:
            write_image(depth_out, depth_map(index))
            click.echo(f"wrote {depth_out} (depth map, near = bright)")
        if coverage_out:
            swept = _swept_coverage(source) if burst else None
            write_image(coverage_out, coverage_map(index, missed=None if swept is None else swept.missed()))
            click.echo(f"wrote {coverage_out} (coverage: white sharp, grey no texture, black never sharp)")
            for warning in [] if swept is None else swept.warnings:
                click.echo(f"coverage: {warning}")
        if motion_out:
            write_image(motion_out, motion_map(index))
            share = float(index.motion.mean())
            click.echo(f"wrote {motion_out} (motion map: white = moving, {100 * share:.1f} % of the picture)")


@click.command()
@click.argument("burst", type=_IN)
@click.option("--at", "at", required=True, metavar="X,Y", help="the point to bring into focus, in pixels")
@click.option("--out", type=_OUT, help="where to write the chosen frame; default BURST-refocus.jpg")
def refocus(burst: Path, at: str, out: Path | None) -> None:
    """Pick the frame of a burst where the point X,Y is sharpest, and write it."""
    _check_out(out, "--out")
    x, y = _parse_point(at, "--at")
    if not _is_burst(burst):
        raise ImagingError(f"{burst}: not a burst file")
    with _open_source((burst,)) as (source, cached, path), _progress() as bar:
        index = _index_for(source, cached, path, bar)
        bar.close()
        answer = index.refocus(x, y)
        if answer.frame is None:
            raise ImagingError(f"{x:g},{y:g} is on a moving subject: no one frame shows it sharp there; "
                               "tap something that stood still")
        index = source.indices[answer.frame]
        number = frame_number(index)
        target = out or _default_out((burst,), source.dtype, "refocus")
        data = source.reader.frame_bytes(index)
        if format_of(target.suffix) == FORMATS["jpeg"] and data[:2] == b"\xff\xd8":
            from tether.fileio import write_atomic

            write_atomic(target, data)  # the camera's own JPEG, untouched
        else:
            write_image(target, source.read(answer.frame), exif_from=data, note=f"tether refocus: frame {number}")
        alternatives = ", ".join(str(frame_number(source.indices[k])) for k in answer.alternatives)
        click.echo(f"frame {number} (confidence {answer.confidence:.2f}; alternatives {alternatives}) -> {target}")


@click.command()
@click.argument("burst", type=_IN)
@click.option("--focus", "focus", required=True, metavar="X,Y", help="the point to focus on, in pixels")
@click.option("--f-number", type=click.FloatRange(min=0.5, max=64), required=True,
              help="the virtual aperture; smaller than the one shot at gives a shallower depth of field")
@click.option("--captured-f-number", type=click.FloatRange(min=0.5, max=64),
              help="the aperture the burst was shot at (default: from the burst's metadata or EXIF)")
@click.option("--out", type=_OUT, help="output image; default BURST-aperture.jpg")
def aperture(burst: Path, focus: str, f_number: float, captured_f_number: float | None, out: Path | None) -> None:
    """Render a burst focused at X,Y with the depth of field of another aperture (Lytro-style)."""
    _check_out(out, "--out")
    x, y = _parse_point(focus, "--focus")
    if not _is_burst(burst):
        raise ImagingError(f"{burst}: not a burst file")
    with _open_source((burst,)) as (source, cached, path), _progress() as bar:
        shot = captured_f_number or source.f_number()
        if shot is None:
            raise ImagingError(f"{burst}: the aperture it was shot at is not recorded",
                               hint="give it with --captured-f-number")
        index = _index_for(source, cached, path, bar)
        image = render_aperture(source, index, focus=(x, y), f_number=f_number, captured_f_number=shot, progress=bar,
                                on_strip_done=release_free_heap)
        bar.close()
        target = out or _default_out((burst,), image.dtype, "aperture")
        write_image(target, image, exif_from=source.exif_source(),
                    note=f"tether virtual aperture f/{f_number:g} (shot at f/{shot:g}) focused at {x:g},{y:g}")
        click.echo(f"wrote {target} (focus at {x:g},{y:g}, f/{f_number:g} from f/{shot:g})")


COMMANDS = [stack, refocus, aperture]
