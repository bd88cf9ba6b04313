"""libgphoto2 config widgets as tether settings: walk the tree, map each widget type to a typed descriptor.

Reads are guarded: a breadcrumb on stderr names the widget about to be read, so if python-gphoto2
segfaults inside get_value (it does on a text widget whose value is NULL) the supervisor knows which
widget to skip from then on.
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

from tether.camera.gphoto_lib import gp
from tether.camera.types import Setting, SettingKind

#: Widgets that are actions or raw protocol access, never settings (focus drive has its own call).
ACTION_WIDGETS = frozenset({
    "opcode", "bulb", "viewfinder", "manualfocusdrive", "mfadjust", "autofocusdrive", "cancelautofocus",
    "movie", "eosremoterelease", "chdk", "uilock", "popupflash", "focusposition", "manualfocus",
})
CONTAINERS = (gp.GP_WIDGET_WINDOW, gp.GP_WIDGET_SECTION)

_BREADCRUMBS = os.environ.get("TETHER_GPHOTO_BREADCRUMBS") == "1"
#: Fault injection for tests: segfault when about to read this widget, as python-gphoto2 does on a
#: text widget whose value is NULL (no camera reachable in CI has one).
_FAULT_WIDGET = os.environ.get("TETHER_GPHOTO_FAULT_WIDGET", "")


def breadcrumb(widget: str) -> None:
    """Name the widget about to be read on stderr ("" = done reading)."""
    if _BREADCRUMBS:
        os.write(2, (f"tether-breadcrumb widget={widget}\n" if widget else "tether-breadcrumb done\n").encode())
    if widget and widget == _FAULT_WIDGET:
        os.kill(os.getpid(), signal.SIGSEGV)


def leaves(widget: Any, group: str = "other") -> Iterator[tuple[str, Any]]:
    """(section name, widget) for every non-container widget under ``widget``."""
    kind = widget.get_type()
    if kind in CONTAINERS:
        section = widget.get_name() if kind == gp.GP_WIDGET_SECTION else group
        for i in range(widget.count_children()):
            yield from leaves(widget.get_child(i), section)
    else:
        yield group, widget


def read_text(config: Any, names: tuple[str, ...], skip: set[str]) -> dict[str, str]:
    """Values of the named text widgets (identity fields such as serialnumber)."""
    values = {}
    for _, widget in leaves(config):
        name = widget.get_name()
        if name in names and name not in skip and widget.get_type() == gp.GP_WIDGET_TEXT:
            breadcrumb(name)
            values[name] = str(widget.get_value() or "").strip()
    breadcrumb("")
    return values


def describe_all(config: Any, *, skip: set[str], read_only: set[str]) -> list[Setting]:
    """Every setting in the tree; ``skip`` are never read, ``read_only`` are shown but refuse writes."""
    result = []
    for group, widget in leaves(config):
        setting = describe(group, widget, skip=skip, read_only=read_only)
        if setting is not None:
            result.append(setting)
    breadcrumb("")
    return result


def describe(group: str, widget: Any, *, skip: set[str], read_only: set[str]) -> Setting | None:
    """One widget as a typed Setting, or None for actions, buttons and skipped widgets."""
    name = widget.get_name()
    kind = widget.get_type()
    if group == "actions" or name in ACTION_WIDGETS or name in skip or kind == gp.GP_WIDGET_BUTTON:
        return None  # libgphoto2's "actions" section holds triggers (focus drive, opcodes), not settings
    label = widget.get_label() or name
    locked = bool(widget.get_readonly()) or name in read_only
    breadcrumb(name)
    if kind in (gp.GP_WIDGET_RADIO, gp.GP_WIDGET_MENU):
        choices = tuple(widget.get_choice(i) for i in range(widget.count_choices()))
        return Setting(name, label, SettingKind.CHOICE, widget.get_value(), locked, group, choices)
    if kind == gp.GP_WIDGET_RANGE:
        lo, hi, step = widget.get_range()
        return Setting(name, label, SettingKind.RANGE, float(widget.get_value()), locked, group,
                       minimum=lo, maximum=hi, step=step)
    if kind == gp.GP_WIDGET_TOGGLE:
        return Setting(name, label, SettingKind.TOGGLE, bool(widget.get_value()), locked, group)
    if kind == gp.GP_WIDGET_DATE:
        stamp = widget.get_value()
        text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else ""
        return Setting(name, label, SettingKind.TEXT, text, True, group)
    if kind == gp.GP_WIDGET_TEXT:
        return Setting(name, label, SettingKind.TEXT, str(widget.get_value() or ""), locked, group)
    return None


def coerce(widget: Any, value: Any) -> Any:
    """A validated tether value in the Python type the widget's set_value expects."""
    kind = widget.get_type()
    if kind == gp.GP_WIDGET_TOGGLE:
        return 1 if value else 0
    if kind == gp.GP_WIDGET_RANGE:
        return float(value)
    if kind in (gp.GP_WIDGET_RADIO, gp.GP_WIDGET_MENU, gp.GP_WIDGET_TEXT):
        return str(value)
    return value
