"""``tether export-living``: a burst as one HTML file that refocuses where it is tapped (no server needed)."""
from __future__ import annotations

from pathlib import Path

import click

from tether.cli.imaging_commands import _index_for, _is_burst, _open_source, _progress
from tether.imaging import ImagingError


@click.command("export-living")
@click.argument("burst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="the HTML file to write; default BURST-living.html beside the burst")
def export_living(burst: Path, out: Path | None) -> None:
    """Write a living picture: the burst in one HTML file, tap to refocus, for any phone or laptop."""
    from tether.engine.living import build_living, plan_living
    from tether.fileio import write_atomic

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        raise click.BadParameter(f"{out.name}: a living picture is an .html file", param_hint="--out")
    if not _is_burst(burst):
        raise ImagingError(f"{burst}: not a burst file")
    target = out or burst.with_name(f"{burst.stem}-living.html")
    with _open_source((burst,)) as (source, cached, path), _progress() as bar:
        index = _index_for(source, cached, path, bar)
        plan = plan_living(source, index)
        data = build_living(source, index, plan, numbers=list(source.indices), title=burst.stem,
                            progress=lambda done, total: bar(done, total, "encoding"))
        bar.close()
    write_atomic(target, data)
    click.echo(f"wrote {target} ({len(data) / 1e6:.1f} MB: {plan.frames} frames at {plan.size[1]}x{plan.size[0]}, "
               f"{plan.fmt.upper()} quality {plan.quality})")


COMMANDS = [export_living]
