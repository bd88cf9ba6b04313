"""``tether serve --host`` as a user types it: an IPv6 address in brackets works, and what is no host is one
line naming it, before anything else is printed."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.mark.parametrize(("host", "problem"), [
    ("0.0.0.0:80", "not a host name or address"),  # the port given with the host
    ("no-such-host.invalid", "no such host name or address on this machine"),
])
def test_a_host_that_cannot_be_listened_on_is_one_line(run_tether, tmp_path: Path, host: str, problem: str) -> None:
    result = run_tether("--data-dir", str(tmp_path), "serve", "--host", host, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"tether: cannot listen on {host}: {problem}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and "another tether" not in result.stderr, result.stderr
    assert result.stdout == ""  # not "No camera attached: using the simulated camera" first


def test_an_ipv6_host_in_brackets_is_served(tmp_path: Path, ipv6_port: int) -> None:
    port = ipv6_port
    config = tmp_path / "config.toml"
    config.write_text("[sim]\nliveview_width = 160\nliveview_height = 120\nliveview_fps = 5\n")
    command = [sys.executable, "-m", "tether", "--config", str(config), "--data-dir", str(tmp_path / "data"),
               "serve", "--camera", "sim:macro", "--host", "[::1]", "--port", str(port)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=dict(os.environ, PYTHONUNBUFFERED="1")) as process:
        try:
            line = process.stdout.readline()
            served = line.startswith("tether control panel") and answers(port)
        finally:
            process.send_signal(signal.SIGTERM)
            rest = process.communicate(timeout=20)[0]
    assert line == f"tether control panel: http://[::1]:{port}/\n", line + rest
    assert served and process.returncode == 0, line + rest  # it listened, and SIGTERM stopped it cleanly
    logged = (tmp_path / "data" / "logs" / "tether.log").read_text(encoding="utf-8")
    assert f"serving sim:macro on [::1]:{port}" in logged, logged  # as a URL writes it, not ::1:8420


def answers(port: int) -> bool:
    """True once something accepts connections on [::1]:``port`` (the server starts a moment after its URL)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET6) as sock:
            if sock.connect_ex(("::1", port)) == 0:
                return True
        time.sleep(0.1)
    return False
