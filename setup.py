"""Package layout that pyproject.toml cannot express on its own.

static/ and templates/ live at the top level where readers look for them; the
build maps them into the package as ``tether.static`` and ``tether.templates`` so
a wheel, not only an editable install, carries them. Their subfolders (static/css,
static/js) are listed as packages of their own, as setuptools wants for data folders.
"""
from setuptools import find_namespace_packages, find_packages, setup

ASSETS = {"tether.static": "static", "tether.templates": "templates"}
ASSET_PACKAGES = [
    f"{package}.{sub}" if sub else package
    for package, folder in ASSETS.items()
    for sub in ["", *find_namespace_packages(folder)]
]

setup(
    packages=find_packages(include=["tether", "tether.*"]) + ASSET_PACKAGES,
    package_dir=ASSETS,
    package_data={name: ["*"] for name in ASSET_PACKAGES},
)
