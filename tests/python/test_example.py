"""The seed-style processors in ``examples/python``: the native path writes what upframe
computes, the factory's switch picks the path, and the comparison script runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import upframe

from conftest import REPO, asset

sys.path.insert(0, str(REPO / "examples" / "python"))

import processors  # noqa: E402


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Three real 48×40 frames (crops of the eggs triplet) as PNG files."""
    folder = tmp_path_factory.mktemp("frames")
    eggs = asset("media/interp/vimeo90k_triplet_eggs")
    paths = []
    for i in (1, 2, 3):
        img = upframe.read_image(eggs / f"im{i}.png")[100:140, 200:248]
        path = folder / f"{i:04d}.png"
        upframe.write_image(path, img)
        paths.append(str(path))
    return paths


def test_native_upscaler_processor_writes_realesrganer_output(animevideov3, frames, tmp_path):
    factory = processors.ProcessorFactory(model_path=str(animevideov3))
    native = factory.create_upscaler(use_native=True)
    written = native.process(frames, str(tmp_path / "up"), {"outscale": 2})
    assert [p.rsplit("/", 1)[-1] for p in written] == ["0001.png", "0002.png", "0003.png"]
    out = upframe.read_image(written[0])
    assert out.shape == (80, 96, 3)
    expected = upframe.Upscaler(str(animevideov3), scale=2)(upframe.read_image(frames[0]))
    np.testing.assert_array_equal(out, expected)


def test_native_interpolator_processor_and_the_switch(rife_dir, frames, tmp_path):
    factory = processors.ProcessorFactory(rife_model=str(rife_dir))
    written = factory.create_interpolator(use_native=True).process(
        frames, str(tmp_path / "x2"), {"multi": 2}
    )
    assert len(written) == 5
    assert isinstance(factory.create_upscaler(use_native=False), processors.ScriptUpscaler)
    with pytest.raises(RuntimeError, match="UPSCALE_COMMAND"):
        factory.create_upscaler(use_native=False).process(frames, str(tmp_path / "s"), {})


def test_compare_paths_script_runs_both_paths(animevideov3, frames, tmp_path):
    # The "old path" here is a command that writes PNGs from a folder of frames, as the
    # users' shell scripts do; it is upframe again, so the two paths must agree exactly.
    legacy = (
        f"{sys.executable} -c \"import sys, os, upframe; "
        f"up = upframe.Upscaler({str(animevideov3)!r}); "
        "[upframe.write_image(os.path.join(sys.argv[2], os.path.splitext(f)[0] + '.png'), "
        "up(upframe.read_image(os.path.join(sys.argv[1], f)))) "
        "for f in sorted(os.listdir(sys.argv[1]))]\" {input} {output}"
    )
    result = subprocess.run(
        [sys.executable, str(REPO / "examples/python/compare_paths.py"), "-i",
         str(frames[0]).rsplit("/", 1)[0], "-o", str(tmp_path / "cmp"), "--model",
         str(animevideov3), "--legacy-command", legacy],
        capture_output=True, text=True, check=True,
    )
    assert "realesrgan-native: 3 frames" in result.stdout, result.stdout
    assert "realesrgan-script: 3 frames" in result.stdout, result.stdout
    assert result.stdout.count("max diff 0") == 3, result.stdout
