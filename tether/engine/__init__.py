"""The composition root: cameras, owners, the burst store, the job pool and the event bus.

Public API (what the web layer, and any other front end, calls)::

    engine = Engine(settings, camera_id="sim:macro", simulated=True).start()
    engine.bus                                   # EventBus: subscribe(listener) for every event
    engine.snapshot()                            # JSON-able state for a client that just connected
    engine.available_cameras(refresh=False)      # [CameraInfo.to_dict()]
    engine.owner_for(camera_id, create=False)    # the CameraOwner (tether.capture) of an open camera
    engine.start_prescan(camera_id, options)     # -> Job (tether.jobs), run on the camera's owner thread
    engine.start_sweep(camera_id, options)       # -> (Job, burst id); the store names the file
    engine.pool                                  # JobPool: every recent job, camera and pool alike
    engine.job(job_id) / engine.cancel_job(job_id)
    engine.save_capture(captured_file, camera_id)  # -> id of the still (in the current session, else exports/)
    engine.store                                 # BurstStore: ids -> paths in <data_dir>/sessions|bursts|exports
    engine.store.sessions                        # Sessions: list, create, use, current, update, reserve
    engine.bursts                                # BurstService: list, detail, frame_jpeg, thumbnail, delete,
                                                 #   start_export, prepare_refocus, refocus, depth_map_png,
                                                 #   start_stack (pool jobs with progress and cancel)
    engine.depth                                 # DepthService: the Depth page's previews and settings, its
                                                 #   full-size export, living pictures (tether/engine/depth.py)
    engine.close()

Events it adds to the capture package's: ``burst.added``/``burst.deleted`` {burst},
``export.added`` {export, name}, ``still.added`` {still, name, session, exif}, ``burst.changed`` {burst},
``camera.setting`` and ``session.changed`` (from the web layer), and the job events of
its pool jobs (tether.jobs: one shape for every job).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.engine.bursts import BurstService
    from tether.engine.engine import Engine
    from tether.engine.ids import UnknownId
    from tether.engine.store import BurstStore

#: Where each public name is defined. They are imported on first use, so that a command which needs
#: one small module of the engine (``burst_frames``, ``heap``: ``tether stack``) does not load the
#: cameras and the capture code with it (about 7 MB, which its peak memory would carry).
_DEFINED_IN = {"BurstService": "bursts", "BurstStore": "store", "Engine": "engine", "UnknownId": "ids"}

__all__ = ["BurstService", "BurstStore", "Engine", "UnknownId"]


def __getattr__(name: str) -> Any:
    if name not in _DEFINED_IN:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_DEFINED_IN[name]}"), name)
