"""SimCamera: the simulated camera, listed and used like any real one.

Live view is paced like a real camera: frames fall on a fixed 1/fps grid and ``live_view_frame``
blocks until the next grid time; its ``timestamp`` (``time.time()`` seconds) is that grid time, and
it shows the focus the motor had when the call was made.
Stills render at the still size, and take as long as that takes. Focus drive moves the seeded
motor (see motor.py); while a movie records, the motor moves as in video mode (a latency, then
travel at a finite speed). Movies are H.264 MP4 at 30 fps, rendered when recording stops.
Ground truth: ``camera.ground_truth`` (see truth.py).
"""
from __future__ import annotations

import math
import os
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

import imageio_ffmpeg
import numpy as np

from tether.camera.base import Camera, Progress
from tether.camera.errors import CameraBusy, CameraDisconnected, CameraError, InvalidValue, Unsupported
from tether.camera.ids import CameraId
from tether.camera.sim import optics, sensor
from tether.camera.sim.dng import dng_bytes
from tether.camera.sim.exif import Exposure, with_exif
from tether.camera.sim.faults import FaultInjector, merge, parse_fault_text, parse_faults
from tether.camera.sim.motor import FocusMotor, MotorSpec
from tether.camera.sim.scene import SCENES, get_scene
from tether.camera.sim.truth import SceneTruth
from tether.camera.types import (
    CameraInfo,
    Capabilities,
    CapturedFile,
    FocusDirection,
    Frame,
    MovieFile,
    Setting,
    SettingKind,
    StepClass,
)
from tether.config import SimSettings

CAPABILITIES = Capabilities(live_view=True, still_capture=True, focus_drive=True, movie=True)
LIVEVIEW_SIZES = ("1920x1080", "1280x720", "640x360")
FOCUS_MODES = ("MF", "AF-S")
EXPOSURE_MODES = ("M", "A")
MOVIE_FPS = 30.0
#: Longest movie kept: frames past it are dropped, like a camera's clip-length limit.
MAX_MOVIE_SECONDS = 600.0
FRAME_CACHE_BYTES = 64 * 1024 * 1024


def camera_info(scene: str, settings: SimSettings | None = None) -> CameraInfo:
    """How a simulated camera of ``scene`` identifies itself."""
    spec = get_scene(scene)
    records = (settings or SimSettings()).movie
    return CameraInfo(
        id=f"sim:{spec.name}", model=f"tether simulated camera ({spec.name})", manufacturer="tether",
        serial=f"SIM-{spec.name.upper()}", lens=spec.lens, simulated=True,
        capabilities=CAPABILITIES if records else replace(CAPABILITIES, movie=False),
    )


def sim_camera_infos(settings: SimSettings | None = None) -> list[CameraInfo]:
    """The simulated cameras, one per scene (``sim`` alone means ``sim:macro``)."""
    return [camera_info(name, settings) for name in SCENES]


class SimCamera(Camera):
    """A simulated camera looking at one scene through a thin-lens model; see the package docstring."""

    def __init__(self, camera_id: CameraId, settings: SimSettings | None = None, *, pace: bool = True) -> None:
        settings = settings or SimSettings()
        self.camera_id = camera_id
        self.sim_settings = settings
        self.scene = get_scene(camera_id.address)  # raises CameraNotFound naming the scenes
        where = f"camera id {camera_id}"
        base_plan = parse_fault_text(settings.faults, "[sim] faults")
        plan = merge(base_plan, parse_faults(camera_id.options, where), camera_id.options)
        self.seed = plan.seed if plan.seed is not None else settings.seed
        self.faults = FaultInjector(plan, self.seed, f"simulated camera {camera_id.without_options}")
        #: False = return frames as fast as they render (benchmarks); True = a real camera's cadence.
        self.pace = pace
        self._info = camera_info(self.scene.name, settings)
        self._open = False
        self._values: dict[str, Any] = {
            "aperture": "2.8", "iso": "200", "shutterspeed": "1/125", "exposuremode": "M",
            "whitebalance": "Auto", "imageformat": "JPEG Fine", "focusmode": "MF",
            "liveviewsize": f"{settings.liveview_width}x{settings.liveview_height}",
        }
        self.motor = FocusMotor(self._motor_spec(settings), seed=self.seed, clock=time.time)
        self.ground_truth = SceneTruth(self.scene, self.seed, lambda: self.motor.position, self.image_sizes)
        self._noise = sensor.NoiseSource(self.seed)
        self._layer_cache = optics.LayerCache()
        self._frames: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._grid_start = 0.0
        self._last_tick = -1
        self._frame_count = 0
        self._file_count = 0
        self._movie_start: float | None = None

    @staticmethod
    def _motor_spec(settings: SimSettings) -> MotorSpec:
        return MotorSpec(
            range=optics.MOTOR_RANGE, backlash=settings.focus_backlash, step_error=settings.focus_step_error,
            step_seconds=settings.focus_step_ms / 1000.0, unit_seconds=settings.focus_step_ms / 10000.0,
            latency=settings.focus_movie_latency_ms / 1000.0, speed=settings.focus_movie_speed,
        )

    # -- identity and lifecycle ---------------------------------------------------------------
    @property
    def info(self) -> CameraInfo:
        return self._info

    def open(self) -> None:
        """Connect; a camera that was disconnected by a fault comes back (the replug)."""
        self.faults.reconnect()
        self._open = True
        self._grid_start = time.time()
        self._last_tick = -1

    def close(self) -> None:
        self._open = False
        self._movie_start = None
        self.motor.smooth = False

    def _operation(self, what: str) -> None:
        if not self._open:
            raise CameraDisconnected(f"simulated camera {self.camera_id.without_options} is not open",
                                     hint="open it first")
        self.faults.operation(what)

    # -- settings -------------------------------------------------------------------------------
    def settings(self) -> list[Setting]:
        v = self._values
        sizes = tuple(dict.fromkeys((f"{self.sim_settings.liveview_width}x{self.sim_settings.liveview_height}",
                                     *LIVEVIEW_SIZES)))
        shutter = self._shutter()
        choice = SettingKind.CHOICE
        return [
            Setting("aperture", "Aperture (f-number)", choice, v["aperture"], group="exposure",
                    choices=sensor.APERTURES),
            Setting("shutterspeed", "Shutter speed", choice, shutter, read_only=v["exposuremode"] == "A",
                    group="exposure", choices=sensor.SHUTTERS),
            Setting("iso", "ISO", choice, v["iso"], group="exposure", choices=sensor.ISOS),
            Setting("exposuremode", "Exposure mode (M manual, A aperture priority)", choice, v["exposuremode"],
                    group="exposure", choices=EXPOSURE_MODES),
            Setting("whitebalance", "White balance", choice, v["whitebalance"], group="image",
                    choices=tuple(sensor.WHITE_BALANCE)),
            Setting("imageformat", "Image format", choice, v["imageformat"], group="image",
                    choices=tuple(sensor.IMAGE_FORMATS)),
            Setting("liveviewsize", "Live-view size", choice, v["liveviewsize"], group="live view", choices=sizes),
            Setting("focusmode", "Focus mode", choice, v["focusmode"], group="focus", choices=FOCUS_MODES),
            Setting("lens", "Lens", SettingKind.TEXT, self.scene.lens, read_only=True, group="focus"),
        ]

    def _shutter(self) -> str:
        """The shutter time the camera uses: the set one in M, its own choice in A."""
        v = self._values
        return sensor.auto_shutter(v["iso"], v["aperture"]) if v["exposuremode"] == "A" else str(v["shutterspeed"])

    def _write_setting(self, name: str, value: Any) -> None:
        self._operation(f"setting {name}")
        if name not in self._values:
            raise InvalidValue(f"{name} cannot be set on this camera")
        self._values[name] = value

    # -- imaging ------------------------------------------------------------------------------
    @property
    def f_number(self) -> float:
        return float(self._values["aperture"])

    def image_sizes(self) -> dict[str, tuple[int, int]]:
        """Current live-view, still and movie sizes (the geometries ground-truth maps are asked for)."""
        settings = self.sim_settings
        return {"liveview": self.liveview_size(), "still": (settings.still_width, settings.still_height),
                "movie": (settings.movie_width, settings.movie_height)}

    def liveview_size(self) -> tuple[int, int]:
        w, h = self._values["liveviewsize"].split("x")
        return int(w), int(h)

    def _gains(self) -> tuple[float, float, float]:
        v = self._values
        exposure = sensor.exposure_gain(v["exposuremode"], v["shutterspeed"], v["iso"], v["aperture"])
        return sensor.channel_gains(exposure, self.scene.illuminant, v["whitebalance"])

    def clean_frame(self, position: float, size: tuple[int, int], *, cache: bool = True) -> np.ndarray:
        """The noiseless processed image at ``position`` (uint8 BGR), cached by position and settings."""
        gains = self._gains()
        key = (round(position), size, self.f_number, tuple(round(g, 4) for g in gains))
        image = self._frames.get(key)
        if image is not None:
            self._frames.move_to_end(key)
            return image
        image = optics.render(self.scene, key[0], size, f_number=self.f_number, seed=self.seed,
                              cache=self._layer_cache if cache else None)
        image = sensor.apply_gains(image, gains)
        if cache:
            self._frames[key] = image
            # A few frames (live view usually sits still between sweeps), bounded in bytes for 4K movies.
            while len(self._frames) > 1 and sum(f.nbytes for f in self._frames.values()) > FRAME_CACHE_BYTES:
                self._frames.popitem(last=False)
        return image

    def clear_frame_caches(self) -> None:
        """Forget rendered frames and blurred layers (keeps the scene's rasters and shrunk copies)."""
        self._frames.clear()
        self._layer_cache.clear()

    def _noisy(self, image: np.ndarray) -> np.ndarray:
        return self._noise.add(image, sensor.noise_sigma(self._values["iso"]))

    def _next_tick(self) -> float:
        """The next live-view grid time after now (when pacing; else now)."""
        now = time.time()
        if not self.pace:
            return now
        fps = self.sim_settings.liveview_fps
        self._last_tick = max(self._last_tick + 1, math.ceil((now - self._grid_start) * fps))
        return self._grid_start + self._last_tick / fps

    def live_view_frame(self) -> Frame:
        """The frame of the next 1/fps grid time: rendered first (the motor cannot move meanwhile, the
        owner thread is here), then held until that time, so the render hides in the wait as a camera's
        pipeline does; a frame whose render overruns is delivered late but keeps its grid timestamp."""
        self._operation("live view")
        delay = self.faults.frame_delay()
        stamp = self._next_tick()
        size = self.liveview_size()
        image = self._noisy(self.clean_frame(self.motor.position, size))
        data = sensor.encode_jpeg(image, sensor.LIVEVIEW_QUALITY)
        self._frame_count += 1
        data = self.faults.maybe_corrupt(data, self._frame_count)
        wait = max(stamp - time.time(), 0.0) if self.pace else 0.0
        if wait + delay > 0:
            time.sleep(wait + delay)
        return Frame(data, stamp, size[0], size[1])

    def capture_still(self) -> CapturedFile:
        self._operation("still capture")
        if self._movie_start is not None:
            raise CameraBusy("the simulated camera is recording a movie", hint="stop the movie first")
        if self._values["focusmode"] == "AF-S":
            self._autofocus()
        stamp = time.time()
        size = (self.sim_settings.still_width, self.sim_settings.still_height)
        image = self._noisy(self.clean_frame(self.motor.position, size, cache=False))
        quality = sensor.IMAGE_FORMATS[self._values["imageformat"]]
        self._file_count += 1
        if quality is None:
            data = dng_bytes(image, make=self._info.manufacturer, model=self._info.model, taken=stamp,
                             exposure=self._exposure())
            name, mime = f"SIM_{self._file_count:04d}.DNG", "image/x-adobe-dng"
        else:
            data = self._with_exif(sensor.encode_jpeg(image, quality), stamp)
            name, mime = f"SIM_{self._file_count:04d}.JPG", "image/jpeg"
        data = self.faults.maybe_corrupt(data, self._file_count)
        return CapturedFile(data, name, mime, stamp, size[0], size[1])

    def _exposure(self) -> Exposure:
        return Exposure(self._shutter(), self._values["aperture"], self._values["iso"])

    def _with_exif(self, jpeg: bytes, taken: float) -> bytes:
        return with_exif(jpeg, make=self.info.manufacturer, model=self.info.model, exposure=self._exposure(),
                         taken=taken)

    def _autofocus(self) -> None:
        """AF-S: focus on the object at the centre of the frame, approaching from near (as contrast AF ends)."""
        w, h = 64, 36
        index = self.ground_truth.index_map((w, h))[h // 2, w // 2]
        target = round(self.ground_truth.objects[int(index)].focus_position)
        while self.motor.position > target - 8 and self.motor.position > 0:
            self.motor.drive(FocusDirection.NEAR, StepClass.LARGE)
        while self.motor.position < target:
            before = self.motor.position
            self.motor.drive(FocusDirection.FAR, StepClass.SMALL)
            if self.motor.position == before and before >= optics.MOTOR_RANGE:
                break

    def drive_focus(self, direction: FocusDirection, step: StepClass, count: int = 1) -> None:
        self._operation("focus drive")
        try:
            direction, step = FocusDirection(direction), StepClass(step)
        except ValueError as exc:
            raise InvalidValue(f"bad focus drive: {exc}", hint="direction near/far, step small/medium/large") from None
        if count < 0:
            raise InvalidValue(f"focus drive count must be 0 or more, not {count}")
        self.motor.drive(direction, step, count)

    # -- movie ----------------------------------------------------------------------------------
    def start_movie(self) -> float:
        """Start recording; returns the timestamp (time.time()) of the movie's first frame."""
        self._operation("movie start")
        if not self._info.capabilities.movie:
            raise Unsupported("this simulated camera does not record movies ([sim] movie = false)")
        if self._movie_start is not None:
            raise CameraBusy("the simulated camera is already recording a movie", hint="stop it first")
        self._movie_start = time.time()
        self.motor.trim_history(self._movie_start - 1.0)
        self.motor.smooth = True
        return self._movie_start

    def stop_movie(self, dest: str, progress: Progress | None = None) -> MovieFile:
        """Stop recording and write the movie to ``dest``: H.264 in MP4, movie size, 30 fps.

        Frame k shows the scene at the focus position the motor had at ``start + k / 30`` (start = the value
        start_movie returned); there are ``floor((stop - start) * 30) + 1`` frames. Rendered at stop (the
        "download"), one frame at a time into the encoder, so memory stays bounded however long the clip.
        """
        self._operation("movie stop")
        if self._movie_start is None:
            raise CameraError("no movie is being recorded", hint="start one first")
        start, stop = self._movie_start, time.time()
        self._movie_start = None
        self.motor.smooth = False
        count = math.floor(min(stop - start, MAX_MOVIE_SECONDS) * MOVIE_FPS) + 1
        self._write_movie(dest, start, count, self.image_sizes()["movie"], progress)
        self._file_count += 1
        size = os.path.getsize(dest)
        if progress is not None:
            progress(size, size)
        return MovieFile(dest, f"SIM_{self._file_count:04d}.MP4", "video/mp4", size, start)

    def movie_positions(self, start: float, count: int) -> list[int]:
        """The true focus position at each movie frame time ``start + k / 30``."""
        return [self.motor.position_at(start + k / MOVIE_FPS) for k in range(count)]

    def _write_movie(self, dest: str, start: float, count: int, size: tuple[int, int],
                     progress: Progress | None) -> None:
        # the encoder needs even sizes only (yuv420p), not imageio's default multiples of 16
        writer = imageio_ffmpeg.write_frames(
            dest, size, fps=MOVIE_FPS, codec="libx264", quality=None, macro_block_size=2,
            output_params=["-preset", "veryfast", "-crf", "16", "-f", "mp4"])
        writer.send(None)
        try:
            for position in self.movie_positions(start, count):
                frame = self._noisy(self.clean_frame(position, size))
                writer.send(np.ascontiguousarray(frame[:, :, ::-1]))  # the encoder takes RGB
                if progress is not None:
                    progress(0, 0)
        finally:
            writer.close()
