"""Issue 16 defect 14, the naming rules behind it: a still is exported under the camera's own file
name, and a name already taken (the camera's counter starts again after a restart, or a second
camera uses the same names) gets a unique one instead of overwriting the first file."""
from __future__ import annotations

from tether.camera.types import CapturedFile
from tether.engine import Engine


def still(name: str, data: bytes) -> CapturedFile:
    return CapturedFile(data, name, "image/jpeg", 0.0, 4, 3)


def test_a_still_keeps_the_camera_name_and_never_overwrites(engine: Engine) -> None:
    first = engine.store.export(engine.save_capture(still("P1000001.JPG", b"first")))
    again = engine.store.export(engine.save_capture(still("P1000001.JPG", b"second")))
    assert first.path.name == "P1000001.JPG" and first.path.read_bytes() == b"first"
    assert again.path.name.startswith("P1000001-") and again.path.suffix == ".JPG"
    assert again.path.read_bytes() == b"second"
    # a name that cannot be an id (a space, a dot) is not used as one
    odd = engine.store.export(engine.save_capture(still("IMG 0001.old.JPG", b"odd")))
    assert odd.path.name.startswith("still-") and odd.path.read_bytes() == b"odd"
