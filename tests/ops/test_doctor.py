"""`tether doctor`: the real command on this camera-less machine, and each check against real files,
processes and sockets it can be pointed at."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tether.camera.types import CameraInfo, Capabilities
from tether.ops import doctor, system_facts
from tether.ops.doctor import Libgphoto2, Status
from tether.ops.system_facts import Process, UsbDevice

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


@pytest.fixture
def doctor_env(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A config with a free port and a temporary data dir, and the wheel's libgphoto2 (a known version)."""
    config = tmp_path / "config.toml"
    config.write_text(f'[server]\nport = {_free_port()}\n[paths]\ndata_dir = "{data_dir}"\n')
    monkeypatch.delenv("TETHER_GPHOTO2", raising=False)
    return {"TETHER_CONFIG": str(config), "TETHER_GPHOTO2": "wheel"}


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


def _doctor_without_ptpip(run_tether, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`tether doctor`, where no virtual camera of another test can answer on 127.0.0.1:15740 (which tether
    would list): in a network namespace of its own when one can be made, else skipped while one answers."""
    if not _port_answers(15740):
        return run_tether("doctor", *args, env=env)
    if not _unshare_works():
        pytest.skip("another test's virtual camera listens on 127.0.0.1:15740 and no network namespace can be made")
    return subprocess.run(["unshare", "--net", sys.executable, "-m", "tether", "doctor", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def test_doctor_without_a_camera_says_so_and_exits_1(run_tether, doctor_env) -> None:
    result = _doctor_without_ptpip(run_tether, doctor_env)
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == ""  # the registry's log lines are folded into the report
    assert lines[0].startswith("OK   config ") and lines[1].startswith("OK   libgphoto2 2.5.34 (wheel build)")
    no_camera = next(line for line in lines if line.startswith("FAIL no camera attached"))
    assert "-- fix: connect the camera" in no_camera and "PC(Tether)" in no_camera
    assert any(line.startswith("OK   data dir ") and "GiB free" in line for line in lines)
    assert any(line.startswith("OK   port 127.0.0.1:") for line in lines)
    assert lines[-1] == "tethering is blocked: fix the FAIL lines above"
    # the known Panasonic defect of 2.5.34 is reported even before a Panasonic is attached
    assert any(line.startswith("WARN known defect (panasonic cameras): libgphoto2 2.5.34 crashes") for line in lines)

    as_json = _doctor_without_ptpip(run_tether, doctor_env, "--json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 1 and report["ok"] is False
    camera = next(c for c in report["checks"] if c["name"] == "camera")
    assert camera["status"] == "FAIL" and camera["message"].startswith("no camera attached") and camera["fix"]


def test_doctor_with_a_camera_and_only_warnings_exits_0(run_tether, doctor_env, tmp_path) -> None:
    try:
        from tether.camera.sim import SimCamera
    except ImportError:
        pytest.skip("the virtual Lumix renders with the simulated camera, which is not in the tree")
    from tether.camera.ids import parse_camera_id
    from tether.config import Settings
    from tether.ptpip import PtpIpServer, VirtualLumix

    sim = SimCamera(parse_camera_id("sim:macro"), Settings().with_overrides(
        {"sim": {"liveview_width": 320, "liveview_height": 240, "still_width": 640, "still_height": 480}}).sim)
    sim.open()
    server = PtpIpServer(VirtualLumix(sim), "127.0.0.1", 0).start()
    try:
        config = Path(doctor_env["TETHER_CONFIG"])
        config.write_text(config.read_text() + f'[camera]\nptpip = ["{server.camera_id}"]\n')
        result = run_tether("doctor", env=doctor_env)
    finally:
        server.stop()
        sim.close()
    lines = result.stdout.splitlines()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"OK   camera {server.camera_id} Panasonic DMC-GX8 (live_view, still_capture, movie)" in lines
    warn = next(line for line in lines if line.startswith("WARN Panasonic DMC-GX8"))
    assert "focus drive disabled, because libgphoto2 2.5.34 crashes" in warn and "-- fix: use a libgphoto2" in warn
    assert lines[-1] == "ready to tether (see the WARN lines)"


def test_doctor_reports_a_bad_config_and_still_checks_the_rest(run_tether, tmp_path, data_dir) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 99999\n")
    result = run_tether("--config", str(config), "--data-dir", str(data_dir), "doctor", env={"TETHER_GPHOTO2": "wheel"})
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"FAIL config invalid: {config}: [server] port = 99999: must be at most 65535")
    assert any(line.startswith("OK   libgphoto2 ") for line in result.stdout.splitlines())
    assert f"OK   data dir {data_dir} is writable" in result.stdout  # the --data-dir flag still counts


def test_doctor_takes_an_ipv6_host_in_brackets_as_serve_does(run_tether, doctor_env, ipv6_port: int) -> None:
    """``[server] host = "[::1]"``, which ``tether serve`` listens on, is checked as ::1 (it was a FAIL: a
    name that does not resolve)."""
    port = ipv6_port
    config = Path(doctor_env["TETHER_CONFIG"])
    config.write_text(re.sub(r"port = \d+", f'host = "[::1]"\nport = {port}', config.read_text()))
    lines = run_tether("doctor", env=doctor_env).stdout.splitlines()
    assert f"OK   port [::1]:{port} is free (panel reachable from this machine only)" in lines, lines


# --- single checks ---------------------------------------------------------------------------------

def test_libgphoto2_versions_and_defects() -> None:
    gx8 = CameraInfo(id="usb:001,005", model="DMC-GX8", manufacturer="Panasonic")
    nikon = CameraInfo(id="usb:001,006", model="Nikon Z 6", manufacturer="Nikon")
    (ok,) = doctor.check_libgphoto2(Libgphoto2("2.5.30", "system"), [gx8])
    assert ok.status is Status.OK and ok.message == "libgphoto2 2.5.30 (system build)"
    _, hit = doctor.check_libgphoto2(Libgphoto2("2.5.33", "wheel"), [gx8, nikon])
    assert hit.status is Status.WARN and hit.message.startswith("DMC-GX8 (usb:001,005): focus drive disabled")
    assert "Nikon" not in hit.message
    (broken,) = doctor.check_libgphoto2(Libgphoto2(error="boom", hint="run `make setup-system`"), [])
    assert broken.status is Status.FAIL
    assert broken.line() == "FAIL libgphoto2 unusable: boom -- fix: run `make setup-system`"


def test_libgphoto2_missing_system_build_is_a_fail(tmp_path) -> None:
    from tether.config import Settings

    settings = Settings().with_overrides({"gphoto": {"library": "system", "system_path": str(tmp_path / "none")}})
    lib = doctor.probe_libgphoto2(settings)
    assert "system libgphoto2 build is missing" in lib.error and "make setup-system" in lib.hint


def test_cameras_found_unopenable_and_unlisted() -> None:
    lib = Libgphoto2("2.5.30", "system")
    good = CameraInfo(
        id="usb:001,005", model="Panasonic DC-GH5", capabilities=Capabilities(live_view=True, still_capture=True)
    )
    held = CameraInfo(
        id="usb:001,006",
        model="Canon EOS R",
        capabilities=Capabilities(focus_drive_note="Could not claim the USB device"),
    )
    checks = doctor.check_cameras([good, held], [], lib, [])
    assert [c.status for c in checks] == [Status.OK, Status.FAIL]
    assert "found but cannot be opened: Could not claim the USB device" in checks[1].message
    (none,) = doctor.check_cameras(
        [], ["camera detection failed: x"], lib, [UsbDevice(1, 9, "04da", "2382", "Panasonic DC-GH5")]
    )
    assert none.status is Status.FAIL
    assert (
        "a PTP device is on the USB bus (usb:001,009 Panasonic DC-GH5) but libgphoto2 did not list it" in none.message
    )
    assert "(camera detection failed: x)" in none.message


def test_ptp_devices_are_read_from_sysfs(tmp_path) -> None:
    def write(folder: Path, **values: str) -> None:
        folder.mkdir(parents=True)
        for name, value in values.items():
            (folder / name).write_text(value + "\n")

    write(
        tmp_path / "1-1",
        busnum="1",
        devnum="5",
        idVendor="04da",
        idProduct="2374",
        manufacturer="Panasonic",
        product="DMC-GX8",
    )
    write(tmp_path / "1-1:1.0", bInterfaceClass="06", bInterfaceSubClass="01", bInterfaceProtocol="01")
    write(tmp_path / "1-2", busnum="1", devnum="6", idVendor="046d", idProduct="c52b")
    write(tmp_path / "1-2:1.0", bInterfaceClass="03", bInterfaceSubClass="01", bInterfaceProtocol="01")  # a keyboard
    (device,) = system_facts.ptp_devices(tmp_path)
    assert device == UsbDevice(1, 5, "04da", "2374", "Panasonic DMC-GX8")
    assert device.camera_id == "usb:001,005" and str(device.node) == "/dev/bus/usb/001/005"
    assert (
        system_facts.usb_device_for("usb:002,017") == UsbDevice(2, 17)
        and system_facts.usb_device_for("ptpip:1.2.3.4") is None
    )


_ACCESS_SNIPPET = """
import json, sys
from pathlib import Path
from tether.ops import doctor, system_facts
system_facts.USB_NODES = Path(sys.argv[1])
devices = [system_facts.UsbDevice(1, 5), system_facts.UsbDevice(1, 6), system_facts.UsbDevice(1, 7)]
checks = doctor.check_usb_access(devices)
print(json.dumps([c.to_dict() for c in checks]))
"""


def test_usb_node_access_as_an_unprivileged_user() -> None:
    """Real file modes decide; root ignores them, so as root the check runs as `nobody` through setpriv."""
    command = [sys.executable, "-c", _ACCESS_SNIPPET]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot check file modes as a normal user")
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    nodes = Path(tempfile.mkdtemp(prefix="tether-usb-"))
    try:
        nodes.chmod(0o755)
        (nodes / "001").mkdir()
        os.chmod(nodes / "001", 0o755)
        for name, mode in (("005", 0o666), ("006", 0o644)):  # with the udev rules / as root:root without them
            (nodes / "001" / name).touch()
            os.chmod(nodes / "001" / name, mode)
        result = subprocess.run(
            [*command, str(nodes)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        shutil.rmtree(nodes)
    assert result.returncode == 0, result.stderr
    ok, denied, missing = json.loads(result.stdout)
    assert ok["status"] == "OK" and "readable and writable" in ok["message"]
    assert denied["status"] == "FAIL" and denied["message"].startswith("usb:001,006: you cannot open ")
    assert (
        "(mode 644, group " in denied["message"]
        and "udev-rules" in denied["fix"]
        and "usermod -aG plugdev" in denied["fix"]
    )
    assert missing["status"] == "WARN" and "does not exist" in missing["message"]


@pytest.fixture
def fake_usb_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    nodes = tmp_path / "bus-usb"
    (nodes / "001").mkdir(parents=True)
    (nodes / "001" / "005").touch()
    monkeypatch.setattr(system_facts, "USB_NODES", nodes)
    return nodes / "001" / "005"


def test_processes_holding_a_camera_are_found_in_proc(fake_usb_nodes: Path) -> None:
    """Real processes: one named like the gvfs monitor, one holding the (stand-in) camera node open."""
    monitor = subprocess.Popen(["bash", "-c", "exec -a gvfs-gphoto2-volume-monitor sleep 30"])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"f = open({str(fake_usb_nodes)!r}, 'rb'); print('ready', flush=True); import time; time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            procs = system_facts.processes()
            if any(p.pid == monitor.pid and p.program == "gvfs-gphoto2-volume-monitor" for p in procs):
                break
            time.sleep(0.05)  # until bash has exec'd
        checks = doctor.check_holders(procs, {str(fake_usb_nodes)})
    finally:
        monitor.kill()
        holder.kill()
        monitor.wait()
        holder.wait()
    by_pid = {int(c.message.split("(pid ")[1].split(")")[0]): c for c in checks if "(pid " in c.message}
    watch = by_pid[monitor.pid]
    assert watch.status is Status.WARN and watch.message.startswith(
        f"gvfs-gphoto2-volume-monitor (pid {monitor.pid}) is running"
    )
    assert "systemctl --user stop gvfs-gphoto2-volume-monitor" in watch.fix and "systemctl --user mask" in watch.fix
    held = by_pid[holder.pid]
    assert held.status is Status.FAIL and held.message.endswith(f"holds the camera at {fake_usb_nodes}")
    assert held.fix == f"quit it (`kill {holder.pid}`)"


def test_holder_rules() -> None:
    node = "/dev/bus/usb/001/005"
    mount = Process(10, ("/usr/libexec/gvfsd-gphoto2", "--spawner", ":1.3"), frozenset())
    server = Process(11, ("/opt/tether/.venv/bin/python", "-m", "tether.camera.child", "5", "8"), frozenset({node}))
    other_user = Process(12, ("sleep", "9"), None)
    gvfs, tether = doctor.check_holders([mount, server, other_user], {node})
    assert gvfs.status is Status.FAIL and "gio mount -s gphoto2" in gvfs.fix
    assert tether.message == f"a tether camera process (pid 11) holds the camera at {node}"
    assert "systemctl stop tether" in tether.fix
    (calm,) = doctor.check_holders([other_user], {node})
    assert calm.status is Status.OK and "(1 processes of other users not inspected)" in calm.message


def test_data_dir_checks(tmp_path: Path) -> None:
    assert doctor.check_data_dir(tmp_path).status is Status.OK
    later = doctor.check_data_dir(tmp_path / "a" / "b")
    assert later.status is Status.OK and f"will be created in {tmp_path}" in later.message
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in doctor.check_data_dir(tmp_path / "file").message
    free = shutil.disk_usage(tmp_path).free
    full = doctor.check_data_dir(tmp_path, min_free=free * 2, low_free=free * 4)
    assert full.status is Status.FAIL and "too little for a focus sweep" in full.message
    low = doctor.check_data_dir(tmp_path, min_free=1, low_free=free * 2)
    assert low.status is Status.WARN and "GiB free" in low.message


def test_port_checks() -> None:
    port = _free_port()
    assert doctor.check_port("127.0.0.1", port).line() == (
        f"OK   port 127.0.0.1:{port} is free (panel reachable from this machine only)"
    )
    assert "token is required" in doctor.check_port("0.0.0.0", port).message
    with_port = doctor.check_port("0.0.0.0:80", port)  # the port belongs in [server] port
    assert with_port.status is Status.FAIL
    assert with_port.message == "server host '0.0.0.0:80' is not a host name or address"
    listener = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); "
            "print('up', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline() == "up\n"
        busy = doctor.check_port("127.0.0.1", port, system_facts.processes())
    finally:
        listener.kill()
        listener.wait()
    assert busy.status is Status.FAIL and busy.message.startswith(f"port 127.0.0.1:{port} is in use by ")
    assert f"(pid {listener.pid})" in busy.message and "systemctl status tether" in busy.fix
    foreign = doctor.check_port("192.0.2.1", port)  # TEST-NET-1: never an address of this machine
    assert foreign.status is Status.FAIL and "not an address of this machine" in foreign.message


def test_udev_rules_installed_and_group_membership(tmp_path: Path) -> None:
    etc, lib = tmp_path / "etc", tmp_path / "lib"
    etc.mkdir()
    lib.mkdir()
    (etc / "60-tether-cameras.rules").write_text(
        'ATTR{idVendor}=="04da", MODE="0664", GROUP="studio", TAG+="uaccess"\n'
    )
    (lib / "60-libgphoto2-6.rules").write_text('ENV{ID_USB_INTERFACES}=="*:060101:*", MODE="0664", GROUP="plugdev"\n')
    (lib / "99-printers.rules").write_text('ATTR{idVendor}=="03f0", GROUP="lp"\n')
    (tmp_path / "alias").symlink_to(lib, target_is_directory=True)  # /lib -> /usr/lib: counted once
    rules = system_facts.camera_rules([etc, lib, tmp_path / "alias", tmp_path / "missing"])
    assert rules == {etc / "60-tether-cameras.rules": {"studio"}, lib / "60-libgphoto2-6.rules": {"plugdev"}}

    member = system_facts.UserGroups("ana", frozenset({"ana", "studio"}), frozenset({"ana", "studio"}))
    assert doctor.check_udev_rules(rules, member).status is Status.OK
    pending = system_facts.UserGroups("ana", frozenset({"ana"}), frozenset({"ana", "plugdev"}))
    relogin = doctor.check_udev_rules(rules, pending)
    assert relogin.status is Status.WARN and "log out and in again" in relogin.fix and "newgrp plugdev" in relogin.fix
    outsider = doctor.check_udev_rules(rules, system_facts.UserGroups("ana", frozenset({"ana"}), frozenset({"ana"})))
    assert outsider.status is Status.WARN and outsider.fix.startswith("`sudo usermod -aG plugdev ana`")
    none = doctor.check_udev_rules({}, member)
    assert none.status is Status.WARN and "belong to root" in none.message and "udev-rules" in none.fix
    me = doctor.current_user()
    assert me.session <= me.listed and me.root == (os.geteuid() == 0)
