"""The exposure a sweep records, from the settings as each kind of camera names them."""
from __future__ import annotations

from tether.camera.types import Setting, SettingKind
from tether.capture.exposure import recorded_exposure


def choice(name: str, value: str) -> Setting:
    return Setting(name, name, SettingKind.CHOICE, value, choices=(value,))


def test_each_camera_s_names_for_the_aperture_give_the_f_number() -> None:
    nikon = [choice("f-number", "f/5.6"), choice("shutterspeed2", "1/250"), choice("iso", "400")]
    assert recorded_exposure(nikon) == {"f_number": 5.6, "shutter": "1/250", "iso": "400"}
    canon = [choice("aperture", "8"), choice("shutterspeed", "1/125"), choice("iso", "100")]
    assert recorded_exposure(canon) == {"f_number": 8.0, "shutter": "1/125", "iso": "100"}


def test_what_is_not_a_value_is_left_out_rather_than_guessed() -> None:
    settings = [choice("aperture", "implicit auto"), choice("shutterspeed", "bulb"), choice("iso", "Auto")]
    assert recorded_exposure(settings) == {}
    assert recorded_exposure([choice("imageformat", "RAW")]) == {}


def test_a_camera_that_cannot_list_its_settings_still_sweeps(truth_camera, tmp_path, caplog) -> None:
    from tether.burst import open_burst
    from tether.camera.errors import Unsupported
    from tether.capture import SweepOptions, run_sweep

    camera = truth_camera("sim:macro")

    def no_settings():  # type: ignore[no-untyped-def]
        raise Unsupported("this camera has no configuration tree")

    camera.settings = no_settings
    burst = tmp_path / "b.burst"
    result = run_sweep(camera, SweepOptions(max_frames=8), burst)
    with open_burst(burst) as reader:
        assert reader.frame_count == result["frames"] > 0
        assert all(m.exposure == {} for m in reader.frames_meta())
    assert "the exposure is not recorded with the frames: this camera has no configuration tree" in caplog.text
