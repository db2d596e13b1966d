"""Validates the reference harness: runs archs.py's models on every golden in shared/goldens and
checks max |Δ| against the official PyTorch outputs stored there (tolerance 1e-5).

Usage: scripts/torch_ref/.venv/bin/python scripts/torch_ref/check_goldens.py [--tol 1e-5]
Exit status 1 if any golden is off or missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=Path, default=archs.assets_dir())
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    torch.set_num_threads(2)

    goldens = sorted((args.assets / "goldens").glob("*.safetensors"))
    if not goldens:
        print(f"no goldens under {args.assets / 'goldens'}", file=sys.stderr)
        return 1
    models: dict[str, torch.nn.Module] = {}
    failed = 0
    for path in goldens:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            t = {k: f.get_tensor(k) for k in f.keys()}
        name = meta["model"]
        if name not in models:
            models[name] = archs.load_model(name, args.assets / "models")
        model = models[name]
        with torch.inference_mode():
            if "img0" in t:
                scale_list = json.loads(meta["scale_list"])
                merged, flow, mask = model(
                    torch.cat((t["img0"], t["img1"]), 1), timestep=float(meta["timestep"]), scale_list=scale_list
                )
                got = {"output": merged, "flow": flow, "mask": mask}
            else:
                got = {"output": model(t["input"])}
        deltas = {k: (v - t[k]).abs().max().item() for k, v in got.items()}
        ok = all(d < args.tol for d in deltas.values())
        failed += not ok
        shown = ", ".join(f"{k} max|Δ| {d:.3g}" for k, d in deltas.items())
        print(f"{'ok  ' if ok else 'FAIL'} {path.name}: {shown}")
    print(f"{len(goldens) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
