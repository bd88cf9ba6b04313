"""What `tether doctor` reads from the operating system: USB devices, processes, udev rules, the user's groups.

Plain facts, gathered without libgphoto2 (sysfs, /proc, /etc/group); doctor.py judges them.
"""
from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

USB_NODES = Path("/dev/bus/usb")
SYS_USB = Path("/sys/bus/usb/devices")
PROC = Path("/proc")
#: Where udev reads rules from (later entries are the distribution's; /lib is often /usr/lib).
RULE_DIRS = (
    Path("/etc/udev/rules.d"),
    Path("/run/udev/rules.d"),
    Path("/usr/lib/udev/rules.d"),
    Path("/lib/udev/rules.d"),
)
_GROUP_ASSIGNMENT = re.compile(r'\bGROUP="([^"]+)"')


@dataclass(frozen=True)
class UsbDevice:
    """A USB device seen in sysfs, identified like libgphoto2 does: usb:BBB,DDD."""

    bus: int
    dev: int
    vendor: str = ""
    product: str = ""
    name: str = ""

    @property
    def camera_id(self) -> str:
        return f"usb:{self.bus:03d},{self.dev:03d}"

    @property
    def node(self) -> Path:
        return USB_NODES / f"{self.bus:03d}" / f"{self.dev:03d}"


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def ptp_devices(sys_usb: Path = SYS_USB) -> list[UsbDevice]:
    """USB devices with a PTP still-image interface (06/01/01), read from sysfs without libgphoto2."""
    found = []
    for interface in sorted(sys_usb.glob("*:*")):
        if (
            read_text(interface / "bInterfaceClass"),
            read_text(interface / "bInterfaceSubClass"),
            read_text(interface / "bInterfaceProtocol"),
        ) != ("06", "01", "01"):
            continue
        device = sys_usb / interface.name.split(":")[0]  # "1-1:1.0" is an interface of device "1-1"
        try:
            bus, dev = int(read_text(device / "busnum")), int(read_text(device / "devnum"))
        except ValueError:
            continue
        name = " ".join(p for p in (read_text(device / "manufacturer"), read_text(device / "product")) if p)
        usb = UsbDevice(bus, dev, read_text(device / "idVendor"), read_text(device / "idProduct"), name)
        if usb not in found:
            found.append(usb)
    return found


def usb_device_for(camera_id: str) -> UsbDevice | None:
    """`usb:001,005` -> the device at bus 1, address 5; None for other ids."""
    if not camera_id.startswith("usb:"):
        return None
    bus, _, dev = camera_id[4:].partition(",")
    try:
        return UsbDevice(int(bus), int(dev))
    except ValueError:
        return None


def camera_rules(dirs: Iterable[Path] = RULE_DIRS) -> dict[Path, set[str]]:
    """Installed udev rules files that grant cameras (tether's, libgphoto2's) and the groups they name."""
    found: dict[Path, set[str]] = {}
    seen = set()
    for folder in dirs:
        for path in sorted(folder.glob("*.rules")):
            if "tether-cameras" not in path.name and "gphoto" not in path.name:
                continue
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            found[path] = set(_GROUP_ASSIGNMENT.findall(read_text(path)))
    return found


@dataclass(frozen=True)
class UserGroups:
    """Who runs doctor: the groups this session has, and those /etc/group lists them in (after a re-login)."""

    name: str
    session: frozenset[str]
    listed: frozenset[str]
    root: bool = False


def current_user() -> UserGroups:
    """This process's user and groups."""
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    session = {group_name(gid) for gid in {os.getegid(), *os.getgroups()}}
    listed = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
    return UserGroups(name, frozenset(session), frozenset(listed | session), root=uid == 0)


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


@dataclass(frozen=True)
class Process:
    pid: int
    argv: tuple[str, ...]
    #: /dev/bus/usb nodes it has open; None when its descriptors could not be read (another user's).
    usb_nodes: frozenset[str] | None

    @property
    def program(self) -> str:
        """The program's name: argv[0]'s basename, or the script's for interpreters."""
        names = [os.path.basename(a) for a in self.argv[:2]]
        if names and names[0].startswith("python") and len(names) > 1:
            return names[1]
        return names[0] if names else ""


def processes(proc: Path = PROC) -> list[Process]:
    """Every process this user may see, with the USB device nodes it has open."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        raw = b""
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        argv = tuple(a.decode("utf-8", "replace") for a in raw.split(b"\0") if a)
        nodes: set[str] = set()
        try:
            for fd in (entry / "fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith(f"{USB_NODES}/"):
                    nodes.add(target)
        except OSError:  # another user's process: which devices it holds is unknown, not none
            found.append(Process(int(entry.name), argv, None))
            continue
        found.append(Process(int(entry.name), argv, frozenset(nodes)))
    return found
