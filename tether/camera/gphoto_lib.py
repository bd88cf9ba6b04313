"""Loads python-gphoto2 once per process (optionally with libgphoto2's debug log routed to Python).

Every tether module that needs gphoto2 takes it from here (``from tether.camera.gphoto_lib import gp``),
so the RTLD_GLOBAL choice is made before the first import.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any

_LOG_HANDLE: Any = None


def import_gphoto2(debug: bool = False) -> Any:
    """Import gphoto2; with ``debug`` first switch to RTLD_GLOBAL so libgphoto2's log reaches Python.

    The wheel ships two copies of libgphoto2_port; only with RTLD_GLOBAL do they share the
    logging hooks that gp_log_add_func installs.
    """
    if debug and "gphoto2" not in sys.modules:
        sys.setdlopenflags(sys.getdlopenflags() | os.RTLD_GLOBAL)
    import gphoto2

    if debug:
        global _LOG_HANDLE  # the callback lives only as long as this handle
        _LOG_HANDLE = gphoto2.use_python_logging(mapping={
            gphoto2.GP_LOG_ERROR: logging.WARNING, gphoto2.GP_LOG_VERBOSE: logging.DEBUG,
            gphoto2.GP_LOG_DEBUG: logging.DEBUG, gphoto2.GP_LOG_DATA: logging.DEBUG - 5,
        })
    return gphoto2


gp = import_gphoto2(os.environ.get("TETHER_GPHOTO_DEBUG") == "1")


def library_version() -> str:
    """The libgphoto2 version this process loaded, e.g. '2.5.34'."""
    return str(gp.gp_library_version(gp.GP_VERSION_SHORT)[0])


def gphoto2_origin() -> str:
    """Where python-gphoto2 was imported from (tells the wheel from the system build)."""
    return os.path.dirname(gp.__file__)
