"""The coverage a sweep reports, through the camera owner with the simulated camera (sim:macro: coin at
33 small steps, leaf 68, stamp 99, fabric 129, ruler 155, cork board 186): a sweep whose frames are many
depths of field apart is never called covered, a subject left outside the range is named with the fix,
and a sweep planned from the pre-scan is called covered."""
from __future__ import annotations

import cv2

from tether.capture import SweepOptions


def test_a_sparse_sweep_is_not_covered_and_a_subject_left_out_is_named(make_owner, run_tether, tmp_path):
    owner, _, _ = make_owner()
    prescan = owner.start_prescan({}).future.result(120)
    assert prescan["dof_spacing"] < 6
    # 12 frames over 20..200: about 16 steps apart for a depth of field of about 3
    sparse = owner.start_sweep(SweepOptions(range=(20, 200), frames=12), tmp_path / "sparse.burst").future.result(120)
    assert sparse["frames"] == 12
    coverage = sparse["coverage"]
    assert any("steps apart" in w and "allow more frames" in w for w in sparse["warnings"]), sparse["warnings"]
    assert coverage["sparse"] and coverage["between"], coverage
    assert not any("extend" in w for w in sparse["warnings"]), sparse["warnings"]
    # the coverage map of `tether stack` says so too: the subjects between frames are black, not white
    made = run_tether("stack", str(tmp_path / "sparse.burst"), "--out", str(tmp_path / "s.jpg"),
                      "--coverage", str(tmp_path / "cov.png"))
    assert made.returncode == 0, made.stderr
    assert "coverage: " in made.stdout and "allow more frames" in made.stdout
    black = float((cv2.imread(str(tmp_path / "cov.png"), cv2.IMREAD_GRAYSCALE) == 0).mean())
    assert black >= len(coverage["between"]) / 144 - 0.01, black

    # after a restart (the pre-scan as saved): 80..198 leaves the coin and the leaf nearer than the range
    later, _, _ = make_owner()
    later.restore_calibration(prescan)
    cut = later.start_sweep(SweepOptions(range=(80, 198), frames=25), tmp_path / "cut.burst").future.result(120)
    near = [tuple(t) for t in cut["coverage"]["beyond_near"]]
    subjects_near = {(p["row"], p["col"]) for p in prescan["peaks"] if p["subject"] and p["position"] < 70}
    assert subjects_near and subjects_near <= set(near), (near, subjects_near)
    assert any("extend the range toward near" in w for w in cut["warnings"]), cut["warnings"]


def test_a_sweep_planned_from_the_prescan_is_covered(make_owner, tmp_path):
    owner, _, _ = make_owner()
    prescan = owner.start_prescan({}).future.result(120)
    near, far = prescan["range"]
    dense = owner.start_sweep(SweepOptions(range=(near, far)), tmp_path / "dense.burst").future.result(180)
    coverage = dense["coverage"]
    assert dense["frames"] > 40 and not coverage["sparse"], (dense["frames"], coverage)
    assert coverage["warnings"] == [], coverage["warnings"]
    assert not (coverage["beyond_near"] or coverage["beyond_far"] or coverage["between"] or coverage["never_sharp"])
