# The two commands: `make serve` and `make test`. Each sets up .venv on first use
# (and again only when the project's dependencies change), then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Front-end libraries (socket.io-client) for the control panel: npm installs them into node_modules/.
NPM_STAMP := node_modules/.package-lock.json
PYTEST_ARGS ?=
# libgphoto2 for real cameras: auto (the system build when present), wheel, or system; unset =
# the [gphoto] library setting. `make serve GPHOTO2=system` builds python-gphoto2 against the OS
# libgphoto2 first (see README).
GPHOTO2 ?=
SYSTEM_GPHOTO2 := .gphoto2-system
SYSTEM_STAMP := $(SYSTEM_GPHOTO2)/.built

.PHONY: serve test setup setup-system clean debian-serve debian-test

# Debian packages pip cannot install (python3-venv, npm; for the tests also chromium, libgphoto2-dev, pkg-config):
# installed with apt-get when missing, so the two commands are all the set-up a machine needs.
debian-serve:
	@PYTHON=$(PYTHON) scripts/debian-packages serve

debian-test:
	@PYTHON=$(PYTHON) scripts/debian-packages test

serve: debian-serve $(STAMP) $(NPM_STAMP) $(if $(filter system,$(GPHOTO2)),$(SYSTEM_STAMP))
	$(if $(GPHOTO2),TETHER_GPHOTO2=$(GPHOTO2) )$(BIN)/tether serve

test: debian-test $(STAMP) $(NPM_STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(NPM_STAMP): package.json package-lock.json | debian-serve
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup-system: $(SYSTEM_STAMP)

# python-gphoto2 (same version as in .venv) compiled against the distribution's libgphoto2;
# built once (~15 s), the supervised camera process puts it first on its path.
$(SYSTEM_STAMP): | $(STAMP) debian-test
	@pkg-config --exists libgphoto2 || { echo "needs libgphoto2-dev and pkg-config (apt-get install libgphoto2-dev pkg-config)"; exit 1; }
	rm -rf $(SYSTEM_GPHOTO2)
	$(BIN)/python -m pip install --quiet --no-deps --no-binary gphoto2 --target $(SYSTEM_GPHOTO2) \
		"gphoto2==$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("gphoto2"))')"
	touch $(SYSTEM_STAMP)

clean:
	rm -rf $(VENV) build dist *.egg-info node_modules $(SYSTEM_GPHOTO2)
