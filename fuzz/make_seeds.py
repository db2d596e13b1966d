"""Builds the small seed corpora under fuzz/corpus/ (each file < 4 KB) with real torch.save /
safetensors writers, so the fuzzers start from genuine container layouts.
Run: scripts/torch_ref/.venv/bin/python fuzz/make_seeds.py"""
import io
import os
import zipfile
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    assert len(data) < 4096, (name, len(data))
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def saved(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


torch.manual_seed(0)
two = OrderedDict(
    [("conv.weight", torch.randn(2, 1, 2, 2)), ("conv.bias", torch.randn(2))]
)
seeds = {
    "two_f32.pth": saved(two),
    "params_ema_f16.pth": saved({"params_ema": {k: v.half() for k, v in two.items()}}),
    "shared_storage_view.pth": saved(
        OrderedDict([("a", (base := torch.arange(6.0)))[:4], ("b", base[2:].view(2, 2))])
    ),
    "noncontig_bf16.pth": saved({"t": torch.randn(3, 2).t().bfloat16(), "d": torch.randn(2).double()}),
}
for name, data in seeds.items():
    put("pth", name, data)
    # The pickle machine's seed is the data.pkl inside each checkpoint.
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
        put("pickle", name.replace(".pth", ".pkl"), z.read(pkl))

from safetensors.torch import save

put("safetensors", "two_f32.safetensors", save(dict(two), metadata={"format": "pt"}))
put("safetensors", "mixed.safetensors", save({"h": torch.randn(2, 3).half(), "b": torch.randn(4).bfloat16(), "d": torch.randn(1).double()}))
put("safetensors", "empty.safetensors", save({}))
