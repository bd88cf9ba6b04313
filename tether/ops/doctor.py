"""`tether doctor`: checks that tethering can work on this machine, each with its explanation and fix.

Every check returns a Check: OK, WARN (works, but something is off) or FAIL (blocks tethering).
libgphoto2 is only ever loaded in child processes (tether.camera.supervisor), never here.
"""
from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tether.camera.types import CameraInfo
from tether.config import Settings, bare_host, host_port, is_loopback_host
from tether.ops.system_facts import (
    PROC,
    Process,
    UsbDevice,
    UserGroups,
    camera_rules,
    current_user,
    group_name,
    processes,
    ptp_devices,
    read_text,
    usb_device_for,
)

OK, WARN, FAIL = "OK", "WARN", "FAIL"
GIB = 1024 ** 3
#: Below this much free space a focus sweep of full-size stills may not fit: FAIL.
MIN_FREE = 1 * GIB
#: Below this much free space a day of sweeps will not fit: WARN.
LOW_FREE = 10 * GIB
RULES_HINT = (
    "install tether's udev rules (`tether udev-rules | sudo tee /etc/udev/rules.d/60-tether-cameras.rules`, "
    "`sudo udevadm control --reload && sudo udevadm trigger`), add yourself to the group "
    "(`sudo usermod -aG plugdev $USER`, then log in again) and re-plug the camera"
)
STOP_GVFS = (
    "`gio mount -s gphoto2; systemctl --user stop gvfs-gphoto2-volume-monitor`; to keep it off: "
    "`systemctl --user mask gvfs-gphoto2-volume-monitor`"
)


class Status(StrEnum):
    OK = OK
    WARN = WARN
    FAIL = FAIL


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, why, and what to do about it."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def line(self) -> str:
        """`OK   libgphoto2 2.5.30 ...` / `FAIL ... -- fix: ...`."""
        return f"{self.status.value:<4} {self.message}" + (f" -- fix: {self.fix}" if self.fix else "")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "message": self.message, "fix": self.fix}


def blocking(checks: Iterable[Check]) -> bool:
    """Whether any check blocks tethering (the CLI exits non-zero then)."""
    return any(c.status is Status.FAIL for c in checks)


# --- configuration ---------------------------------------------------------------------------------

def check_config(settings: Settings, error: Exception | None, default_path: Path) -> Check:
    """The config file loaded (or there is none and the defaults apply); after an error the rest uses defaults."""
    if error is not None:
        return Check("config", Status.FAIL, f"config invalid: {error}; the checks below use the defaults",
                     "correct it (config.example.toml documents every key)")
    if settings.source:
        return Check("config", Status.OK, f"config {settings.source} is valid")
    return Check("config", Status.OK, f"no config file ({default_path}); using the defaults")


# --- libgphoto2 ------------------------------------------------------------------------------------

@dataclass
class Libgphoto2:
    """The libgphoto2 tether would use, as its child process reports it."""

    version: str = ""
    build: str = ""
    error: str = ""
    hint: str = ""


def probe_libgphoto2(settings: Settings) -> Libgphoto2:
    """Start one libgphoto2 child (as the server would) and ask its version; a crash is reported, not raised."""
    from tether.errors import TetherError

    try:
        from tether.camera.supervisor import ChildProcess
    except ImportError as exc:
        return Libgphoto2(error=f"the libgphoto2 driver cannot be loaded ({exc})", hint="run `make setup`")
    try:
        child = ChildProcess(settings)
    except TetherError as exc:
        return Libgphoto2(error=exc.message, hint=exc.hint)
    except OSError as exc:
        return Libgphoto2(error=f"cannot start the libgphoto2 process: {exc.strerror or exc}")
    try:
        return Libgphoto2(version=child.version, build=child.library)
    finally:
        child.stop()


def check_libgphoto2(lib: Libgphoto2, cameras: list[CameraInfo]) -> list[Check]:
    """The version, and each known defect of it (worse when a camera of the hit vendor is attached)."""
    from tether.camera.gphoto_defects import defects_for
    from tether.camera.gphoto_focus import vendor_of

    if lib.error:
        return [Check("libgphoto2", Status.FAIL, f"libgphoto2 unusable: {lib.error}",
                      lib.hint or "reinstall with `make setup`; `tether gphoto-check --debug-gphoto` shows why")]
    checks = [Check("libgphoto2", Status.OK, f"libgphoto2 {lib.version} ({lib.build} build)")]
    for defect in defects_for(lib.version):
        hit = [c for c in cameras if (vendor_of(c.manufacturer) or vendor_of(c.model)) in defect.vendors]
        summary = defect.summary.format(version=lib.version)
        if hit:
            names = ", ".join(f"{c.model} ({c.id})" for c in hit)
            message = f"{names}: focus drive disabled, because {summary}"
        else:
            message = f"known defect ({', '.join(defect.vendors)} cameras): {summary}"
        checks.append(Check("libgphoto2", Status.WARN, message, defect.fix))
    return checks


# --- cameras ---------------------------------------------------------------------------------------

@contextmanager
def _collect_warnings(logger_name: str) -> Iterator[list[str]]:
    """Keep a logger's warnings for the report instead of letting them reach stderr."""
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger(logger_name)
    handler, propagate = Keep(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def find_cameras(settings: Settings) -> tuple[list[CameraInfo], list[str]]:
    """Real cameras as the server would list them, and the warnings the registry logged on the way."""
    from tether.camera.registry import real_cameras

    with _collect_warnings("tether.camera.registry") as warnings:
        cameras = real_cameras(settings)
    return cameras, warnings


def check_cameras(cameras: list[CameraInfo], registry_warnings: list[str], lib: Libgphoto2,
                  on_bus: list[UsbDevice]) -> list[Check]:
    """One line per camera found; a clear FAIL when there is none (and why, when that can be told)."""
    checks = []
    for info in cameras:
        caps = ", ".join(info.capabilities.names())
        note = info.capabilities.focus_drive_note
        if not caps and note:  # detection found it but could not open it
            checks.append(Check("camera", Status.FAIL,
                                f"camera {info.id} {info.model} found but cannot be opened: {note}",
                                "see the camera-holder and USB-access lines below"))
        else:
            checks.append(Check("camera", Status.OK, f"camera {info.id} {info.model} ({caps or 'no capabilities'})"))
    if cameras:
        return checks
    unlisted = [d for d in on_bus if d.camera_id not in {c.id for c in cameras}]
    if lib.error:
        why = "libgphoto2 is unusable (see above)"
    elif unlisted:
        devices = ", ".join(f"{d.camera_id} {d.name or d.vendor + ':' + d.product}" for d in unlisted)
        why = f"a PTP device is on the USB bus ({devices}) but libgphoto2 did not list it"
    else:
        why = "libgphoto2 found no USB or PTP/IP camera"
    extra = f" ({'; '.join(registry_warnings)})" if registry_warnings else ""
    fix = "make libgphoto2 usable first" if lib.error else (
        "connect the camera with a data cable, switch it on and set its USB mode to PTP/PC(Tether) "
        "(README: Camera set-up)")
    checks.append(Check("camera", Status.FAIL, f"no camera attached: {why}{extra}",
                        f"{fix}; the simulated camera sim:macro works without one"))
    return checks


def check_usb_access(devices: list[UsbDevice]) -> list[Check]:
    """Whether this user may open each camera's /dev/bus/usb node for reading and writing."""
    checks = []
    for device in devices:
        node = device.node
        try:
            info = node.stat()
        except OSError:
            checks.append(Check("usb access", Status.WARN, f"{device.camera_id}: {node} does not exist (unplugged?)",
                                "re-plug the camera and run `tether doctor` again"))
            continue
        if os.access(node, os.R_OK | os.W_OK):
            checks.append(Check("usb access", Status.OK, f"{device.camera_id}: {node} is readable and writable by you"))
            continue
        group = group_name(info.st_gid)
        checks.append(Check(
            "usb access", Status.FAIL,
            f"{device.camera_id}: you cannot open {node} (mode {info.st_mode & 0o777:o}, group {group})", RULES_HINT,
        ))
    return checks


def check_udev_rules(rules: dict[Path, set[str]], user: UserGroups) -> Check:
    """Whether udev will give a plugged-in camera to a group this user is in."""
    if not rules:
        return Check("udev rules", Status.WARN, "no udev rules give cameras to a group: a camera's USB node will "
                     "belong to root (a user at the desktop may still get it through uaccess; a service will not)",
                     RULES_HINT)
    groups = set().union(*rules.values())
    names = ", ".join(str(p) for p in rules)
    if user.root:
        return Check("udev rules", Status.OK,
                     f"udev rules {names} installed; running as root (run the server as a normal user)")
    if groups & user.session:
        yours = ", ".join(sorted(groups & user.session))
        return Check("udev rules", Status.OK, f"udev rules {names} give cameras to {yours}, which you are in")
    if groups & user.listed:
        group = sorted(groups & user.listed)[0]
        return Check("udev rules", Status.WARN,
                     f"you were added to group {group}, but this session started before that",
                     f"log out and in again (or `newgrp {group}`)")
    group = "plugdev" if "plugdev" in groups or not groups else sorted(groups)[0]
    given = ", ".join(sorted(groups)) or "no group"
    return Check("udev rules", Status.WARN, f"udev rules {names} give cameras to {given}; "
                 f"user {user.name} is not a member",
                 f"`sudo usermod -aG {group} {user.name}`, then log in again")


# --- programs holding a camera ---------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """A program known to grab cameras: what it does and how to stop it."""

    what: str
    fix: str
    #: Whether merely running means it holds a camera (a gvfs mount), not just that it might grab one.
    holds: bool = False


KNOWN_HOLDERS: dict[str, Holder] = {
    "gvfs-gphoto2-volume-monitor": Holder(
        "the desktop's camera volume monitor: it mounts cameras as they are plugged in", STOP_GVFS),
    "gvfsd-gphoto2": Holder("gvfs has a camera mounted and holds it", STOP_GVFS, holds=True),
    "gvfs-mtp-volume-monitor": Holder(
        "the desktop's MTP volume monitor: it mounts some cameras as they are plugged in",
        "`gio mount -s mtp; systemctl --user stop gvfs-mtp-volume-monitor`; to keep it off: "
        "`systemctl --user mask gvfs-mtp-volume-monitor`"),
    "gvfsd-mtp": Holder("gvfs has an MTP device mounted and holds it", "`gio mount -s mtp`", holds=True),
    "shotwell": Holder("Shotwell imports from cameras and may hold one", "quit Shotwell"),
    "entangle": Holder("Entangle is a tethering program and holds its camera", "quit Entangle"),
    "darktable": Holder("darktable's tethering view holds a camera", "quit darktable or leave its tethering view"),
    "digikam": Holder("digiKam's camera import may hold a camera", "quit digiKam"),
    "gphoto2": Holder("the gphoto2 command holds a camera while it runs", "stop that gphoto2 command"),
    "rapid-photo-downloader": Holder("Rapid Photo Downloader may hold a camera", "quit Rapid Photo Downloader"),
    "gthumb": Holder("gThumb's importer may hold a camera", "quit gThumb"),
}
TETHER_CHILD = "tether.camera.child"
def check_holders(procs: list[Process], camera_nodes: set[str]) -> list[Check]:
    """Programs that hold (or will grab) a camera, and how to stop each."""
    checks = []
    for process in procs:
        held = sorted((process.usb_nodes or frozenset()) & camera_nodes)
        label = _describe_process(process)
        known = KNOWN_HOLDERS.get(process.program)
        if held:
            fix = known.fix if known else (
                "stop that tether server first (`systemctl stop tether`, or Ctrl+C where it runs)"
                if TETHER_CHILD in process.argv else f"quit it (`kill {process.pid}`)")
            checks.append(Check("camera holder", Status.FAIL, f"{label} holds the camera at {', '.join(held)}", fix))
        elif known:
            status = Status.FAIL if known.holds else Status.WARN
            checks.append(Check("camera holder", status, f"{label} is running: {known.what}", known.fix))
    if not checks:
        unseen = sum(1 for p in procs if p.usb_nodes is None)
        note = f" ({unseen} processes of other users not inspected)" if unseen and camera_nodes else ""
        checks.append(Check("camera holder", Status.OK, f"no other program holds a camera or watches for one{note}"))
    return checks


def _describe_process(process: Process) -> str:
    if TETHER_CHILD in process.argv:
        return f"a tether camera process (pid {process.pid})"
    return f"{process.program} (pid {process.pid})"


# --- storage and network ---------------------------------------------------------------------------

def check_data_dir(path: Path, min_free: int = MIN_FREE, low_free: int = LOW_FREE) -> Check:
    """The data dir exists (or can be created), takes a file, and has room for bursts."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == path:
        if not path.is_dir():
            return Check("data dir", Status.FAIL, f"data dir {path} is not a folder",
                         "set [paths] data_dir to a folder")
        try:
            with tempfile.TemporaryFile(dir=path, prefix=".tether-doctor-"):
                pass
        except OSError as exc:
            return Check("data dir", Status.FAIL, f"data dir {path} is not writable: {exc.strerror or exc}",
                         f"`sudo chown $USER {path}` or set [paths] data_dir to a folder you own")
        where = f"data dir {path} is writable"
    elif os.access(existing, os.W_OK | os.X_OK):
        where = f"data dir {path} will be created in {existing}"
    else:
        return Check("data dir", Status.FAIL, f"data dir {path} cannot be created: {existing} is not writable",
                     f"create it (`sudo install -d -o $USER {path}`) or set [paths] data_dir")
    free = shutil.disk_usage(existing).free
    text = f"{where}, {free / GIB:.1f} GiB free"
    if free < min_free:
        return Check("data dir", Status.FAIL, f"{text}: too little for a focus sweep",
                     "free some space or move [paths] data_dir")
    if free < low_free:
        return Check("data dir", Status.WARN, f"{text}: bursts will soon fill it",
                     "free some space or move [paths] data_dir")
    return Check("data dir", Status.OK, text)


def check_port(host: str, port: int, procs: list[Process] | None = None) -> Check:
    """Whether `tether serve` could listen on host:port now (``host`` as the config or ``--host`` gives it)."""
    try:
        host = bare_host(host)
    except ValueError:
        return Check("port", Status.FAIL, f"server host {host!r} is not a host name or address",
                     "set [server] host to an address of this machine (an IPv6 one as ::1 or [::1]), "
                     "and the port in [server] port")
    where = host_port(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return Check("port", Status.FAIL, f"server host {host!r} cannot be resolved: {exc.strerror}",
                     "set [server] host to an address of this machine")
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no conflict
            sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            owner = _port_owner(port, procs)
            return Check("port", Status.FAIL, f"port {where} is in use{' by ' + owner if owner else ''}",
                         "stop that program (is tether already running? `systemctl status tether`) or choose "
                         "another port: [server] port / `tether serve --port`")
        if exc.errno == errno.EADDRNOTAVAIL:
            return Check("port", Status.FAIL, f"{host} is not an address of this machine",
                         "set [server] host (0.0.0.0 = all interfaces)")
        if exc.errno == errno.EACCES:
            return Check("port", Status.FAIL, f"port {port} needs root", "use a port above 1023 ([server] port)")
        return Check("port", Status.FAIL, f"cannot listen on {where}: {exc.strerror or exc}", "set [server] host/port")
    return Check("port", Status.OK, f"port {where} is free{_exposure(host)}")


def _exposure(host: str) -> str:
    if is_loopback_host(host):
        return " (panel reachable from this machine only)"
    return " (panel reachable from the network: a token is required; see [server] token)"


def _port_owner(port: int, procs: list[Process] | None) -> str:
    """Which process listens on ``port``, from /proc/net/tcp and the processes' socket descriptors."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        for row in read_text(PROC / "net" / table).splitlines()[1:]:
            cols = row.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    for process in procs or []:
        try:
            for fd in (PROC / str(process.pid) / "fd").iterdir():
                if os.readlink(fd).removeprefix("socket:[").removesuffix("]") in inodes:
                    return f"{' '.join(process.argv[:3])} (pid {process.pid})"
        except OSError:
            continue
    return ""


# --- all together ----------------------------------------------------------------------------------

@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return blocking(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": not self.blocking, "checks": [c.to_dict() for c in self.checks]}


def run_checks(settings: Settings, config_check: Check) -> Report:
    """Every check, in the order a person would fix things."""
    lib = probe_libgphoto2(settings)
    cameras, warnings = find_cameras(settings) if not lib.error else ([], [])
    on_bus = ptp_devices()
    usb = {d.camera_id: d for d in on_bus}
    for info in cameras:
        device = usb_device_for(info.id)
        if device is not None:
            usb.setdefault(device.camera_id, device)
    procs = processes()
    report = Report([config_check])
    report.checks += check_libgphoto2(lib, cameras)
    report.checks += check_cameras(cameras, warnings, lib, on_bus)
    report.checks += check_usb_access(list(usb.values()))
    report.checks.append(check_udev_rules(camera_rules(), current_user()))
    report.checks += check_holders(procs, {str(d.node) for d in usb.values()})
    report.checks.append(check_data_dir(settings.data_dir))
    report.checks.append(check_port(settings.server.host, settings.server.port, procs))
    return report
