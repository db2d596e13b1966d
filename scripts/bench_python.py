"""Benchmarks of the Python package (run by hand, never in CI; figures go in the closing note of
issue #12). Two measurements:

``enhance``: ``RealESRGANer.enhance`` per frame on one BGR frame (default: a 640×360 frame of
``media/video/chaplin.mp4``), upframe's ``upframe.compat.RealESRGANer`` against the official
class (xinntao/Real-ESRGAN ``realesrgan/utils.py``, PyTorch CPU, fp32) with the harness's
SRVGGNetCompact (``scripts/torch_ref/archs.py``), the same weights, ``tile=0, tile_pad=10,
pre_pad=0``, the same number of threads (``torch.set_num_threads`` / ``RAYON_NUM_THREADS``).
The two run alternately, after warm-up, and the medians are compared; the outputs too.

    python scripts/bench_python.py enhance --official-dir DIR [--threads 2] [--runs 7]

``DIR`` holds the official ``realesrgan/utils.py`` (with an ``__init__.py`` importing
RealESRGANer) and, when the ``basicsr`` package is not installed, a ``basicsr/utils/
download_util.py`` defining ``load_file_from_url`` (imported by utils.py, unused for local
files). The venv needs torch, opencv-python-headless and upframe.

``job``: the Python layer's overhead over the CLI for the same video job: ``upframe upscale``
(the binary given by ``--cli``) against ``upframe.upscale(...)`` with the same options,
alternately, medians of the wall times.

    python scripts/bench_python.py job --cli target/release/upframe [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("UPFRAME_ASSETS", REPO.parent / "shared"))


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_enhance(args: argparse.Namespace) -> None:
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)  # before upframe starts its pool
    import cv2
    import numpy as np
    import torch

    sys.path.insert(0, str(Path(args.official_dir).resolve()))
    sys.path.insert(0, str(REPO / "scripts" / "torch_ref"))
    import archs  # the harness's official architectures
    from realesrgan import RealESRGANer as OfficialRealESRGANer

    import upframe
    from upframe.compat import RealESRGANer

    torch.set_num_threads(args.threads)
    weights = str(ASSETS / "models" / "realesr-animevideov3.pth")
    if args.frame:
        img = cv2.imread(args.frame, cv2.IMREAD_UNCHANGED)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            png = os.path.join(tmp, "frame.png")
            subprocess.run(
                ["ffmpeg", "-loglevel", "error", "-i", str(ASSETS / "media/video/chaplin.mp4"),
                 "-vf", r"select=eq(n\,120)", "-frames:v", "1", png],
                check=True,
            )
            img = cv2.imread(png, cv2.IMREAD_UNCHANGED)
    settings = dict(scale=4, model_path=weights, tile=0, tile_pad=10, pre_pad=0, half=False)
    official = OfficialRealESRGANer(
        model=archs.build("realesr-animevideov3"), device=torch.device("cpu"), **settings
    )
    ours = RealESRGANer(**settings)
    outscale = args.outscale
    runs = {"official": [], "upframe": []}
    outputs = {}
    for name, up in (("official", official), ("upframe", ours)):
        for _ in range(args.warmup):
            outputs[name] = up.enhance(img, outscale=outscale)[0]
    for _ in range(args.runs):
        for name, up in (("official", official), ("upframe", ours)):
            start = time.perf_counter()
            up.enhance(img, outscale=outscale)
            runs[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in runs.items()}
    diff = np.abs(outputs["official"].astype(int) - outputs["upframe"].astype(int))
    print(f"frame {img.shape[1]}x{img.shape[0]} BGR uint8, outscale {outscale}, "
          f"{args.threads} threads, torch {torch.__version__}, upframe {upframe.__version__}")
    for k, v in runs.items():
        print(f"  {k:8s}: median {med[k] * 1000:8.1f} ms/frame  "
              f"(runs: {', '.join(f'{x * 1000:.0f}' for x in v)})")
    print(f"  upframe is {med['official'] / med['upframe']:.2f}x the official's speed; "
          f"outputs: {np.mean(diff == 0):.4%} equal, max diff {diff.max()}")
    print(f"  load average: {load_average()}")


def bench_job(args: argparse.Namespace) -> None:
    import upframe

    clip = str(ASSETS / "media" / "video" / args.clip)
    options = dict(scale=args.scale, frames=args.frames, overwrite=True)
    cli_args = ["--scale", str(args.scale), "--frames", str(args.frames), "--overwrite",
                "--quiet"]
    times = {"cli": [], "python": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.mkv")
        for i in range(args.runs + 1):
            start = time.perf_counter()
            subprocess.run([args.cli, "upscale", "-i", clip, "-o", out, *cli_args], check=True)
            cli = time.perf_counter() - start
            start = time.perf_counter()
            upframe.upscale(clip, out, progress=lambda d, t: None, **options)
            py = time.perf_counter() - start
            if i > 0:  # the first pair warms the page cache and the model file
                times["cli"].append(cli)
                times["python"].append(py)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"upscale {args.clip} --scale {args.scale} --frames {args.frames}:")
    for k, v in times.items():
        print(f"  {k:6s}: median {med[k]:7.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")
    print(f"  Python layer overhead: {(med['python'] / med['cli'] - 1) * 100:+.1f} %")
    print(f"  load average: {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    e = sub.add_parser("enhance")
    e.add_argument("--official-dir", required=True)
    e.add_argument("--frame", default=None, help="a BGR image (default: chaplin.mp4 frame 120)")
    e.add_argument("--threads", type=int, default=os.cpu_count())
    e.add_argument("--runs", type=int, default=7)
    e.add_argument("--warmup", type=int, default=1)
    e.add_argument("--outscale", type=float, default=None)
    j = sub.add_parser("job")
    j.add_argument("--cli", required=True, help="the upframe binary")
    j.add_argument("--clip", default="chaplin.mp4")
    j.add_argument("--scale", type=float, default=2)
    j.add_argument("--frames", type=int, default=48)
    j.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bench_enhance(args) if args.what == "enhance" else bench_job(args)


if __name__ == "__main__":
    main()
