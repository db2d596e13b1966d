"""Writes PyTorch reference outputs of upframe-nn's ops for tests/torch_parity.rs.

Usage: python make_op_goldens.py OUT_DIR   (needs torch; CPU is fine)
Then:  UPFRAME_NN_OP_GOLDENS=OUT_DIR cargo test -p upframe-nn --test torch_parity

Each case writes NAME.<tensor>.f32 (raw little-endian float32, NCHW) and one line of
manifest.txt: `NAME OP key=value ... tensor=n,c,h,w ...`.
"""
import os
import sys

import torch
import torch.nn.functional as F

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)
lines = []


def save(case, op, params, **tensors):
    fields = [case, op] + [f"{k}={v}" for k, v in params.items()]
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous()
        assert t.numel() > 0
        # Raw bytes without numpy (native order; the machines we run on are little-endian).
        with open(os.path.join(out_dir, f"{case}.{name}.f32"), "wb") as f:
            f.write(bytes(t.clone().untyped_storage()))
        fields.append(f"{name}=" + ",".join(str(d) for d in t.shape))
    lines.append(" ".join(fields))


def rife_warp(img, flow):
    """Practical-RIFE's warp (model/warplayer.py), verbatim semantics."""
    n, _, h, w = flow.shape
    hor = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(n, -1, h, -1)
    ver = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(n, -1, -1, w)
    grid = torch.cat([hor, ver], 1)
    flow = torch.cat(
        [flow[:, 0:1, :, :] / ((w - 1.0) / 2.0), flow[:, 1:2, :, :] / ((h - 1.0) / 2.0)], 1
    )
    g = (grid + flow).permute(0, 2, 3, 1)
    return F.grid_sample(img, g, mode="bilinear", padding_mode="border", align_corners=True)


x = torch.rand(1, 3, 37, 53)
for i, sf in enumerate([1 / 16, 1 / 8, 1 / 4, 1 / 2, 2.0, 4.0, 8.0, 16.0, 0.35, 1.7]):
    y = F.interpolate(x, scale_factor=sf, mode="bilinear", align_corners=False)
    save(f"resize_scale{i}", "resize_scale", {"sf": repr(sf)}, x=x, y=y)
for i, (oh, ow) in enumerate([(50, 20), (100, 101), (37, 53), (5, 7)]):
    y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
    save(f"resize_size{i}", "resize_size", {}, x=x, y=y)

for i, mag in enumerate([0.5, 4.0, 40.0]):
    img = torch.rand(1, 8, 37, 53)
    flow = (torch.rand(1, 2, 37, 53) * 2 - 1) * mag
    save(f"warp{i}", "warp", {}, x=img, flow=flow, y=rife_warp(img, flow))

t = torch.randn(1, 12, 5, 7)
save("pixel_shuffle", "pixel_shuffle", {"r": 2}, x=t, y=F.pixel_shuffle(t, 2))
t = torch.randn(1, 3, 8, 12)
save("pixel_unshuffle", "pixel_unshuffle", {"r": 4}, x=t, y=F.pixel_unshuffle(t, 4))

for i, (cin, cout, h, w) in enumerate([(16, 4, 9, 11), (40, 52, 5, 6)]):
    ct = torch.nn.ConvTranspose2d(cin, cout, 4, 2, 1)
    t = torch.randn(1, cin, h, w)
    save(f"conv_transpose{i}", "conv_transpose", {"stride": 2, "padding": 1},
         x=t, weight=ct.weight, bias=ct.bias.view(1, -1, 1, 1), y=ct(t))

for i, (cin, cout, h, w, s) in enumerate([(23, 24, 17, 19, 2), (64, 64, 12, 13, 1), (3, 64, 9, 10, 1)]):
    cv = torch.nn.Conv2d(cin, cout, 3, s, 1)
    t = torch.randn(1, cin, h, w)
    save(f"conv{i}", "conv", {"stride": s, "padding": 1},
         x=t, weight=cv.weight, bias=cv.bias.view(1, -1, 1, 1), y=cv(t))

t = torch.randn(1, 6, 7, 9) * 4
pw = torch.rand(6)
save("prelu", "prelu", {}, x=t, weight=pw.view(1, -1, 1, 1), y=F.prelu(t, pw))
save("leaky_relu", "leaky_relu", {"slope": 0.2}, x=t, y=F.leaky_relu(t, 0.2))
save("sigmoid", "sigmoid", {}, x=t, y=torch.sigmoid(t))
save("pad_reflect", "pad_reflect", {"pad": "2,1,3,0"}, x=t,
     y=F.pad(t, (3, 0, 2, 1), mode="reflect"))  # (left, right, top, bottom)

with open(os.path.join(out_dir, "manifest.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} cases written to {out_dir}")
