"""Movies through libgphoto2: the virtual Lumix records on 0x940C and the supervised driver downloads the file.

Both libgphoto2 builds: the movie toggle is a no-data operation, untouched by the 2.5.32-2.5.34
data-phase defect, so the wheel records as well as the system build does.
"""
from __future__ import annotations

import time

import cv2
import pytest

from tether.camera.errors import Unsupported
from tether.camera.ids import parse_camera_id
from tether.camera.supervisor import open_supervised
from tether.config import Settings
from tether.ptpip import PtpIpServer, VirtualLumix, responder
from tether.ptpip import panasonic as pana

from .conftest import SMALL_SIM, scene_camera

MOVIE_SIM = {**SMALL_SIM, "movie_width": 640, "movie_height": 360}


@pytest.fixture
def movie_lumix():
    """A virtual Lumix whose movies are 640x360, on a free loopback port."""
    source = scene_camera(Settings().with_overrides({"sim": MOVIE_SIM}))
    server = PtpIpServer(VirtualLumix(source), "127.0.0.1", 0).start()
    yield server
    server.stop()
    source.close()


def decoded_frames(path) -> tuple[int, tuple[int, int]]:
    """(frame count, (width, height)) of a movie file, read frame by frame."""
    capture = cv2.VideoCapture(str(path))
    count, size = 0, (0, 0)
    while True:
        ok, image = capture.read()
        if not ok:
            break
        count, size = count + 1, (image.shape[1], image.shape[0])
    capture.release()
    return count, size


@pytest.mark.parametrize("library", ["wheel", "system"])
def test_a_movie_is_recorded_announced_and_downloaded(library, movie_lumix, gphoto_settings, request, tmp_path):
    if library == "system":
        request.getfixturevalue("system_libgphoto2")
    lumix = movie_lumix.responder
    with open_supervised(parse_camera_id(movie_lumix.camera_id), gphoto_settings(library)) as camera:
        assert camera.info.capabilities.movie
        camera.start_movie()
        time.sleep(0.6)
        seen: list[tuple[int, int]] = []
        movie = camera.stop_movie(str(tmp_path / "take.mp4"), lambda done, total: seen.append((done, total)))
        assert camera.state == "open"
    assert lumix.counters.movies == 1 and lumix.counters.operations[pana.OC_MOVIE_REC_CONTROL] == 2
    assert movie.name.endswith(".MP4") and movie.mime == "video/mp4"
    assert movie.size == (tmp_path / "take.mp4").stat().st_size == len(next(iter(lumix.objects.values())).data)
    assert seen[-1] == (movie.size, movie.size)  # the download reported its progress to the end
    count, size = decoded_frames(tmp_path / "take.mp4")
    assert size == (640, 360) and 15 <= count <= 60  # 0.6 s at 30 fps, with the commands' round trips


def test_a_camera_without_movie_recording_says_so(movie_lumix, gphoto_settings, monkeypatch, tmp_path):
    # a body whose device info lists no MovieRecControl, as many Lumix models over USB
    monkeypatch.setattr(responder, "OPERATIONS", tuple(op for op in responder.OPERATIONS
                                                       if op != pana.OC_MOVIE_REC_CONTROL))
    with open_supervised(parse_camera_id(movie_lumix.camera_id), gphoto_settings("wheel")) as camera:
        assert not camera.info.capabilities.movie
        with pytest.raises(Unsupported, match="cannot record movies"):
            camera.start_movie()
