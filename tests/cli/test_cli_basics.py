"""The real ``tether`` command in a subprocess: version, and errors as one clear line."""
from __future__ import annotations


def test_version(run_tether):
    result = run_tether("--version", check=True)
    assert result.stdout.startswith("tether, version ")


def test_misspelt_config_key_is_one_line_and_exit_code_2(run_tether, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("[server]\nprot = 8420\n")
    result = run_tether("--config", str(config), "cameras")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(config) in lines[0] and "prot" in lines[0] and "allowed: host, port, token" in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_camera_id_is_a_clear_error_without_traceback(run_tether, tmp_path):
    result = run_tether("snapshot", "--camera", "webcam:0", "--out", str(tmp_path / "x.jpg"))
    assert result.returncode == 1
    assert "no camera 'webcam:0'" in result.stderr and "sim:macro" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.jpg").exists()


def test_debug_shows_the_traceback(run_tether, tmp_path):
    result = run_tether("--debug", "snapshot", "--camera", "webcam:0", "--out", str(tmp_path / "x.jpg"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "CameraNotFound" in result.stderr
