"""``tether serve`` as a user runs it: the printed URL (with a generated token beyond loopback), a busy port."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def test_busy_port_is_one_line_error(run_tether, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_tether(
            "--data-dir", str(tmp_path), "serve", "--camera", "sim:macro", "--port", str(port), timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"tether: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(is another tether running? choose another --port)"
    )


def test_generated_token_is_printed_and_required(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[sim]\nliveview_width = 160\nliveview_height = 120\nliveview_fps = 5\n")
    port = free_port("127.0.0.2")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tether",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "data"),
            "serve",
            "--camera",
            "sim:macro",
            "--host",
            "127.0.0.2",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.2:(\d+)/\?token=([A-Za-z0-9_-]{20,})", line)
        assert match, line
        token = match.group(2)
        assert "token in that URL is required" in process.stdout.readline()
        url = f"http://127.0.0.2:{port}/api/state"
        deadline = time.monotonic() + 20
        while True:
            try:
                refused = requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert refused.status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert requests.get(url, headers=auth, timeout=5).status_code == 200
        sweep = requests.post(f"http://127.0.0.2:{port}/api/cameras/sim:macro/sweep", headers=auth, timeout=10,
                              json={"range": [30, 230], "frames": 200})
        assert sweep.status_code == 202, sweep.text
    finally:
        process.send_signal(signal.SIGTERM)
        said = process.communicate(timeout=30)[0]
    assert process.returncode == 0  # SIGTERM (like Ctrl-C) is a clean stop
    # the terminal says what the stop interrupted
    assert "Stopping: Sweep stopped here (a sweep keeps the frames it took" in said, said
    assert "INFO" not in said, said  # information lines go to the log file only
    # what happened is kept in the data folder's log (information lines the terminal does not show), not the token
    logged = (tmp_path / "data" / "logs" / "tether.log").read_text(encoding="utf-8")
    assert f"serving sim:macro on 127.0.0.2:{port}" in logged and logged.rstrip().endswith("stopped"), logged
    assert token not in logged, logged
