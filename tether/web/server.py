"""``tether serve``: build the engine, the app, and run them until Ctrl-C."""
from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from typing import Any

import click

import tether
from tether.config import Settings, bare_host, host_port, is_loopback_host
from tether.engine import Engine
from tether.errors import TetherError
from tether.events import EventBus
from tether.logfile import log_to_data_dir
from tether.web import vendor
from tether.web.app import create_app, shutdown_app
from tether.web.security import MIN_TOKEN_LENGTH, new_token
from tether.web.serving import PooledWSGIServer

log = logging.getLogger(__name__)


class ServerError(TetherError):
    """The control panel cannot start (the port is taken, the address is not this machine's, ...)."""


def access_url(host: str, port: int, token: str) -> str:
    """The URL to open; with the token for non-loopback binds."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host_port(shown, port)}/" + (f"?token={token}" if token else "")


def listen_host(host: str) -> str:
    """:func:`tether.config.bare_host`, with ServerError for what is no host at all."""
    try:
        return bare_host(host)
    except ValueError:
        raise ServerError(f"cannot listen on {host}: not a host name or address",
                          hint="give the port with --port, and an IPv6 address as ::1 or [::1]") from None


def check_can_listen(host: str, port: int) -> None:
    """A one-line error now, rather than Werkzeug's exit after the camera was opened."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((host, port))
        except socket.gaierror as exc:  # a name that does not resolve: no other tether is in the way
            raise ServerError(f"cannot listen on {host}: no such host name or address on this machine",
                              hint=f"{exc.strerror}; give one such as 127.0.0.1, 0.0.0.0 or [::1]") from None
        except OSError as exc:
            raise ServerError(f"cannot listen on {host_port(host, port)}: {exc.strerror or exc}",
                              hint="is another tether running? choose another --port") from None


def stopping_message(jobs: list[dict[str, Any]]) -> str:
    """What Ctrl-C (or SIGTERM) stops, said before the cameras are closed: the jobs still running or queued (the
    engine's list holds the cameras' sweeps too)."""
    busy = [job["label"] for job in jobs if job["state"] in ("queued", "running")]
    if not busy:
        return "Stopping."
    return (f"Stopping: {', '.join(busy)} stopped here (a sweep keeps the frames it took; run a stack or an "
            "export again after the restart).")


def _stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker, kill) stops like Ctrl-C: cameras closed, sweeps ended cleanly."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def run_server(settings: Settings, *, camera_id: str, simulated: bool) -> None:
    """Serve the control panel for ``camera_id`` on settings.server.host:port (blocks)."""
    host, port = listen_host(settings.server.host), settings.server.port
    check_can_listen(host, port)
    if simulated:  # said once the server can start: a bind failure is then the only line
        click.echo("No camera attached: using the simulated camera 'sim:macro'.")
    if missing := vendor.missing():  # else every page would say "connecting..." forever
        raise ServerError(f"the control panel's front-end library {missing[0]} is missing",
                          hint="run `npm ci` (or `make setup`) in the source checkout, then build the wheel again")
    # Werkzeug logs every request at INFO (a live view is many requests): keep only its errors
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    simulated_camera = camera_id.split(":", 1)[0].split("?", 1)[0] == "sim"
    # a configured token is always enforced; beyond loopback one is generated if none is configured
    token = settings.server.token or ("" if is_loopback_host(host) else new_token())
    bus, pool = EventBus(), None
    if settings.cluster.broker:  # stacks, exports and refocus maps go to the workers (tether worker)
        from tether.cluster.pool import ClusterPool

        pool = ClusterPool(bus, settings)
    log_to_data_dir(settings.data_dir)
    log.info("tether %s serving %s on %s%s", tether.__version__, camera_id, host_port(host, port),
             " (no camera attached: simulated)" if simulated else "")
    engine = Engine(settings, camera_id=camera_id, simulated=simulated_camera, fallback=simulated, bus=bus,
                    pool=pool).start()
    app = create_app(engine, settings, token=token)
    click.echo(f"tether control panel: {access_url(host, port, token)}")
    if token and len(token) < MIN_TOKEN_LENGTH:
        # warned, not refused: a service configured so must not stop (and restart in a loop) after an
        # upgrade; the warning in its log says what to change
        click.echo(f"warning: the configured token is too short to be safe ({len(token)} of at least "
                   f"{MIN_TOKEN_LENGTH} characters); make one with "
                   "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'",
                   err=True)
    if not is_loopback_host(host):
        click.echo("Listening beyond this machine: the token in that URL is required; keep it private.")
    sys.stdout.flush()
    _stop_on_sigterm()
    try:
        # returns on Ctrl-C or SIGTERM (Werkzeug's loop takes the KeyboardInterrupt)
        PooledWSGIServer(host, port, app, capturing=engine.capturing).serve_forever()
        click.echo(stopping_message([job.to_dict() for job in engine.pool.jobs()]), err=True)
    finally:
        shutdown_app(app)
        engine.close()
        log.info("stopped")
