"""The libgphoto2 child dies (SIGSEGV) or hangs mid-stream: the server process survives, the error
names the libgphoto2 version and the operation, and the same camera comes back by itself."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tether.camera.errors import CameraDisconnected, DriverCrashed
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import open_supervised


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_sigsegv_mid_stream_is_reported_and_the_camera_comes_back(virtual_lumix, gphoto_settings):
    camera = open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("wheel"))
    states: list[str] = []
    camera.subscribe(lambda event: states.append(event.state))
    camera.open()
    version = camera.library_version
    first_pid = camera.child_pid
    errors: list[Exception] = []
    frames = {"before": 0, "after": 0}
    stop = threading.Event()
    crashed = threading.Event()

    def stream() -> None:  # the live-view loop a capture owner thread would run
        while not stop.is_set():
            try:
                camera.live_view_frame()
                frames["after" if crashed.is_set() else "before"] += 1
            except DriverCrashed as exc:
                errors.append(exc)
                crashed.set()
            except CameraDisconnected:  # re-opening: the owner retries shortly
                time.sleep(0.05)

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    _wait_for(lambda: frames["before"] >= 5)
    os.kill(first_pid, signal.SIGSEGV)
    _wait_for(lambda: frames["after"] >= 5)
    stop.set()
    thread.join(10)

    assert len(errors) == 1
    message = str(errors[0])
    assert f"libgphoto2 {version}" in message and "SIGSEGV" in message and "live-view frame" in message
    assert states[:4] == ["open", "crashed", "reconnecting", "open"], states
    assert camera.child_pid != first_pid
    assert camera.info.model == "Panasonic DMC-GX8"
    camera.close()
    assert states[-1] == "closed"


def test_a_hung_child_is_stopped_at_the_deadline(virtual_lumix, gphoto_settings):
    camera = open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("wheel", call_timeout=1.0))
    camera.open()
    states: list[str] = []
    camera.subscribe(lambda event: states.append(event.state))
    pid = camera.child_pid
    os.kill(pid, signal.SIGSTOP)  # a libgphoto2 call that never returns
    started = time.monotonic()
    with pytest.raises(DriverCrashed, match=r"did not answer within \d+ s while capturing a still"):
        camera.capture_still()
    assert time.monotonic() - started < 10
    _wait_for(lambda: camera.state == "open")
    assert camera.live_view_frame().data[:2] == b"\xff\xd8"
    assert "crashed" in states
    camera.close()


def test_calls_while_reopening_say_so(virtual_lumix, gphoto_settings):
    camera = open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("wheel"))
    camera.open()
    virtual_lumix.stop()  # the camera vanishes for good: the child keeps failing to re-open it
    os.kill(camera.child_pid, signal.SIGKILL)
    with pytest.raises(DriverCrashed, match="SIGKILL"):
        camera.live_view_frame()
    with pytest.raises(CameraDisconnected, match=r"being re-opened after it went away \(driver crash\)"):
        camera.live_view_frame()
    camera.close()
    assert camera.state == "closed"


def test_a_widget_that_crashes_on_read_is_skipped_after_the_restart(virtual_lumix, gphoto_settings, monkeypatch):
    # Fault injection (the child segfaults reading "whitebalance") stands in for python-gphoto2's
    # crash on a NULL text value, which no camera reachable here produces.
    monkeypatch.setenv("TETHER_GPHOTO_FAULT_WIDGET", "whitebalance")
    camera = open_supervised(parse_camera_id(virtual_lumix.camera_id), gphoto_settings("wheel"))
    camera.open()
    with pytest.raises(DriverCrashed, match="SIGSEGV while reading the settings"):
        camera.settings()
    _wait_for(lambda: camera.state == "open")
    names = [setting.name for setting in camera.settings()]
    assert "whitebalance" not in names and "iso" in names
    camera.close()


def test_a_camera_that_vanishes_and_returns_is_reopened(scene_source, gphoto_settings):
    from tether.ptpip import PtpIpServer, VirtualLumix

    source = scene_source
    server = PtpIpServer(VirtualLumix(source), "127.0.0.1", 0).start()
    port = server.port
    camera = open_supervised(parse_camera_id(server.camera_id), gphoto_settings("wheel", call_timeout=5.0))
    states: list[str] = []
    camera.subscribe(lambda event: states.append(event.state))
    camera.open()
    camera.live_view_frame()
    server.stop()  # switched off
    with pytest.raises(CameraDisconnected) as caught:
        camera.live_view_frame()
    assert not isinstance(caught.value, DriverCrashed)
    assert "disconnected" in states
    server = PtpIpServer(VirtualLumix(source), "127.0.0.1", port).start()  # switched back on
    try:
        _wait_for(lambda: camera.state == "open")
        assert camera.live_view_frame().data[:2] == b"\xff\xd8"
    finally:
        camera.close()
        server.stop()


_SERVER = """
import sys, threading, time
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import open_supervised
from tether.config import Settings
camera = open_supervised(parse_camera_id(sys.argv[1]), Settings().with_overrides({"gphoto": {"call_timeout": 120.0}}))
camera.open()
print(camera.child_pid, flush=True)
threading.Thread(target=camera.live_view_frame, daemon=True).start()  # the child now blocks for a minute
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended; nobody reaped it yet
    except FileNotFoundError:
        return False


def test_a_blocked_camera_process_ends_when_the_server_is_killed() -> None:
    """After a kill -9 of the server, its camera process must not keep the camera claimed."""
    # The simulated camera in the child, delaying its frame by a minute, stands in for a libgphoto2
    # call that does not return (no real camera hangs on demand here).
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, "sim:macro?slow_ms=60000"], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(server.stdout.readline())
        time.sleep(1.0)  # the frame request is in the child, which sleeps in it
        assert _alive(child)
    finally:
        server.kill()
        server.wait()
    try:
        _wait_for(lambda: not _alive(child), timeout=5.0)
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
