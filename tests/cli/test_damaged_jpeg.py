"""A damaged JPEG given to the real ``tether stack``: one line of tether's, naming the file, and nothing of
libjpeg's own ("Corrupt JPEG data: ...") on stderr before it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest


@pytest.mark.parametrize("damage", ["cut short", "cut short, end marker kept"])
def test_a_damaged_first_jpeg_is_one_line_of_tethers(run_tether, tmp_path: Path, damage: str) -> None:
    rng = np.random.default_rng(0)
    texture = cv2.resize(rng.uniform(0, 255, (30, 40, 3)).astype(np.uint8), (320, 240))
    for k in range(3):
        cv2.imwrite(str(tmp_path / f"f{k}.jpg"), np.roll(texture, k, axis=1))
    data = (tmp_path / "f0.jpg").read_bytes()
    # as a copy stopped half way leaves it; with the end marker kept, libjpeg decodes it and only warns
    (tmp_path / "f0.jpg").write_bytes(data[: len(data) // 2] + (b"\xff\xd9" if "marker" in damage else b""))
    result = run_tether("stack", str(tmp_path), "--out", str(tmp_path / "out.jpg"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"tether: {tmp_path / 'f0.jpg'}: the JPEG is damaged"), result.stderr
    assert not (tmp_path / "out.jpg").exists()
