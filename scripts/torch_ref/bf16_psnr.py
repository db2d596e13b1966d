"""PyTorch's own bf16 quality on the crops `crates/pipeline/tests/bf16_quality.rs` uses: each
model's output under torch.autocast("cpu", dtype=torch.bfloat16) (channels_last) against its
fp32 output, both clamped to [0, 1] and quantised to 8 bits, PSNR over all values. The test's
bars come from these figures (upframe bf16 must stay within 0.5 dB of them).

Usage: .venv/bin/python bf16_psnr.py
"""
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import archs  # noqa: E402
import make_rife40_goldens  # noqa: E402

CASES = [("realesr-animevideov3", 64), ("RealESRGAN_x4plus_anime_6B", 40), ("RealESRGAN_x4plus", 32)]
PHOTOS = ["comic.png", "baboon.png"]


def load_crop(path: Path, edge: int) -> torch.Tensor:
    img = make_rife40_goldens.decode_png(path).astype(np.float32) / 255.0
    h, w, _ = img.shape
    y0, x0 = h // 3, w // 3
    crop = img[y0 : y0 + edge, x0 : x0 + edge]
    return torch.from_numpy(crop).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_u8(t: torch.Tensor) -> np.ndarray:
    return (t.float().clamp(0, 1) * 255.0).round().numpy().astype(np.int32)


def main() -> int:
    torch.set_num_threads(2)
    sr = archs.assets_dir() / "media" / "sr" / "Set14"
    for name, edge in CASES:
        model = archs.load_model(name).to(memory_format=torch.channels_last)
        for photo in PHOTOS:
            x = load_crop(sr / photo, edge).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                ref = model(x)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    low = model(x)
            mse = float(np.mean((to_u8(ref) - to_u8(low)) ** 2))
            db = 10 * math.log10(255.0**2 / mse) if mse > 0 else float("inf")
            print(f"{name} {photo} {edge}x{edge}: PyTorch bf16 vs fp32 {db:.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
