"""Runs the old (script) path and the native (upframe) path on the same frames and compares.

    python examples/python/compare_paths.py -i frames/ -o out/ [--use-native-processors]
        [--model realesr-animevideov3.pth] [--outscale 2] [--interpolate --multi 2]
        [--legacy-command "bash upscale.sh {input} {output}"]

With ``--use-native-processors`` only the native path runs. Otherwise the script path runs too
when a legacy command is given (``--legacy-command`` or ``$UPSCALE_COMMAND`` /
``$INTERPOLATE_COMMAND``), and the two outputs are compared frame by frame (max difference and
PSNR) with the time each path took.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import upframe  # noqa: E402
from processors import ProcessorFactory  # noqa: E402

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    peak = 65535.0 if a.dtype == np.uint16 else 255.0
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-i", "--input", required=True, help="folder of frames")
    parser.add_argument("-o", "--output", required=True, help="output folder")
    parser.add_argument("--use-native-processors", action="store_true")
    parser.add_argument("--model", default="realesr-animevideov3")
    parser.add_argument("--rife-model", default="rife-v4.26")
    parser.add_argument("--outscale", type=float, default=None)
    parser.add_argument("--interpolate", action="store_true", help="RIFE instead of Real-ESRGAN")
    parser.add_argument("--multi", type=int, default=2)
    parser.add_argument("--legacy-command", default=None)
    args = parser.parse_args()

    frames = sorted(
        str(p) for p in Path(args.input).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not frames:
        print(f"no frames in {args.input}", file=sys.stderr)
        return 1
    factory = ProcessorFactory(model_path=args.model, rife_model=args.rife_model)
    create = factory.create_interpolator if args.interpolate else factory.create_upscaler
    options = {"outscale": args.outscale, "multi": args.multi, "command": args.legacy_command}

    paths = {}
    runs = [True]
    legacy_env = "INTERPOLATE_COMMAND" if args.interpolate else "UPSCALE_COMMAND"
    if not args.use_native_processors and (args.legacy_command or os.environ.get(legacy_env)):
        runs.append(False)
    for native in runs:
        processor = create(use_native=native)
        out_dir = str(Path(args.output) / ("native" if native else "script"))
        start = time.perf_counter()
        paths[native] = processor.process(frames, out_dir, options)
        took = time.perf_counter() - start
        print(f"{processor.name}: {len(paths[native])} frames in {took:.2f} s -> {out_dir}")

    if False in paths:
        for a, b in zip(paths[True], paths[False]):
            x, y = upframe.read_image(a), upframe.read_image(b)
            if x.shape != y.shape:
                print(f"{Path(a).name}: shapes differ {x.shape} vs {y.shape}")
                continue
            diff = np.abs(x.astype(np.int64) - y.astype(np.int64)).max()
            print(f"{Path(a).name}: max diff {diff}, PSNR {psnr(x, y):.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
