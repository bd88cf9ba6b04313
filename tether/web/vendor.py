"""Where npm put the front-end libraries: ``node_modules/`` beside package.json (an ignored folder)."""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

#: Public name -> path inside node_modules. Only these files are served.
FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
}


@cache
def node_modules() -> Path | None:
    """The node_modules folder: $TETHER_NODE_MODULES, else the source checkout's, else the working dir's."""
    candidates = []
    if os.environ.get("TETHER_NODE_MODULES"):
        candidates.append(Path(os.environ["TETHER_NODE_MODULES"]))
    candidates.append(Path(__file__).resolve().parents[2] / "node_modules")
    candidates.append(Path.cwd() / "node_modules")
    for folder in candidates:
        if (folder / "socket.io-client").is_dir():
            return folder
    return None


def locate(name: str) -> Path | None:
    relative = FILES.get(name)
    root = node_modules()
    if relative is None or root is None:
        return None
    path = root / relative
    return path if path.is_file() else None
