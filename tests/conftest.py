"""Fixtures shared by every test: an isolated home, data dir and config, and the real CLI; and a check
that the run leaves nothing in the system temp directory."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: The temp folder this run owns, in the environment so xdist workers and subprocesses share it.
RUN_TEMP = "TETHER_TESTS_TMPDIR"
run_temp_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Point TMPDIR (this process, xdist workers, servers, Chromium) at a fresh folder of this run's own,
    so what the tests and the code under test leave behind is told apart from other runs on the machine.
    pytest's own basetemp stays in the system temp dir, where it keeps the last runs for inspection."""
    if os.environ.get(RUN_TEMP):  # an xdist worker: the controller made the folder and checks it
        return
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix="tether-tests-"))
    folder.chmod(0o711)  # tests that drop root to `nobody` must reach the files they make below it
    os.environ[RUN_TEMP] = os.environ["TMPDIR"] = tempfile.tempdir = str(folder)
    config.stash[run_temp_key] = folder


@pytest.hookimpl(trylast=True)  # after the session's fixtures (servers, the browser) are torn down
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run when it left files or folders in its temp folder; then remove the folder."""
    folder = session.config.stash.get(run_temp_key, None)
    if folder is None:
        return
    left = sorted(entry.name for entry in folder.iterdir())
    shutil.rmtree(folder, ignore_errors=True)
    if not left:
        return
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # the progress line is still open
        reporter.write_sep("=", "temporary files left behind", red=True)
        reporter.write_line(f"left in TMPDIR by the tests or the code they ran: {', '.join(left)}", red=True)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME (libgphoto2 writes a GUID under ~/.config/gphoto) and XDG dirs at a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("TETHER_CONFIG", raising=False)
    return home


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def run_tether(*args: str, check: bool = False, timeout: float = 120, env: dict[str, str] | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``tether`` command in a subprocess, as a user would."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "tether", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(name="run_tether")
def run_tether_fixture():
    """The ``run_tether`` helper as a fixture."""
    return run_tether


@pytest.fixture
def ipv6_port() -> int:
    """A free port on the IPv6 loopback ::1; the test is skipped on a machine without one."""
    with socket.socket(socket.AF_INET6) as sock:
        try:
            sock.bind(("::1", 0))
        except OSError:
            pytest.skip("this machine has no IPv6 loopback")
        return int(sock.getsockname()[1])
