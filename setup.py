"""Package layout that pyproject.toml cannot express on its own.

static/ and templates/ live at the top level where readers look for them; the
build maps them into the package as ``tether.static`` and ``tether.templates`` so
a wheel, not only an editable install, carries them.
"""
from setuptools import find_packages, setup

ASSETS = {"tether.static": "static", "tether.templates": "templates"}

setup(
    packages=find_packages(include=["tether", "tether.*"]) + list(ASSETS),
    package_dir=ASSETS,
    package_data={name: ["**/*"] for name in ASSETS},
)
