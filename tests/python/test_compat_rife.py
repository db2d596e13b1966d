"""``upframe.compat.Model`` (Practical-RIFE's ``Model``) on the Vimeo-90K triplet "eggs":
im1 + im3 → the middle frame, against the official PyTorch output
(``goldens/pipeline/eggs_mid_pytorch.png``: v4.25/v4.26 weights, Practical-RIFE's padding,
scale 1, timestep 0.5) and the true middle frame im2, with the criteria of
crates/pipeline/tests/rife_eggs.rs (≥ 99.9 % of values within one level of PyTorch's, PSNR
≥ 31.6 dB against im2; PyTorch's is 31.657 dB)."""

from __future__ import annotations

import numpy as np
import pytest

import upframe
from upframe.compat import Model

from conftest import asset


def to_nchw(rgb: np.ndarray) -> np.ndarray:
    """What Practical-RIFE feeds the model: (1, 3, H, W) float32 in [0, 1]."""
    return (rgb.transpose(2, 0, 1)[None].astype(np.float32)) / 255.0


def to_u8(nchw: np.ndarray) -> np.ndarray:
    return np.clip(np.round(nchw[0].transpose(1, 2, 0) * 255), 0, 255).astype(np.int64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


@pytest.fixture(scope="module")
def eggs():
    folder = asset("media/interp/vimeo90k_triplet_eggs")
    return [upframe.read_image(folder / f"im{i}.png") for i in (1, 2, 3)]


@pytest.fixture(scope="module")
def model(rife_dir):
    m = Model()
    assert m.version >= 3.9  # read before load_model by Practical-RIFE's scripts
    m.load_model(str(rife_dir), -1)
    m.eval()
    m.device()
    return m


def test_inference_matches_pytorch_and_ground_truth(eggs, model):
    im1, im2, im3 = eggs
    golden = upframe.read_image(asset("goldens/pipeline/eggs_mid_pytorch.png")).astype(np.int64)
    assert model.version == 4.25
    mid = model.inference(to_nchw(im1), to_nchw(im3), 0.5, 1.0)
    assert mid.shape == (1, 3, 256, 448) and mid.dtype == np.float32
    out = to_u8(mid)
    within = float(np.mean(np.abs(out - golden) <= 1))
    quality = psnr(out, im2)
    print(f"eggs: {within:.4%} within 1 level of PyTorch, PSNR vs im2 {quality:.3f} dB")
    assert within >= 0.999
    assert quality >= 31.6


def test_padded_input_gives_the_same_frame(eggs, model):
    # Practical-RIFE pads to a multiple of 128 (448×256 → 512×256) before inference.
    im1, _, im3 = eggs
    a, b = to_nchw(im1), to_nchw(im3)
    pad = ((0, 0), (0, 0), (0, 0), (0, 64))
    padded = model.inference(np.pad(a, pad), np.pad(b, pad), timestep=0.5, scale=1.0)
    assert padded.shape == (1, 3, 256, 512)
    plain = model.inference(a, b)
    np.testing.assert_allclose(padded[..., :448], plain, atol=1e-6)


def test_chw_timesteps_and_errors(eggs, model):
    im1, _, im3 = eggs
    a, b = to_nchw(im1)[0], to_nchw(im3)[0]
    near0 = model.inference(a, b, timestep=0.125)
    near1 = model.inference(a, b, timestep=0.875)
    assert near0.shape == a.shape
    # Closer in time is closer in pixels.
    assert np.abs(near0 - a).mean() < np.abs(near0 - b).mean()
    assert np.abs(near1 - b).mean() < np.abs(near1 - a).mean()
    with pytest.raises(upframe.InputError):
        model.inference(a[:2], b[:2])
    with pytest.raises(upframe.ModelError):
        Model().inference(a, b)
