"""One-click coverage fixes: a short extra sweep (extend toward near or far, or fill a gap), merged into the burst.

The extra sweep runs on the camera's owner like any sweep, over a range planned from the burst's own
frames (:mod:`tether.capture.coverage`), into a hidden folder beside the burst. A pool job waits for it,
then merges both into the burst in focus order (:func:`tether.burst.merge.merge_into`: the old file is
replaced atomically), with the coverage checked again on every frame; the burst's cached focus index
is dropped, as it described the old frames.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import numpy as np

from tether.burst import BurstBusy, open_burst
from tether.burst.labels import LABELS_NAME
from tether.burst.merge import merge_into
from tether.camera.types import StepClass
from tether.capture import SweepOptions
from tether.capture.coverage import ExtraSweep, Subjects, check_coverage, extend_sweep, gap_sweep, typical_gap
from tether.capture.live_analysis import analyse_burst
from tether.capture.sharpness import summarize, tile_record
from tether.capture.step_plan import PlanError, StepScale
from tether.engine.bursts import BurstService
from tether.engine.store import BurstStore
from tether.errors import Cancelled
from tether.events import EventBus
from tether.jobs import FINISHED, Job, JobPool

log = logging.getLogger(__name__)


class Reshoots:
    """Plans, sweeps and merges the fixes; ``owner_for(camera_id)`` is the engine's."""

    def __init__(self, store: BurstStore, bursts: BurstService, pool: JobPool, bus: EventBus,
                 owner_for: Callable[[str | None], Any]) -> None:
        self.store, self.bursts, self.pool, self.bus = store, bursts, pool, bus
        self.owner_for = owner_for

    def extend(self, burst_id: str, toward: str, steps: int) -> dict[str, Any]:
        """Sweep ``steps`` beyond the burst's ``toward`` end ("near" or "far") and merge the frames in."""
        burst = self._read(burst_id)
        travel = self.owner_for(burst["camera"]).range_marks.travel
        return self._start(burst_id, burst, extend_sweep(burst["positions"], toward, steps, travel=travel))

    def fill_gap(self, burst_id: str, after: int) -> dict[str, Any]:
        """Re-shoot between frame ``after`` and the next (focus order) and merge the frames in."""
        burst = self._read(burst_id)
        return self._start(burst_id, burst, gap_sweep(burst["positions"], after, dof=burst["dof"]))

    def _read(self, burst_id: str) -> dict[str, Any]:
        with open_burst(self.store.burst_path(burst_id)) as reader:
            sweep = reader.manifest.get("sweep") or {}
            positions = [m.focus_position for m in reader.frames_meta() if m.focus_position >= 0]
            camera = (reader.manifest.get("camera") or {}).get("id")
        try:
            scale: StepScale | None = StepScale.from_dict(sweep["scale"])
        except (KeyError, ValueError):
            scale = None
        try:
            subjects: Subjects | None = Subjects.from_dict(sweep["subjects"])
        except (KeyError, ValueError):  # swept without a pre-scan, or before sweeps recorded where subjects are
            subjects = None
        if len(positions) < 2:
            raise PlanError(f"burst {burst_id} has fewer than two frames with a focus position: it is not a sweep")
        return {"positions": positions, "mode": sweep.get("mode", "liveview"), "scale": scale, "camera": camera,
                "dof": sweep.get("dof"), "subjects": subjects}

    def _start(self, burst_id: str, burst: dict[str, Any], extra: ExtraSweep) -> dict[str, Any]:
        if burst_id in self.bursts.writing:
            raise BurstBusy(f"burst {burst_id} is being written (a sweep or a re-shoot)", hint="wait for it to end")
        self.bursts.check_not_writing(burst_id)  # by another program: its merge would be refused after the sweep
        # A stack, export or refocus map still working on the old frames would store what it made of them
        # (an index of the old frames) into the merged burst: the merge waits until none is left.
        busy = [j.label for j in self.pool.jobs() if j.subject == burst_id and j.state not in FINISHED]
        if busy:
            raise BurstBusy(f"burst {burst_id} is in use ({', '.join(busy)})", hint="wait for it to end, then re-shoot")
        owner = self.owner_for(burst["camera"])
        options = SweepOptions(mode=burst["mode"], range=(extra.near, extra.far), step=StepClass.SMALL,
                               step_count=extra.step, scale=burst["scale"], max_frames=None)
        # In a hidden folder, under the burst's own name: the gallery does not list it, and what the sweep
        # tells the pages (its frames, its burst) names the burst it will be merged into.
        path = self.store.bursts_dir / ".extra" / f"{burst_id}.burst"
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)  # an extra sweep whose merge never happened
        self.bursts.writing.add(burst_id)
        try:
            sweep = self.pool.track(owner.start_sweep(options, path, merged_into=burst_id))
        except BaseException:
            self.bursts.writing.discard(burst_id)
            raise
        merge = self.pool.submit("reshoot", lambda job: self._merge(job, sweep, burst_id, path, burst),
                                 label=f"Re-shoot ({extra.why})", subject=burst_id)
        return {"job": merge.id, "sweep_job": sweep.id, "burst": burst_id, "extra": extra.to_dict()}

    def _merge(self, job: Job, sweep: Job, burst_id: str, path: Path, burst: dict[str, Any]) -> dict[str, Any]:
        try:
            job.report(0, 3, phase="sweep")
            while True:
                try:
                    swept = sweep.future.result(timeout=0.2)
                    break
                except FutureTimeout:
                    try:
                        job.check()
                    except Cancelled:
                        sweep.cancel()
                        raise
            if not swept.get("frames"):
                return {"burst": burst_id, "added": 0, "warnings": ["the extra sweep took no frame"]}
            job.report(1, 3, phase="merge")
            target = self.store.burst_path(burst_id)
            summary, derived = _checked_again(target, path, gap=typical_gap(burst["positions"]), dof=burst["dof"],
                                              subjects=burst["subjects"])
            count = merge_into(target, path, summary=summary, derived=derived)
            # the merged frames' focus index and stack preview: Refocus needs no preparing, and Post Focus
            # shows the stack of the merged burst, not of the extra frames alone
            job.report(2, 3, phase="analysing")
            analyse_burst(target)
        finally:
            path.unlink(missing_ok=True)
            self.bursts.writing.discard(burst_id)
        self.bursts.forget(burst_id)
        self.bus.publish("burst.changed", burst=burst_id, frames=count)
        return {"burst": burst_id, "frames": count, "added": swept["frames"], "coverage": summary["coverage"],
                "warnings": summary["warnings"]}


def _checked_again(base: Path, extra: Path, *, gap: int, dof: float | None,
                   subjects: Subjects | None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The merged frames' coverage (their manifest summary) and sharpness record, in focus order."""
    frames = []
    for path in (base, extra):
        with open_burst(path) as reader:
            for i, meta in enumerate(reader.frames_meta()):
                frames.append((meta.focus_position, summarize(reader.frame_bytes(i), width=meta.width)))
    frames.sort(key=lambda frame: frame[0])  # stable, as the merge orders them
    positions = [p for p, _ in frames]
    summaries = [s for _, s in frames]
    coverage = check_coverage(np.stack([s.tiles for s in summaries]), np.stack([s.thumb for s in summaries]),
                              np.array([s.ok for s in summaries]), spacing=float(gap), dof=dof, subjects=subjects,
                              positions=positions)
    summary = {"frames": len(frames), "coverage": coverage.to_dict(), "warnings": coverage.warnings,
               "merged": True}
    derived = {"sharpness.json": json.dumps(tile_record(summaries, positions), separators=(",", ":")).encode()}
    with open_burst(base) as reader:
        # the title and notes name the burst, not its frames: they stay (the rest described the old frames)
        if LABELS_NAME in reader.derived_names():
            derived[LABELS_NAME] = reader.derived(LABELS_NAME)
    return summary, derived
