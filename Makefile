# The two commands: `make serve` and `make test`. Each sets up .venv on first use from the
# hashed lock requirements.lock (and again only when the lock or the project's files change), then runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every Python package, pinned with its hashes; `make lock` refreshes it, `make test-latest` tries
# the newest releases pyproject.toml allows in a separate .venv-latest.
LOCK   := requirements.lock
LATEST := .venv-latest
# pip-compile's options, one place: hashes, pip/setuptools/wheel pinned too, no index or machine paths.
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --extra test \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host
# Front-end libraries (socket.io-client) for the control panel: npm installs them into node_modules/.
NPM_STAMP := node_modules/.package-lock.json
PYTEST_ARGS ?=
# options of `tether serve` for `make serve`: SERVE_ARGS="--port 8500" (see `tether serve --help`)
SERVE_ARGS ?=
# libgphoto2 for real cameras: auto (the system build when present), wheel, or system; unset =
# the [gphoto] library setting. `make serve GPHOTO2=system` builds python-gphoto2 against the OS
# libgphoto2 first (see README).
GPHOTO2 ?=
SYSTEM_GPHOTO2 := .gphoto2-system
SYSTEM_STAMP := $(SYSTEM_GPHOTO2)/.built

.PHONY: serve test test-latest lock setup setup-system clean debian-serve debian-test

# Debian packages pip cannot install (python3-venv, npm; for the tests also chromium, libgphoto2-dev, pkg-config):
# installed with apt-get when missing, so the two commands are all the set-up a machine needs.
debian-serve:
	@PYTHON=$(PYTHON) scripts/debian-packages serve

debian-test:
	@PYTHON=$(PYTHON) scripts/debian-packages test

serve: debian-serve $(STAMP) $(NPM_STAMP) $(if $(filter system,$(GPHOTO2)),$(SYSTEM_STAMP))
	$(if $(GPHOTO2),TETHER_GPHOTO2=$(GPHOTO2) )$(BIN)/tether serve $(SERVE_ARGS)

test: debian-test $(STAMP) $(NPM_STAMP) $(SYSTEM_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP) $(NPM_STAMP)

# A new .venv each time the lock changes, so nothing that left the lock stays installed. The build
# of tether itself uses the locked setuptools (no build isolation, which would fetch the newest).
$(STAMP): $(LOCK) pyproject.toml setup.py
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Re-resolve the lock: keeps every pin pyproject.toml still allows and adds what is new;
# `make lock UPGRADE=1` moves every package to its newest allowed release (then run make test).
lock: $(STAMP)
	$(BIN)/pip-compile $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o $(LOCK) pyproject.toml

# The suite against the newest releases pyproject.toml allows, in .venv-latest: how an upgrade is
# tried before `make lock UPGRADE=1` makes it the tested set. Not part of CI. The lock check is
# skipped there, since this environment is meant to differ from the lock.
test-latest: debian-test $(NPM_STAMP) $(SYSTEM_STAMP)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(LATEST)/bin/python -m pip install --quiet --upgrade -e '.[test]'
	$(LATEST)/bin/python -m pip list --format=freeze
	TETHER_UNLOCKED=1 $(LATEST)/bin/python -m pytest $(PYTEST_ARGS)

$(NPM_STAMP): package.json package-lock.json | debian-serve
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

setup-system: $(SYSTEM_STAMP)

# python-gphoto2 (same version as in .venv) compiled against the distribution's libgphoto2;
# built once (~15 s), the supervised camera process puts it first on its path.
$(SYSTEM_STAMP): | $(STAMP) debian-test
	@pkg-config --exists libgphoto2 || { echo "needs libgphoto2-dev and pkg-config (apt-get install libgphoto2-dev pkg-config)"; exit 1; }
	rm -rf $(SYSTEM_GPHOTO2)
	grep -A 999 '^gphoto2==' $(LOCK) | sed '/^[a-z]/{/^gphoto2==/!Q}' > $(VENV)/gphoto2.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --require-hashes --no-binary gphoto2 \
		--target $(SYSTEM_GPHOTO2) -r $(VENV)/gphoto2.lock
	touch $(SYSTEM_STAMP)

clean:
	rm -rf $(VENV) $(LATEST) build dist *.egg-info node_modules $(SYSTEM_GPHOTO2)
