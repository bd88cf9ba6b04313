"""The front-end libraries the panel imports (socket.io-client), served at ``/vendor/<name>``.

npm installs them into ``node_modules/`` beside package.json (ignored by git), where a source
checkout serves them from. Building a wheel copies them into the package's ``static/vendor/``
(setup.py), since a pip-installed tether has no node_modules. setup.py reads FILES from this file
without installing tether, so it imports the standard library only.
"""
from __future__ import annotations

from pathlib import Path

#: Public name -> path inside node_modules. Only these files are served, and a wheel carries them.
FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
}

_PACKAGE = Path(__file__).resolve().parents[1]
#: Where a wheel carries them (setup.py writes them there); checked first, as it is what was built.
WHEEL_FOLDER = _PACKAGE / "static" / "vendor"
#: Where npm put them in a source checkout.
NODE_MODULES = _PACKAGE.parent / "node_modules"


def locate(name: str) -> Path | None:
    relative = FILES.get(name)
    if relative is None:
        return None
    return next((path for path in (WHEEL_FOLDER / name, NODE_MODULES / relative) if path.is_file()), None)


def missing() -> list[str]:
    """The libraries this installation lacks: the panel cannot connect without them."""
    return [name for name in FILES if locate(name) is None]
