"""The committed udev rules: strictly well-formed, the cameras we care about, and up to date."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tether.ops import udev_rules

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "udev" / udev_rules.RULES_FILE

#: Keys a rule may test, and keys it may assign; those needing {name} are listed separately.
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "ENV", "ATTR", "ATTRS"}
ASSIGN_KEYS = {"ENV", "MODE", "GROUP", "TAG", "GOTO", "LABEL", "IMPORT"}
NAMED_KEYS = {"ENV", "ATTR", "ATTRS", "IMPORT"}
TOKEN = re.compile(r'^(?P<key>[A-Z]+)(?:\{(?P<name>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|=)"(?P<value>[^"\\]*)"$')


def parse_rules(text: str) -> list[list[tuple[str, str | None, str, str]]]:
    """A strict udev rules parser: one rule per line, `KEY{name}OP"value"` tokens joined by ", "."""
    rules = []
    labels, gotos = set(), set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        assert not line.endswith(("\\", ",", " ")), f"line {number}: dangling continuation or space: {line!r}"
        tokens = []
        for part in line.split(", "):
            m = TOKEN.match(part)
            assert m, f"line {number}: malformed token {part!r}"
            key, name, op, value = m["key"], m["name"], m["op"], m["value"]
            allowed = MATCH_KEYS if op in ("==", "!=") else ASSIGN_KEYS
            assert key in allowed, f"line {number}: {key} cannot be used with {op}"
            assert (name is not None) == (key in NAMED_KEYS), (
                f"line {number}: {key} {'needs' if name is None else 'takes no'} {{name}}"
            )
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value), f"line {number}: MODE {value!r} is not octal"
            if key == "LABEL":
                labels.add(value)
            if key == "GOTO":
                gotos.add(value)
            tokens.append((key, name, op, value))
        is_label = any(key == "LABEL" for key, _, _, _ in tokens)
        assert not is_label or len(tokens) == 1, f"line {number}: LABEL must stand alone"
        assert is_label or any(op in ("==", "!=") for _, _, op, _ in tokens), f"line {number}: a rule without a match"
        rules.append(tokens)
    assert gotos <= labels, f"GOTO without LABEL: {gotos - labels}"
    return rules


@pytest.fixture(scope="module")
def rules_text() -> str:
    return RULES.read_text(encoding="utf-8")


def test_committed_rules_parse_strictly(rules_text: str) -> None:
    rules = parse_rules(rules_text)
    assert len(rules) > 1000  # libgphoto2 knows thousands of USB ids
    granting = [r for r in rules if ("GROUP", None, "=", "plugdev") in r]
    assert all(("MODE", None, "=", "0664") in r for r in granting)


def test_parser_rejects_what_udev_would_not_take() -> None:
    for bad in (
        'ATTR{idVendor}="04da", MODE="0664"',  # no match at all
        'ATTRS{idVendor}=="04da" MODE="0664"',  # missing comma
        'ATTR{idVendor}=="04da", MODE="664x"',  # MODE not octal
        'ATTR{idVendor}=="04da", GOTO="nowhere"',  # GOTO without LABEL
        'ATTR{idVendor}=="04da", GROUP=="plugdev"',  # GROUP is not a match key
        'ATTR=="04da", MODE="0664"',  # ATTR needs {name}
        'ATTR{idVendor}=="04da", LABEL="x"',
    ):  # LABEL shares a line
        with pytest.raises(AssertionError):
            parse_rules(bad + "\n")


def _rule_for(rules_text: str, vendor: str, product: str) -> tuple[str, str]:
    lines = rules_text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(f'ATTR{{idVendor}}=="{vendor}", ATTR{{idProduct}}=="{product}",'):
            return lines[index - 1], line
    raise AssertionError(f"no rule for {vendor}:{product}")


@pytest.mark.parametrize("vendor, product, model", [("04da", "2374", "DMC-GX8"), ("04da", "2382", "DC-GH5")])
def test_rules_grant_the_panasonic_bodies(rules_text: str, vendor: str, product: str, model: str) -> None:
    comment, rule = _rule_for(rules_text, vendor, product)
    assert comment.startswith("# Panasonic: ") and model in comment.split(": ", 1)[1].split(", ")
    assert 'GROUP="plugdev"' in rule and 'MODE="0664"' in rule


def test_rules_match_any_ptp_still_image_interface(rules_text: str) -> None:
    rules = parse_rules(rules_text)
    ptp = [r for r in rules if ("ENV", "ID_USB_INTERFACES", "==", "*:060101:*") in r]
    assert len(ptp) == 1 and ("GROUP", None, "=", "plugdev") in ptp[0]
    # the interface list must be imported before it is tested, and only USB devices are considered
    imports = [i for i, r in enumerate(rules) if ("IMPORT", "builtin", "=", "usb_id") in r]
    assert imports and imports[0] < rules.index(ptp[0])
    assert ("SUBSYSTEM", None, "!=", "usb") in rules[1] and ("ENV", "DEVTYPE", "!=", "usb_device") in rules[2]


def test_committed_rules_are_what_tether_udev_rules_prints(run_tether, rules_text: str) -> None:
    result = run_tether("udev-rules", check=True)
    assert result.stdout == rules_text, (
        "udev/60-tether-cameras.rules is out of date for this libgphoto2: "
        "regenerate with `tether udev-rules > udev/60-tether-cameras.rules`"
    )


def test_group_option_and_bad_group(run_tether) -> None:
    result = run_tether("udev-rules", "--group", "studio_cams", check=True)
    parse_rules(result.stdout)
    assert 'GROUP="studio_cams"' in result.stdout and 'GROUP="plugdev"' not in result.stdout
    assert "group 'studio_cams' does not exist" in result.stderr
    bad = run_tether("udev-rules", "--group", 'plug"dev')
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("tether: --group 'plug\"dev': not a valid group name")


def test_render_keeps_the_ptp_rule_when_the_list_lacks_it() -> None:
    cameras = udev_rules.CameraList("2.5.99", [udev_rules.UsbMatch(0x04DA, 0x2374, ["Panasonic DMC-GX8"])], [])
    text = udev_rules.render_rules(cameras, "video")
    parse_rules(text)
    assert 'ENV{ID_USB_INTERFACES}=="*:060101:*", MODE="0664", GROUP="video"' in text
    assert "# Panasonic: DMC-GX8" in text and "libgphoto2 2.5.99 (1 USB ids)" in text


def _udevadm_has_verify() -> str:
    if shutil.which("udevadm") is None:
        return "udevadm is not installed"
    probe = subprocess.run(["udevadm", "verify", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        version = subprocess.run(["udevadm", "--version"], capture_output=True, text=True).stdout.strip()
        return f"udevadm {version} has no `verify` (it came with systemd 253; Debian 12 ships 252)"
    return ""


def test_udevadm_verify_accepts_the_rules() -> None:
    reason = _udevadm_has_verify()
    if reason:
        pytest.skip(reason)
    result = subprocess.run(["udevadm", "verify", "--resolve-names=never", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
