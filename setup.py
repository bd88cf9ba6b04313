"""Package layout that pyproject.toml cannot express on its own.

static/ and templates/ live at the top level where readers look for them; the build maps them into
the package as ``tether.static`` and ``tether.templates`` so a wheel, not only an editable install,
carries them. Their subfolders (static/css, static/js) are listed as packages of their own, as
setuptools wants for data folders.

The front-end libraries (socket.io-client) come from npm, never from git: a wheel build copies the
files tether/web/vendor.py lists from node_modules/ into the package's static/vendor/, so a
pip-installed panel can connect. An editable install serves them from node_modules/ in place.
"""
import runpy
import shutil
from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup
from setuptools.command.build_py import build_py
from setuptools.errors import FileError

ASSETS = {"tether.static": "static", "tether.templates": "templates"}
ASSET_PACKAGES = [
    f"{package}.{sub}" if sub else package
    for package, folder in ASSETS.items()
    for sub in ["", *find_namespace_packages(folder)]
]
HERE = Path(__file__).resolve().parent


class BuildPyWithVendor(build_py):
    """build_py, then the npm libraries into the built package (a missing one stops the build)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        vendor = runpy.run_path(str(HERE / "tether" / "web" / "vendor.py"))
        target = Path(self.build_lib) / "tether" / "static" / "vendor"
        target.mkdir(parents=True, exist_ok=True)
        for name, relative in vendor["FILES"].items():
            source = HERE / "node_modules" / relative
            if not source.is_file():
                raise FileError(f"node_modules/{relative} is missing: run `npm ci` (or `make setup`) before building")
            shutil.copyfile(source, target / name)


setup(
    packages=find_packages(include=["tether", "tether.*"]) + ASSET_PACKAGES,
    package_dir=ASSETS,
    # the living picture's page (tether/engine/living.py) is a resource of its package
    package_data={**{name: ["*"] for name in ASSET_PACKAGES}, "tether.engine": ["*.html"]},
    cmdclass={"build_py": BuildPyWithVendor},
)
