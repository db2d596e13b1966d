"""``upframe.compat.RealESRGANer.enhance`` against the official class's outputs in
``goldens/pipeline`` (realesr-animevideov3; BGR, BGRA, 16-bit BGRA, gray; tile 0/64; pre_pad
0/10; outscale 4/2/3.5), with the criteria of the Rust parity test
(crates/pipeline/tests/realesrgan_parity.rs): at the network's scale ≥ 99.9 % of values equal
and none more than 2 levels off; after the Lanczos outscale ≥ 99 % within 1 level and none more
than 4 off (levels of 255, or the same fraction of 65535)."""

from __future__ import annotations

import numpy as np
import pytest

import upframe
from upframe.compat import RealESRGANer

from conftest import asset

RGB = "goldens/pipeline/0030.decoded.png"
GRAY = "goldens/pipeline/wolf_gray.decoded.png"
RGBA = "media/sr/realesrgan_inputs/children-alpha.png"
RGBA16 = "media/sr/realesrgan_inputs/tree_alpha_16bit.png"

CASES = [
    # golden, input, tile, pre_pad, outscale, img_mode
    ("0030__t0_pre0_out4.png", RGB, 0, 0, 4, "RGB"),
    ("0030__t0_pre10_out4.png", RGB, 0, 10, 4, "RGB"),
    ("0030__t64_pad10_pre0_out4.png", RGB, 64, 0, 4, "RGB"),
    ("0030__t0_pre0_out2.png", RGB, 0, 0, 2, "RGB"),
    ("0030__t0_pre0_out3.5.png", RGB, 0, 0, 3.5, "RGB"),
    ("wolf_gray__t0_pre0_out4.png", GRAY, 0, 0, 4, "L"),
    ("wolf_gray__t0_pre10_out4.png", GRAY, 0, 10, 4, "L"),
    ("wolf_gray__t64_pad10_pre0_out4.png", GRAY, 64, 0, 4, "L"),
    ("wolf_gray__t0_pre0_out2.png", GRAY, 0, 0, 2, "L"),
    ("wolf_gray__t0_pre0_out3.5.png", GRAY, 0, 0, 3.5, "L"),
    ("children-alpha__t0_pre0_out4.png", RGBA, 0, 0, 4, "RGBA"),
    ("children-alpha__t0_pre0_out2.png", RGBA, 0, 0, 2, "RGBA"),
    ("tree_alpha_16bit__t0_pre0_out2.png", RGBA16, 0, 0, 2, "RGBA"),
]

_UPSAMPLERS: dict = {}


def upsampler(model, tile: int, pre_pad: int) -> RealESRGANer:
    key = (tile, pre_pad)
    if key not in _UPSAMPLERS:
        _UPSAMPLERS[key] = RealESRGANer(
            scale=4, model_path=str(model), tile=tile, tile_pad=10, pre_pad=pre_pad
        )
    return _UPSAMPLERS[key]


@pytest.mark.parametrize("golden,source,tile,pre_pad,outscale,mode", CASES)
def test_enhance_matches_official(animevideov3, golden, source, tile, pre_pad, outscale, mode):
    # cv2.imread(path, cv2.IMREAD_UNCHANGED) order: BGR(A), gray as HW.
    img = upframe.read_image(asset(source), channel_order="bgr")
    expected = upframe.read_image(asset(f"goldens/pipeline/{golden}"), channel_order="bgr")
    out, img_mode = upsampler(animevideov3, tile, pre_pad).enhance(img, outscale=outscale)
    assert img_mode == mode
    assert out.dtype == expected.dtype and out.shape == expected.shape, (out.dtype, out.shape)
    unit = 1 if out.dtype == np.uint8 else 257
    diff = np.abs(out.astype(np.int64) - expected.astype(np.int64))
    equal = float(np.mean(diff == 0))
    within1 = float(np.mean(diff <= unit))
    print(f"{golden}: equal {equal:.5%} within 1 {within1:.5%} max {diff.max()}")
    if outscale == 4:
        assert equal >= 0.999, f"only {equal:.4%} equal"
        assert diff.max() <= 2 * unit
    else:
        assert within1 >= 0.99, f"only {within1:.4%} within 1 level"
        assert diff.max() <= 4 * unit


def _resize_linear_reference(alpha: np.ndarray, scale: int) -> np.ndarray:
    """cv2.resize(alpha, (w·s, h·s), INTER_LINEAR) in float: half-pixel centres, edge clamp."""
    h, w = alpha.shape

    def axis(n_in: int):
        x = (np.arange(n_in * scale) + 0.5) / scale - 0.5
        x0 = np.floor(x)
        f = x - x0
        i0 = np.clip(x0, 0, n_in - 1).astype(int)
        i1 = np.clip(x0 + 1, 0, n_in - 1).astype(int)
        f = np.where(x < 0, 0.0, f)
        return i0, i1, f

    y0, y1, fy = axis(h)
    x0, x1, fx = axis(w)
    rows = alpha[y0] * (1 - fy)[:, None] + alpha[y1] * fy[:, None]
    return rows[:, x0] * (1 - fx) + rows[:, x1] * fx


def test_alpha_upsampler_other_than_realesrgan_resizes_alpha_linearly(animevideov3):
    img = upframe.read_image(asset(RGBA), channel_order="bgr")[:96, :128]
    up = upsampler(animevideov3, 0, 0)
    net, _ = up.enhance(img, alpha_upsampler="realesrgan")
    lin, mode = up.enhance(img, alpha_upsampler="bilinear")
    assert mode == "RGBA" and lin.shape == (384, 512, 4) and lin.dtype == np.uint8
    # Colour is the network's either way; alpha is INTER_LINEAR of the float alpha.
    np.testing.assert_array_equal(lin[..., :3], net[..., :3])
    ref = np.round(_resize_linear_reference(img[..., 3].astype(np.float64) / 255, 4) * 255)
    assert np.abs(lin[..., 3].astype(int) - ref.astype(int)).max() <= 1


def test_uint16_image_with_small_values_is_read_as_8_bit(animevideov3):
    # np.max(img) <= 256: the official class divides by 255 and returns uint8.
    img8 = upframe.read_image(asset(RGB), channel_order="bgr")[:48, :40]
    up = upsampler(animevideov3, 0, 0)
    out8, _ = up.enhance(img8)
    out16, _ = up.enhance(img8.astype(np.uint16))
    assert out16.dtype == np.uint8
    np.testing.assert_array_equal(out16, out8)
    # Any numeric dtype is read as float32, like img.astype(np.float32).
    outf, _ = up.enhance(img8.astype(np.float64))
    np.testing.assert_array_equal(outf, out8)


def test_constructor_checks(animevideov3):
    with pytest.raises(upframe.OptionError, match="x4"):
        RealESRGANer(scale=2, model_path=str(animevideov3))
    with pytest.raises(upframe.ModelError):
        RealESRGANer(scale=4, model_path="/nonexistent/weights.pth")
    with pytest.warns(UserWarning, match="ignores `model`"):
        RealESRGANer._model_note_shown = False
        RealESRGANer(scale=4, model_path=str(animevideov3), model=object())
    up = RealESRGANer(scale=4, model_path=str(animevideov3), half=True, device="cuda")
    assert (up.scale, up.tile_size, up.tile_pad, up.pre_pad) == (4, 0, 10, 10)
    with pytest.raises(upframe.InputError, match="gray"):
        up.enhance(np.zeros((8, 8, 2), np.uint8))


def test_dni_of_a_file_with_itself_is_the_file(animevideov3):
    img = upframe.read_image(asset(RGB), channel_order="bgr")[:32, :32]
    plain = RealESRGANer(scale=4, model_path=str(animevideov3), pre_pad=0)
    dni = RealESRGANer(
        scale=4,
        model_path=[str(animevideov3), str(animevideov3)],
        dni_weight=[0.25, 0.75],
        pre_pad=0,
    )
    a, _ = plain.enhance(img)
    b, _ = dni.enhance(img)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    with pytest.raises(upframe.OptionError, match="sum to 1"):
        RealESRGANer(scale=4, model_path=[str(animevideov3)] * 2, dni_weight=[0.5, 0.6])
