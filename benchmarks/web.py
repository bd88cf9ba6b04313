"""Control panel benchmark: MJPEG fan-out, server memory over time, and the server time of a refocus tap.

    .venv/bin/python benchmarks/web.py [--seconds 8] [--runs 3] [--memory-seconds 60] [--clients 1,5,20]

Starts a real ``tether serve`` on the simulated camera at 1920x1080 and 30 fps (a temporary config and
data folder), then:

1. MJPEG: N clients (1, 5, 20) read ``/api/cameras/sim:macro/live.mjpg`` at once for --seconds; prints
   the median over --runs runs of each client's frame rate (median and slowest client) against the
   camera's rate measured by the server in the same run (target: >= 25 fps to each of 5 clients).
2. Memory: the server's resident memory, sampled every 2 s while 5 clients watch for --memory-seconds
   (the issue's target is flat over 5 minutes: pass --memory-seconds 300 for the full run).
3. Refocus: a 30-frame sweep through the REST API, its focus index, then 300 taps at random points;
   prints the server's own time per tap (``Server-Timing``; target <= 20 ms) against the bare
   ``FocusIndex.refocus`` call in this process (the reference) and the HTTP round trip.
4. Sweep under load (``--parts sweep``): a 91-frame live-view sweep through the REST API, alone,
   then while 20 API clients (``--api-clients``) call the endpoints a panel and scripts use, as
   fast as they are answered, and 10 MJPEG viewers watch; prints the sweep's rate against the camera's
   (the sweep alone, and the configured rate; target: >= 90 % under load) and the requests' latency.
   The sweeps of every load are taken in turn within each run, so a busy moment of the machine hits all.

With two or more cores the server runs on one (``taskset -c 1``) and this process, the clients, on the
other, in every part: the load competes for the server's core only through the server.

The clients run in this process (threads; socket reads release the GIL); the server is a separate process.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

BOUNDARY = b"--tetherframe\r\n"
CAMERA = "sim:macro"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: The cores this benchmark may use, read before it pins itself to one of them.
CORES = sorted(os.sched_getaffinity(0))


def pinned() -> bool:
    """Whether the server and the load generator get a core each (two cores or more, and taskset)."""
    return len(CORES) >= 2 and shutil.which("taskset") is not None


def start_server(base: Path, width: int, height: int, fps: float) -> tuple[subprocess.Popen[bytes], str]:
    config = base / "config.toml"
    config.write_text(f"[sim]\nliveview_width = {width}\nliveview_height = {height}\nliveview_fps = {fps}\n")
    port = free_port()
    env = dict(os.environ, HOME=str(base), XDG_CONFIG_HOME=str(base / "config"), XDG_DATA_HOME=str(base / "share"))
    # the server on the second core; this process (the clients) pins itself to the first in main()
    taskset = ["taskset", "-c", str(CORES[1])] if pinned() else []
    with open(base / "server.log", "wb") as log:  # the server keeps its own copy of the descriptor
        process = subprocess.Popen(
            [*taskset, sys.executable, "-m", "tether", "--config", str(config), "--data-dir", str(base / "data"),
             "serve", "--camera", CAMERA, "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(f"{url}/api/state", timeout=1).ok:
                return process, url
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not start:\n{(base / 'server.log').read_text()}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class MjpegClient(threading.Thread):
    """Reads the MJPEG stream over a raw socket and counts frames (boundaries) after a warm-up."""

    def __init__(self, host: str, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.host, self.port, self.stop = host, port, stop
        self.frames = 0
        self.counting = threading.Event()

    def run(self) -> None:
        with socket.create_connection((self.host, self.port)) as sock:
            sock.sendall(
                f"GET /api/cameras/{CAMERA}/live.mjpg HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()
            )
            buf = bytearray(1 << 20)
            view = memoryview(buf)
            tail = b""
            while not self.stop.is_set():
                n = sock.recv_into(view)
                if not n:
                    break
                chunk = tail + bytes(view[:n])
                if self.counting.is_set():
                    self.frames += chunk.count(BOUNDARY)
                tail = chunk[-(len(BOUNDARY) - 1) :]


def camera_fps(url: str) -> float:
    """The live-view rate the server's owner reports (frames it got from the camera per second)."""
    state = requests.get(f"{url}/api/state", timeout=5).json()
    for cam in state.get("cameras", []):
        for key in ("fps", "liveview_fps"):
            if isinstance(cam.get(key), (int, float)) and cam[key] > 0:
                return float(cam[key])
    return float("nan")


def mjpeg_run(url: str, clients: int, seconds: float) -> tuple[list[float], float]:
    host, port = url.removeprefix("http://").split(":")
    stop = threading.Event()
    threads = [MjpegClient(host, int(port), stop) for _ in range(clients)]
    for t in threads:
        t.start()
    time.sleep(1.5)  # connect and reach steady state
    for t in threads:
        t.counting.set()
    start = time.perf_counter()
    time.sleep(seconds)
    counts = [t.frames for t in threads]
    elapsed = time.perf_counter() - start
    ref = camera_fps(url)
    stop.set()
    for t in threads:
        t.join(timeout=3)
    return [c / elapsed for c in counts], ref


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_run(url: str, pid: int, seconds: float) -> list[tuple[float, float]]:
    host, port = url.removeprefix("http://").split(":")
    stop = threading.Event()
    threads = [MjpegClient(host, int(port), stop) for _ in range(5)]
    for t in threads:
        t.start()
    samples = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        samples.append((time.monotonic() - start, rss_mb(pid)))
        time.sleep(2)
    stop.set()
    for t in threads:
        t.join(timeout=3)
    return samples


def wait_job(session: requests.Session, url: str, job: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = session.get(f"{url}/api/jobs/{job}", timeout=30).json()  # waits its turn behind a loaded API
        if state.get("state") in ("done", "error", "cancelled"):
            return state
        time.sleep(0.2)
    raise SystemExit(f"job {job} did not finish")


def refocus_run(url: str, data_dir: Path, taps: int) -> dict[str, float]:
    session = requests.Session()
    started = session.post(f"{url}/api/cameras/{CAMERA}/sweep", json={"frames": 30}, timeout=10)
    started.raise_for_status()
    burst = started.json()["burst"]
    sweep = wait_job(session, url, started.json()["job"])
    if sweep["state"] != "done":
        raise SystemExit(f"the sweep failed: {sweep}")
    time.sleep(0.5)
    prepared = session.post(f"{url}/api/bursts/{burst}/refocus-map", timeout=10).json()
    if not prepared.get("ready"):
        wait_job(session, url, prepared["job"])
    rng = random.Random(1)
    server, round_trip = [], []
    for _ in range(taps):
        x, y = rng.random(), rng.random()
        t0 = time.perf_counter()
        response = session.get(
            f"{url}/api/bursts/{burst}/refocus", params={"x": f"{x:.4f}", "y": f"{y:.4f}"}, timeout=5
        )
        round_trip.append((time.perf_counter() - t0) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["Server-Timing"].split("dur=")[1]))
    # reference: the bare index lookup in this process, on the same focus index
    from tether.burst import open_burst
    from tether.imaging import FOCUS_INDEX_NAME, FocusIndex

    with open_burst(data_dir / "bursts" / f"{burst}.burst") as reader:
        index = FocusIndex.from_bytes(reader.derived(FOCUS_INDEX_NAME))
    h, w = index.shape
    bare = []
    for _ in range(taps):
        x, y = rng.random() * (w - 1), rng.random() * (h - 1)
        t0 = time.perf_counter()
        index.refocus(x, y)
        bare.append((time.perf_counter() - t0) * 1000)
    return {"server": server, "round_trip": round_trip, "bare": bare, "frames": index.frame_count, "size": f"{w}x{h}"}


#: What the API clients ask for, in turn: the cheap state endpoints a panel or script polls ...
CHEAP = ("/api/state", "/api/jobs", "/api/cameras")
#: ... and with them the gallery, a burst's details and images, and the latest live-view frame.
MIXED = (*CHEAP, "/api/bursts", "/api/bursts/{burst}", "/api/bursts/{burst}/thumbnail.jpg",
         "/api/bursts/{burst}/frames/3.jpg?reduce=4", "/api/exports", f"/api/cameras/{CAMERA}/live.jpg")
SWEEP = {"range": [20, 200], "step": "small", "step_count": 2}  # 91 frames, as benchmarks/sweep.py


class ApiClient(threading.Thread):
    """Calls ``paths`` in turn, each as soon as the previous answer arrived; records each latency."""

    def __init__(self, url: str, paths: list[str], stop: threading.Event, offset: int) -> None:
        super().__init__(daemon=True)
        self.url, self.paths, self.stop, self.offset = url, paths, stop, offset
        self.latencies: list[float] = []
        self.failures = 0

    def run(self) -> None:
        session = requests.Session()
        i = self.offset
        while not self.stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                ok = session.get(self.url + path, timeout=30).ok
            except requests.RequestException:
                ok = False
            self.latencies.append((time.perf_counter() - t0) * 1000)
            self.failures += not ok


def sweep_rate(session: requests.Session, url: str) -> float:
    started = session.post(f"{url}/api/cameras/{CAMERA}/sweep", json=SWEEP, timeout=30)
    started.raise_for_status()
    result = wait_job(session, url, started.json()["job"])
    if result["state"] != "done":
        raise SystemExit(f"the sweep failed: {result}")
    return float(result["result"]["fps"])


def loaded_sweep(url: str, paths: list[str], clients: int, viewers: int) -> tuple[float, list[float], int]:
    """One sweep's rate while ``clients`` API clients call ``paths`` and ``viewers`` watch the live view."""
    host, port = url.removeprefix("http://").split(":")
    stop = threading.Event()
    watchers = [MjpegClient(host, int(port), stop) for _ in range(viewers)]
    callers = [ApiClient(url, paths, stop, k) for k in range(clients)]
    for t in (*watchers, *callers):
        t.start()
    if watchers or callers:
        time.sleep(1.0)  # every client connected and busy before the sweep starts
    try:
        fps = sweep_rate(requests.Session(), url)
    finally:
        stop.set()
        for t in (*watchers, *callers):
            t.join(timeout=30)
    latencies = [ms for c in callers for ms in c.latencies]
    return fps, latencies, sum(c.failures for c in callers)


def sweep_load_report(url: str, runs: int, clients: int, viewers: int, camera: float) -> None:
    session = requests.Session()
    sweep_rate(session, url)  # the first sweep's burst gives the burst endpoints something to serve
    burst = session.get(f"{url}/api/bursts", timeout=10).json()[0]["id"]
    mixed = [p.format(burst=burst) for p in MIXED]
    loads = [("none", [], 0, 0), (f"{viewers} MJPEG viewers", [], 0, viewers),
             (f"{clients} API clients, state/jobs/cameras", list(CHEAP), clients, 0),
             (f"{clients} API clients, all + {viewers} viewers", mixed, clients, viewers)]
    rates: list[list[float]] = [[] for _ in loads]
    latencies: list[list[float]] = [[] for _ in loads]
    seconds, failures = [0.0] * len(loads), [0] * len(loads)
    for _ in range(runs):  # the loads in turn within each run, so a busy moment of the machine hits them all
        for k, (_, paths, n, v) in enumerate(loads):
            t0 = time.perf_counter()
            fps, lat, failed = loaded_sweep(url, paths, n, v)
            seconds[k] += time.perf_counter() - t0
            rates[k].append(fps)
            latencies[k] += lat
            failures[k] += failed
    print(f"\nlive-view sweep of {CAMERA} ({SWEEP['range'][0]}..{SWEEP['range'][1]} steps), medians of {runs} runs"
          f"{'; server on one core, clients on the other' if pinned() else ''}:")
    print(f"{'load':>40}  {'sweep fps':>9}  {'of alone':>8}  {'of camera':>9}  {'requests/s':>10}  "
          f"{'p50 ms':>7}  {'p95 ms':>7}  {'max ms':>7}")
    alone = statistics.median(rates[0])
    for k, (label, *_) in enumerate(loads):
        fps, lat = statistics.median(rates[k]), latencies[k]
        cells = (f"{len(lat) / seconds[k]:>10.0f}  {statistics.median(lat):>7.1f}  "
                 f"{pct(lat, 0.95):>7.1f}  {max(lat):>7.0f}") if lat else ""
        print(f"{label:>40}  {fps:>9.2f}  {fps / alone:>8.0%}  {fps / camera:>9.0%}  {cells}"
              + (f"  ({failures[k]} failed)" if failures[k] else ""))

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per MJPEG run")
    parser.add_argument("--runs", type=int, default=3, help="runs per client count (median reported)")
    parser.add_argument("--clients", default="1,5,20", help="client counts")
    parser.add_argument("--memory-seconds", type=float, default=60.0, help="length of the memory run (300 = 5 minutes)")
    parser.add_argument("--taps", type=int, default=300)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--parts", default="mjpeg,memory,refocus,sweep", help="which measurements to run")
    parser.add_argument("--api-clients", type=int, default=20, help="API clients during the loaded sweeps")
    parser.add_argument("--viewers", type=int, default=10, help="MJPEG viewers during the loaded sweeps")
    args = parser.parse_args()
    if pinned():  # the load generator on the first core, the server (start_server) on the second
        os.sched_setaffinity(0, {CORES[0]})

    with tempfile.TemporaryDirectory(prefix="tether-bench-web-", dir=".") as tmp:
        base = Path(tmp)
        process, url = start_server(base, args.width, args.height, args.fps)
        try:
            print(
                f"tether serve on {CAMERA} at {args.width}x{args.height}, {args.fps:g} fps; "
                f"{args.runs} runs x {args.seconds:g} s per client count\n"
            )
            parts = set(args.parts.split(","))
            if "mjpeg" in parts:
                mjpeg_table(url, args)
            if "memory" in parts:
                memory_report(url, process.pid, args.memory_seconds)
            if "refocus" in parts:
                refocus_report(url, base / "data", args.taps)
            if "sweep" in parts:
                sweep_load_report(url, args.runs, args.api_clients, args.viewers, args.fps)
        finally:
            stop_server(process)


def mjpeg_table(url: str, args: argparse.Namespace) -> None:
    print(
        f"{'clients':>7}  {'median client fps':>17}  {'slowest client fps':>18}  {'camera fps':>10}  "
        f"{'slowest/camera':>14}"
    )
    for n in [int(c) for c in args.clients.split(",")]:
        medians, slowest, refs = [], [], []
        for _ in range(args.runs):
            rates, ref = mjpeg_run(url, n, args.seconds)
            medians.append(statistics.median(rates))
            slowest.append(min(rates))
            refs.append(ref)
        med, low, ref = statistics.median(medians), statistics.median(slowest), statistics.median(refs)
        print(f"{n:>7}  {med:>17.1f}  {low:>18.1f}  {ref:>10.1f}  {low / ref:>13.0%}")


def memory_report(url: str, pid: int, seconds: float) -> None:
    samples = memory_run(url, pid, seconds)
    warm = [mb for t, mb in samples if t >= min(10.0, seconds / 3)] or [mb for _, mb in samples]
    minutes = max(1e-9, (samples[-1][0] - samples[0][0]) / 60)
    print(
        f"\nserver memory with 5 clients over {seconds:g} s (RSS, MB): "
        f"start {samples[0][1]:.1f}, after warm-up {warm[0]:.1f}, end {samples[-1][1]:.1f}, "
        f"max {max(mb for _, mb in samples):.1f}; "
        f"growth after warm-up {(warm[-1] - warm[0]) / minutes:+.2f} MB/min"
    )


def refocus_report(url: str, data_dir: Path, taps: int) -> None:
    tap = refocus_run(url, data_dir, taps)
    print(f"\nrefocus tap on a {tap['frames']}-frame {tap['size']} burst, {taps} taps (ms):")
    print(f"{'':>24}  {'median':>8}  {'p95':>8}")
    for label, key in (
        ("server time (target<=20)", "server"),
        ("bare index lookup (ref)", "bare"),
        ("HTTP round trip", "round_trip"),
    ):
        print(f"{label:>24}  {statistics.median(tap[key]):>8.3f}  {pct(tap[key], 0.95):>8.3f}")
    print(f"{'server / reference':>24}  {statistics.median(tap['server']) / statistics.median(tap['bare']):>7.1f}x")


if __name__ == "__main__":
    main()
