"""PyTorch reference architectures for upframe's benchmarks and parity checks.

Written for this project following the structure and state-dict key names of the official code
(Real-ESRGAN ``srvgg_arch.SRVGGNetCompact``, BasicSR ``rrdbnet_arch.RRDBNet``, Practical-RIFE
``IFNet_HDv3`` for 4.25/4.26) so that the official weights load with ``strict=True``. Also owns
weight loading from ``shared/models``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[2]


def assets_dir() -> Path:
    """``$UPFRAME_ASSETS`` or ``../shared`` next to the repository, as the Rust tests resolve it."""
    env = os.environ.get("UPFRAME_ASSETS")
    return Path(env) if env else (REPO_ROOT.parent / "shared")


# ---------------------------------------------------------------------------------------------
# Real-ESRGAN SRVGGNetCompact (realesr-animevideov3, realesr-general-x4v3)
# ---------------------------------------------------------------------------------------------


class SRVGGNetCompact(nn.Module):
    """Plain VGG-style body at input resolution, pixel-shuffle upsampling, nearest-upsampled skip."""

    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=16, upscale=4, act_type="prelu"):
        super().__init__()
        self.upscale = upscale

        def activation() -> nn.Module:
            if act_type == "relu":
                return nn.ReLU(inplace=True)
            if act_type == "prelu":
                return nn.PReLU(num_parameters=num_feat)
            if act_type == "leakyrelu":
                return nn.LeakyReLU(negative_slope=0.1, inplace=True)
            raise ValueError(f"unknown activation {act_type!r}")

        # Layer order fixes the state-dict indices body.0 .. body.{2*num_conv+2}.
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), activation()]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), activation()]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


# ---------------------------------------------------------------------------------------------
# BasicSR RRDBNet (RealESRGAN_x4plus, RealESRGAN_x4plus_anime_6B)
# ---------------------------------------------------------------------------------------------


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs, residual scaled by 0.2."""

    def __init__(self, num_feat=64, num_grow_ch=32):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Three residual dense blocks, outer residual scaled by 0.2."""

    def __init__(self, num_feat, num_grow_ch=32):
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN generator; x2/x1 variants pixel-unshuffle the input first, as BasicSR does."""

    def __init__(self, num_in_ch=3, num_out_ch=3, scale=4, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        if scale == 2:
            num_in_ch *= 4
        elif scale == 1:
            num_in_ch *= 16
        self.conv_first = nn.Conv2d(num_in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 2:
            feat = F.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            feat = F.pixel_unshuffle(x, 4)
        else:
            feat = x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


# ---------------------------------------------------------------------------------------------
# Practical-RIFE IFNet 4.25 / 4.26
# ---------------------------------------------------------------------------------------------

_warp_grids: dict[tuple, torch.Tensor] = {}


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp by a pixel flow: bilinear grid_sample, border padding, align_corners=True."""
    n, _, h, w = flow.shape
    key = (str(flow.device), flow.dtype, n, h, w)
    grid = _warp_grids.get(key)
    if grid is None:
        xs = torch.linspace(-1.0, 1.0, w, device=flow.device, dtype=flow.dtype).view(1, 1, 1, w).expand(n, -1, h, -1)
        ys = torch.linspace(-1.0, 1.0, h, device=flow.device, dtype=flow.dtype).view(1, 1, h, 1).expand(n, -1, -1, w)
        grid = torch.cat((xs, ys), 1)
        _warp_grids[key] = grid
    # Pixel displacements to the [-1, 1] normalised coordinates of the image being sampled.
    norm = torch.cat(
        (flow[:, 0:1] / ((img.shape[3] - 1.0) / 2.0), flow[:, 1:2] / ((img.shape[2] - 1.0) / 2.0)), 1
    )
    g = (grid + norm).permute(0, 2, 3, 1)
    return F.grid_sample(img, g, mode="bilinear", padding_mode="border", align_corners=True)


def _conv_lrelu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(0.2, True))


class Head(nn.Module):
    """Per-frame feature encoder: 4 channels at full resolution."""

    def __init__(self):
        super().__init__()
        self.cnn0 = nn.Conv2d(3, 16, 3, 2, 1)
        self.cnn1 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn2 = nn.Conv2d(16, 16, 3, 1, 1)
        self.cnn3 = nn.ConvTranspose2d(16, 4, 4, 2, 1)
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.cnn0(x))
        x = self.relu(self.cnn1(x))
        x = self.relu(self.cnn2(x))
        return self.cnn3(x)


class ResConv(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)
        self.beta = nn.Parameter(torch.ones((1, c, 1, 1)))
        self.relu = nn.LeakyReLU(0.2, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x) * self.beta + x)


class IFBlock(nn.Module):
    """One coarse-to-fine flow stage working at 1/(4*scale) resolution."""

    def __init__(self, in_planes: int, c: int):
        super().__init__()
        self.conv0 = nn.Sequential(_conv_lrelu(in_planes, c // 2, 2), _conv_lrelu(c // 2, c, 2))
        self.convblock = nn.Sequential(*[ResConv(c) for _ in range(8)])
        # 13 = flow (4) + mask (1) + feature (8), before the pixel shuffle.
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(c, 4 * 13, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x, flow=None, scale=1.0):
        x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        feat = self.convblock(self.conv0(x))
        tmp = self.lastconv(feat)
        tmp = F.interpolate(tmp, scale_factor=scale, mode="bilinear", align_corners=False)
        return tmp[:, :4] * scale, tmp[:, 4:5], tmp[:, 5:]


class IFNet(nn.Module):
    """RIFE 4.25/4.26 flow network; ``forward`` returns (merged, flow, mask_logits).

    Like the official ``IFNet.forward`` (whose ``mask_list[4]`` is taken before the sigmoid), the
    returned mask is the last block's raw logit; ``merged`` blends with its sigmoid."""

    def __init__(self):
        super().__init__()
        self.block0 = IFBlock(3 + 3 + 4 + 4 + 1, c=192)
        self.block1 = IFBlock(6 + 8 + 1 + 1 + 8 + 4, c=128)
        self.block2 = IFBlock(6 + 8 + 1 + 1 + 8 + 4, c=96)
        self.block3 = IFBlock(6 + 8 + 1 + 1 + 8 + 4, c=64)
        self.block4 = IFBlock(6 + 8 + 1 + 1 + 8 + 4, c=32)
        self.encode = Head()

    def forward(self, x: torch.Tensor, timestep: float = 0.5, scale_list=(16, 8, 4, 2, 1)):
        img0, img1 = x[:, :3], x[:, 3:6]
        t = torch.full_like(x[:, :1], timestep)
        f0 = self.encode(img0)
        f1 = self.encode(img1)
        blocks = [self.block0, self.block1, self.block2, self.block3, self.block4]
        flow = mask = feat = None
        warped0, warped1 = img0, img1
        for block, scale in zip(blocks, scale_list):
            if flow is None:
                flow, mask, feat = block(torch.cat((img0, img1, f0, f1, t), 1), None, scale=scale)
            else:
                wf0 = warp(f0, flow[:, :2])
                wf1 = warp(f1, flow[:, 2:4])
                fd, mask, feat = block(torch.cat((warped0, warped1, wf0, wf1, t, mask, feat), 1), flow, scale=scale)
                flow = flow + fd
            warped0 = warp(img0, flow[:, :2])
            warped1 = warp(img1, flow[:, 2:4])
        weight0 = torch.sigmoid(mask)
        merged = warped0 * weight0 + warped1 * (1 - weight0)
        return merged, flow, mask


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Official checkpoint → plain state dict: unwraps params/params_ema, strips ``module.``,
    drops RIFE's training-only ``teacher.*`` / ``caltime.*``."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    if "params_ema" in sd:
        sd = sd["params_ema"]
    elif "params" in sd:
        sd = sd["params"]
    out = {}
    for k, v in sd.items():
        k = k.removeprefix("module.")
        if k.startswith(("teacher.", "caltime.")):
            continue
        out[k] = v
    return out


MODEL_FILES = {
    "realesr-animevideov3": "realesr-animevideov3.pth",
    "RealESRGAN_x4plus": "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
    "RealESRGAN_x4plus_anime_6B": "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
    "rife-v4.25-or-v4.26": "rife-v4.25-or-v4.26/flownet.pkl",
}


def build(name: str) -> nn.Module:
    if name == "realesr-animevideov3":
        return SRVGGNetCompact(3, 3, num_feat=64, num_conv=16, upscale=4, act_type="prelu")
    if name == "RealESRGAN_x4plus":
        return RRDBNet(3, 3, scale=4, num_feat=64, num_block=23, num_grow_ch=32)
    if name == "RealESRGAN_x4plus_anime_6B":
        return RRDBNet(3, 3, scale=4, num_feat=64, num_block=6, num_grow_ch=32)
    if name == "rife-v4.25-or-v4.26":
        return IFNet()
    raise ValueError(f"unknown model {name!r}")


def load_model(name: str, models_dir: Path | None = None) -> nn.Module:
    """Builds ``name`` and loads its weights from ``models_dir`` with ``strict=True``; eval mode."""
    models_dir = models_dir or (assets_dir() / "models")
    model = build(name)
    model.load_state_dict(load_state_dict(models_dir / MODEL_FILES[name]), strict=True)
    return model.eval()
