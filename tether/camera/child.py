"""The supervised libgphoto2 process: the only caller of libgphoto2, driven over a pipe by the supervisor.

Run as ``python -m tether.camera.child READ_FD WRITE_FD``. Replies are ("ok", result) or
("error", class name, message, hint), after any number of ("progress", done, total) for an
operation that reports progress (a movie download); a crash simply ends the process and the parent
notices.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from tether.camera import rpc
from tether.camera.errors import CameraError
from tether.config import Settings
from tether.errors import TetherError


class Worker:
    """Holds the one open camera and runs the operations the parent asks for."""

    def __init__(self, simulated: bool, notify: Callable[[int, int], None] = lambda done, total: None) -> None:
        self.camera: Any = None
        #: Sends a progress message to the parent ahead of the reply.
        self.notify = notify
        self.gphoto: Any = None
        if not simulated:  # a simulated camera in a child exercises the supervisor without libgphoto2
            from tether.camera import gphoto, gphoto_lib

            self.gphoto = gphoto
            self.lib = gphoto_lib

    def hello(self) -> dict[str, str]:
        if self.gphoto is None:
            return {"version": "none (simulated camera)", "origin": "", "pid": str(os.getpid())}
        return {"version": self.lib.library_version(), "origin": self.lib.gphoto2_origin(), "pid": str(os.getpid())}

    def detect(self, ptpip_ids: list[str]) -> Any:
        return self.gphoto.detect(ptpip_ids)

    def open(self, camera_id: str, settings: Settings, skip_widgets: tuple[str, ...]) -> Any:
        from tether.camera.drivers import driver_for
        from tether.camera.ids import parse_camera_id

        self.close()
        parsed = parse_camera_id(camera_id)
        camera = driver_for(parsed).open_here(parsed, settings, skip_widgets)
        camera.open()
        self.camera = camera
        return camera.info

    def close(self) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            camera.close()

    def call(self, method: str, *args: Any) -> Any:
        if self.camera is None:
            raise CameraError("no camera is open in the libgphoto2 process")
        return getattr(self.camera, method)(*args)

    def call_with_progress(self, method: str, *args: Any) -> Any:
        """``call``, passing the camera method a ``progress`` that reaches the parent as it goes."""
        if self.camera is None:
            raise CameraError("no camera is open in the libgphoto2 process")
        return getattr(self.camera, method)(*args, progress=self.notify)

    def info(self) -> Any:
        if self.camera is None:
            raise CameraError("no camera is open in the libgphoto2 process")
        return self.camera.info


OPERATIONS = {"hello", "detect", "open", "close", "call", "call_with_progress", "info"}


def serve(read_fd: int, write_fd: int) -> None:
    worker = Worker(simulated=os.environ.get("TETHER_CHILD_SIMULATED") == "1",
                    notify=lambda done, total: rpc.send(write_fd, ("progress", done, total)))
    rpc.send(write_fd, ("ok", worker.hello()))
    while True:
        try:
            op, args = rpc.receive(read_fd)
        except rpc.PipeClosed:
            break
        if op == "exit":
            worker.close()
            rpc.send(write_fd, ("ok", None))
            break
        try:
            if op not in OPERATIONS:
                raise CameraError(f"unknown libgphoto2 process operation {op!r}")
            reply: tuple = ("ok", getattr(worker, op)(*args))
        except TetherError as exc:
            reply = ("error", type(exc).__name__, exc.message, exc.hint)
        except Exception as exc:  # a bug here must still reach the parent as an error, not a hang
            logging.getLogger(__name__).exception("libgphoto2 process: %s failed", op)
            reply = ("error", "CameraError", f"{type(exc).__name__}: {exc}", "")
        rpc.send(write_fd, reply)


def exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """End this process once the server that started it is gone (a kill -9 included).

    A child blocked inside libgphoto2 never reads the pipe's end, and would keep the camera
    claimed so that the restarted server could not open it. A thread polls the parent instead of
    PR_SET_PDEATHSIG, which fires when the spawning *thread* ends (the supervisor re-opens from a
    short-lived thread). python-gphoto2 releases the GIL in libgphoto2 calls, so this thread runs.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def main(argv: list[str]) -> int:
    exit_with_parent(os.getppid())
    logging.basicConfig(level=logging.DEBUG if os.environ.get("TETHER_GPHOTO_DEBUG") == "1" else logging.WARNING,
                        stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    read_fd, write_fd = int(argv[0]), int(argv[1])
    with contextlib.suppress(rpc.PipeClosed):
        serve(read_fd, write_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
