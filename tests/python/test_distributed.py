"""``upframe.distributed`` on a real Ray cluster on this machine: a local ``ray.init`` with 2 CPUs,
and a cluster of a ``ray start --head`` node plus a worker node joining it. The distributed
output equals the one-machine output frame for frame (ffmpeg ``framemd5``) with the same audio
packets, for Lanczos, realesr-animevideov3 and RIFE ×2 across chunk edges; a worker process
killed (SIGKILL) while its chunk runs is retried by Ray and the job ends with the same result.
Needs the optional extra ``ray`` (``pip install .[ray]``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import upframe

from conftest import asset

ray = pytest.importorskip("ray", reason="the optional extra `ray` is not installed")

import upframe.distributed as dist  # noqa: E402

LANCZOS = dict(model="lanczos", scale=2, duration=4, preset="ultrafast", segment_frames=10)


def framemd5(path: Path, stream: str, copy: bool):
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", stream]
    if copy:
        cmd += ["-c", "copy"]
    out = subprocess.run(cmd + ["-f", "framemd5", "-"], capture_output=True, check=True)
    return [
        ",".join(f.strip() for f in line.split(","))
        for line in out.stdout.decode().splitlines()
        if line and not line.startswith("#")
    ]


def assert_same(got: Path, reference: Path):
    want = framemd5(reference, "0:v", False)
    assert framemd5(got, "0:v", False) == want, "decoded frames differ from the one-machine run"
    assert len(want) > 0
    audio = framemd5(reference, "0:a", True)
    assert audio, "the reference has no audio"
    assert framemd5(got, "0:a", True) == audio, "audio packets differ from the one-machine run"


@pytest.fixture(scope="module")
def chaplin() -> Path:
    if shutil.which("ffmpeg") is None:
        if os.environ.get("CI"):
            pytest.fail("the ffmpeg CLI is missing (CI is set)")
        pytest.skip("the ffmpeg CLI is missing")
    return asset("media/video/chaplin.mp4")


@pytest.fixture(scope="module")
def lanczos_reference(chaplin, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ref.mkv"
    upframe.upscale(chaplin, out, **LANCZOS)
    return out


@pytest.fixture
def local_ray():
    """A local Ray of 2 CPUs, shut down afterwards."""
    if ray.is_initialized():
        ray.shutdown()
    # "local": a new cluster even if a `ray start` one runs on this machine.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_local_ray_lanczos_equals_one_machine(chaplin, lanczos_reference, tmp_path, local_ray):
    calls = []
    out = tmp_path / "out.mkv"
    result = dist.upscale(
        chaplin, out, chunks=4, progress=lambda d, t: calls.append((d, t)), **LANCZOS
    )
    assert result["chunks"] == 3 or result["chunks"] == 4, result
    assert result["frames_out"] == 100
    assert_same(out, lanczos_reference)
    assert calls[0] == (0, 100) and calls[-1] == (100, 100), calls
    # Nothing but the output is left beside it (plan file and work directory removed).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mkv"]


def test_local_ray_realesrgan_equals_one_machine(chaplin, tmp_path, local_ray):
    asset("models/realesr-animevideov3.pth")
    job = dict(model="realesr-animevideov3", scale=2, frames=12, preset="ultrafast", segment_frames=3)
    reference = tmp_path / "ref.mkv"
    upframe.upscale(chaplin, reference, **job)
    out = tmp_path / "out.mkv"
    dist.upscale(chaplin, out, chunks=3, **job)
    assert_same(out, reference)


def test_local_ray_interpolate_across_chunk_edges(tmp_path, local_ray):
    clip = asset("media/video/Megamind.avi")
    model = asset("models/rife-v4.25-or-v4.26/flownet.pkl")
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg CLI is missing")
    # 5-frame segments: the chunk edges fall on the interpolated frame inside a pair.
    job = dict(model=str(model), factor=2, frames=20, preset="ultrafast", segment_frames=5)
    reference = tmp_path / "ref.mkv"
    upframe.interpolate(clip, reference, **job)
    out = tmp_path / "out.mkv"
    result = dist.interpolate(clip, out, chunks=3, **job)
    assert result["frames_out"] == 40
    assert_same(out, reference)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_start(args, log: Path) -> subprocess.Popen:
    """`ray start ... --block` as a child process (stopped by its pid)."""
    ray_bin = Path(sys.executable).with_name("ray")
    # Ray 2.60's `ray start --head` turns on token authentication unless RAY_AUTH_MODE says
    # otherwise, while clients default to no token: this test's cluster runs without one.
    env = dict(os.environ, RAY_AUTH_MODE="disabled")
    return subprocess.Popen(
        [str(ray_bin), "start", "--block", "--disable-usage-stats", *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def stop(proc: subprocess.Popen):
    """SIGTERM to the `ray start --block` process group we started (it stops its node)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_head_plus_worker_node_cluster(chaplin, lanczos_reference, tmp_path):
    if ray.is_initialized():
        ray.shutdown()
    port = free_port()
    address = f"{ray.util.get_node_ip_address()}:{port}"
    head = ray_start(
        ["--head", f"--port={port}", "--num-cpus=1", "--include-dashboard=false"],
        tmp_path / "head.log",
    )
    worker = None
    try:
        deadline = time.monotonic() + 90
        while True:
            probe = subprocess.run(
                [str(Path(sys.executable).with_name("ray")), "status", f"--address={address}"],
                capture_output=True,
                env=dict(os.environ, RAY_AUTH_MODE="disabled"),
            )
            if probe.returncode == 0:
                break
            assert head.poll() is None, (tmp_path / "head.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "head.log").read_text()
            time.sleep(1)
        worker = ray_start(
            [f"--address={address}", "--num-cpus=1"],
            tmp_path / "worker.log",
        )
        ray.init(address=address, log_to_driver=False)
        deadline = time.monotonic() + 90
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(1)
        out = tmp_path / "out.mkv"
        result = dist.upscale(chaplin, out, chunks=4, **LANCZOS)
        assert_same(out, lanczos_reference)
        assert result["frames_out"] == 100
    finally:
        if ray.is_initialized():
            ray.shutdown()
        if worker is not None:
            stop(worker)
        stop(head)
        # The head leaves its address for `ray.init()` to find; it is gone now.
        current = Path("/tmp/ray/ray_current_cluster")
        if current.is_file() and current.read_text().strip() == address:
            current.unlink()


def chunk_workers():
    """Pids of the processes running a chunk task (Ray titles them ray::upframe_chunk)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"ray::upframe_chunk" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_killed_worker_chunk_is_redone(chaplin, lanczos_reference, tmp_path, local_ray):
    killed = []
    stop_looking = threading.Event()

    def killer():
        # SIGKILL the first chunk worker seen, 0.3 s into its chunk.
        while not stop_looking.is_set():
            pids = chunk_workers()
            if pids:
                time.sleep(0.3)
                try:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                except ProcessLookupError:
                    continue
                return
            time.sleep(0.01)

    t = threading.Thread(target=killer)
    t.start()
    out = tmp_path / "out.mkv"
    try:
        result = dist.upscale(chaplin, out, chunks=4, max_retries=3, **LANCZOS)
    finally:
        stop_looking.set()
        t.join()
    assert killed, "no chunk worker was seen to kill"
    assert result["frames_out"] == 100
    assert_same(out, lanczos_reference)
