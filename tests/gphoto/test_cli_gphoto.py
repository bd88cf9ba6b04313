"""The real ``tether`` command against the virtual Lumix: listing, snapshot, capture, check-up, virtual-camera."""
from __future__ import annotations

import socket
import subprocess
import sys
import time


def _config(tmp_path, camera_id: str) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[camera]\nptpip = ["{camera_id}"]\n')
    return {"TETHER_CONFIG": str(config), "TETHER_GPHOTO2": "wheel"}


def test_snapshot_and_capture_write_jpegs_through_libgphoto2(virtual_lumix, run_tether, tmp_path):
    env = {"TETHER_GPHOTO2": "wheel"}
    out = tmp_path / "x.jpg"
    result = run_tether("snapshot", "--camera", virtual_lumix.camera_id, "--out", str(out), env=env, check=True)
    assert out.read_bytes()[:2] == b"\xff\xd8" and "bytes" in result.stdout
    folder = tmp_path / "stills"
    folder.mkdir()
    run_tether("capture", "--camera", virtual_lumix.camera_id, "--out", str(folder), env=env, check=True)
    (still,) = folder.iterdir()
    assert still.name.endswith(".JPG") and still.read_bytes()[:2] == b"\xff\xd8"


def test_gphoto_check_lists_the_virtual_lumix_and_its_defect(virtual_lumix, run_tether):
    address = virtual_lumix.camera_id.partition(":")[2]
    result = run_tether("gphoto-check", "--library", "wheel", "--ptpip", address, check=True)
    assert "libgphoto2 2.5.34 (wheel build" in result.stdout
    line = next(line for line in result.stdout.splitlines() if line.startswith(virtual_lumix.camera_id))
    assert "Panasonic DMC-GX8" in line and "unavailable on libgphoto2 2.5.34" in line


def test_gphoto_check_debug_shows_the_libgphoto2_log(virtual_lumix, run_tether):
    address = virtual_lumix.camera_id.partition(":")[2]
    result = run_tether("gphoto-check", "--library", "wheel", "--ptpip", address, "--debug-gphoto", check=True)
    assert "libgphoto2:" in result.stderr and "ptpip" in result.stderr.lower()


def test_cameras_lists_configured_ptpip_cameras(virtual_lumix, run_tether, tmp_path):
    result = run_tether("cameras", env=_config(tmp_path, virtual_lumix.camera_id), check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith(virtual_lumix.camera_id))
    assert "Panasonic DMC-GX8" in line and "live_view" in line


def test_cameras_ptpip_flag_adds_a_camera(virtual_lumix, run_tether):
    address = virtual_lumix.camera_id.partition(":")[2]
    result = run_tether("cameras", "--ptpip", address, env={"TETHER_GPHOTO2": "wheel"}, check=True)
    assert any(line.startswith(virtual_lumix.camera_id) and "Panasonic DMC-GX8" in line
               for line in result.stdout.splitlines()), result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_virtual_camera_command_serves_until_stopped(run_tether, tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tether", "virtual-camera", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert f"ptpip:127.0.0.1:{port}:{port}" in proc.stdout.readline()
        out = tmp_path / "x.jpg"
        run_tether("snapshot", "--camera", f"ptpip:127.0.0.1:{port}", "--out", str(out),
                   env={"TETHER_GPHOTO2": "wheel"}, check=True)
        assert out.read_bytes()[:2] == b"\xff\xd8"
        busy = run_tether("virtual-camera", "--port", str(port))
        assert busy.returncode == 1 and "cannot listen" in busy.stderr and "Traceback" not in busy.stderr
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    time.sleep(0.1)
