"""Drop-in replacements for the official Python entry points, backed by upframe.

Migrating a script is changing its import:

.. code-block:: python

    # from realesrgan import RealESRGANer
    from upframe.compat import RealESRGANer

    upsampler = RealESRGANer(scale=4, model_path="realesr-animevideov3.pth", tile=0,
                             tile_pad=10, pre_pad=0, half=False)
    output, img_mode = upsampler.enhance(img, outscale=2)   # img: cv2.imread(..., UNCHANGED)

    # from train_log.RIFE_HDv3 import Model
    from upframe.compat import Model

    model = Model()
    model.load_model("train_log", -1)    # the folder holding flownet.pkl
    mid = model.inference(img0, img1, timestep=0.5, scale=1.0)

:class:`RealESRGANer` follows xinntao/Real-ESRGAN's ``realesrgan/utils.py``; :class:`Model`
follows Practical-RIFE's ``train_log/RIFE_HDv3.py``. Differences are listed in each class.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _upframe
from .errors import InputError, ModelError, OptionError

__all__ = ["RealESRGANer", "Model"]

PathLike = Union[str, "os.PathLike[str]"]


def _weights_arg(model_path: PathLike) -> str:
    """A path as is; an official download URL becomes its file name, which upframe's model
    registry knows (the file is looked up in the model directory, or is built in)."""
    path = os.fspath(model_path)
    if path.startswith(("https://", "http://")):
        return path.rstrip("/").rsplit("/", 1)[-1]
    return path


class RealESRGANer:
    """``realesrgan.RealESRGANer`` on upframe: same constructor, same ``enhance``.

    Args:
        scale: the network's scale (must match the weights: 4 for realesr-animevideov3).
        model_path: a ``.pth``/``.safetensors`` file, a model name (``upframe models list``),
            an official release URL (its file name is looked up in upframe's model directory;
            nothing is downloaded: run ``upframe models fetch NAME`` once), or a list of two
            files with ``dni_weight`` (deep network interpolation).
        dni_weight: two weights summing to 1, for a ``model_path`` list of two files.
        model: ignored; the architecture is read from the weights. Passing a module gives a
            warning once.
        tile: tile size (0: the whole image; upframe still tiles an image that would not fit
            in memory, with the same seams rule as ``tile_process``).
        tile_pad: context around each tile.
        pre_pad: reflect padding on the right and bottom (the official default is 10).
        half, device, gpu_id: accepted and ignored; upframe runs in float32 on the CPU.

    ``enhance`` returns ``(output, img_mode)`` exactly as the official class: ``output`` is
    ``uint8``, or ``uint16`` when the input's maximum is above 256, in the input's layout
    (BGR, BGRA or gray HW); ``img_mode`` is ``'RGB'``, ``'RGBA'`` or ``'L'``.

    Differences: no ``print`` output (the official class prints tile progress and "Input is a
    16-bit image"); an unsupported shape ((H, W, 1), (H, W, 2), ...) raises
    :class:`upframe.InputError` instead of an OpenCV error; a ``scale`` that does not match
    the weights raises :class:`upframe.OptionError` instead of producing a wrongly cropped
    image.
    """

    _model_note_shown = False

    def __init__(
        self,
        scale: int,
        model_path: Union[PathLike, Sequence[PathLike]],
        dni_weight: Optional[Sequence[float]] = None,
        model: Any = None,
        tile: int = 0,
        tile_pad: int = 10,
        pre_pad: int = 10,
        half: bool = False,
        device: Any = None,
        gpu_id: Optional[int] = None,
    ) -> None:
        self.scale = scale
        self.tile_size = tile
        self.tile_pad = tile_pad
        self.pre_pad = pre_pad
        self.mod_scale = 2 if scale == 2 else 4 if scale == 1 else None
        self.half = half
        self.device = "cpu" if device is None else device
        self.model = model
        if model is not None and not RealESRGANer._model_note_shown:
            RealESRGANer._model_note_shown = True
            warnings.warn(
                "upframe.compat.RealESRGANer ignores `model`: the architecture is read from "
                "the weights",
                stacklevel=2,
            )
        if isinstance(model_path, (list, tuple)):
            if dni_weight is None or len(model_path) != 2 or len(dni_weight) != 2:
                raise OptionError(
                    "model_path as a list needs two files and dni_weight two weights"
                )
            if abs(float(dni_weight[0]) + float(dni_weight[1]) - 1.0) > 1e-6:
                raise OptionError(
                    f"dni_weight {list(dni_weight)}: upframe interpolates a·w + b·(1 − w); "
                    "the two weights must sum to 1"
                )
            weights = _weights_arg(model_path[0])
            dni: Optional[Tuple[str, float]] = (
                _weights_arg(model_path[1]),
                float(dni_weight[0]),
            )
        else:
            weights = _weights_arg(model_path)  # type: ignore[arg-type]
            dni = None
        self._core = _upframe.Upscaler(
            weights, None, tile, tile_pad, pre_pad, "realesrgan", None, None, dni, "fp32"
        )
        network_scale = self._core.output_size(1, 1)[0]
        if network_scale != scale:
            raise OptionError(
                f"scale {scale}: the weights {weights} are a x{network_scale} network; pass "
                f"scale={network_scale} (and outscale= to enhance for another size)"
            )

    def enhance(
        self,
        img: np.ndarray,
        outscale: Optional[float] = None,
        alpha_upsampler: str = "realesrgan",
    ) -> Tuple[np.ndarray, str]:
        """Upscales ``img`` (as ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` gives it).

        Args:
            img: BGR ``(H, W, 3)``, BGRA ``(H, W, 4)`` or gray ``(H, W)``; ``uint8``,
                ``uint16`` or any numeric dtype (read as ``float32``, as the official code
                does). Samples are divided by 65535 when the maximum is above 256, else 255.
            outscale: final size relative to the input (``int(w · outscale)``); other than
                the network's scale it resizes the output with ``cv2.INTER_LANCZOS4``.
            alpha_upsampler: ``'realesrgan'`` runs alpha through the network; anything else
                resizes it with ``cv2.INTER_LINEAR``.

        Returns:
            ``(output, img_mode)``.
        """
        img = np.asarray(img)
        if img.dtype not in (np.uint8, np.uint16, np.float32):
            img = img.astype(np.float32)
        if img.size == 0:
            raise InputError(f"img is empty (shape {img.shape})")
        max_range = 65535.0 if float(np.max(img)) > 256 else 255.0
        if img.ndim == 2:
            img_mode = "L"
        elif img.ndim == 3 and img.shape[2] == 4:
            img_mode = "RGBA"
        else:
            img_mode = "RGB"
        output = self._core.enhance_compat(
            img,
            max_range,
            alpha_upsampler == "realesrgan",
            None if outscale is None else float(outscale),
        )
        return output, img_mode

    def __repr__(self) -> str:
        return (
            f"upframe.compat.RealESRGANer(scale={self.scale}, model={self._core.name!r}, "
            f"tile={self.tile_size}, tile_pad={self.tile_pad}, pre_pad={self.pre_pad})"
        )


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".", 1)[0] == "torch"


def _to_nchw(x: Any, what: str) -> np.ndarray:
    """A float32 NCHW numpy array from a torch tensor or array (CHW gets N = 1)."""
    if _is_torch(x):
        x = x.detach().float().cpu().numpy()
    array = np.asarray(x, dtype=np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[1] != 3:
        raise InputError(
            f"{what} must be an (N, 3, H, W) or (3, H, W) RGB array in [0, 1], not shape "
            f"{array.shape}"
        )
    return array


class Model:
    """Practical-RIFE's ``Model`` (``train_log/RIFE_HDv3.py``) on upframe, for inference.

    ``load_model(path, rank)`` reads ``path/flownet.pkl`` (any RIFE v4.x layout; ``path`` may
    also be the file itself or a model name such as ``rife-v4.26``). ``inference(img0, img1,
    timestep, scale)`` takes what Practical-RIFE's scripts pass: float tensors ``(N, 3, H, W)``
    in [0, 1] (torch tensors on any device, or numpy arrays; ``(3, H, W)`` too) and returns
    the in-between frame of the same type, shape, device and dtype.

    Differences: the inputs need not be padded (they are zero-padded to the layout's multiple
    internally and cropped back, which is what Practical-RIFE's ``pad_image`` + crop does, so
    padded inputs give the same result); the output is clamped to [0, 1]; ``timestep`` must
    be in (0, 1); ``train``, ``update`` and ``save_model`` are not provided (inference only).
    """

    def __init__(self, local_rank: int = -1) -> None:
        # Practical-RIFE's scripts read `version` before loading (>= 3.9: arbitrary timestep).
        self.version = 4.25
        self._path: Optional[str] = None
        self._by_scale: dict = {}

    def load_model(self, path: PathLike, rank: int = 0) -> None:
        """Loads ``path/flownet.pkl`` (``rank`` > 0 loads nothing, as the official method)."""
        if rank > 0:
            return
        path = os.fspath(path)
        self._by_scale = {}
        self._path = path
        core = self._core(1.0)
        version = core.version.lstrip("v").split("/")[0]
        try:
            self.version = float(version)
        except ValueError:
            self.version = 4.25

    def eval(self) -> "Model":
        """No-op (upframe has no training mode)."""
        return self

    def device(self) -> None:
        """No-op (upframe runs on the CPU)."""

    def _core(self, scale: float) -> Any:
        if self._path is None:
            raise ModelError("Model.inference before load_model: no weights loaded")
        core = self._by_scale.get(scale)
        if core is None:
            core = _upframe.Interpolator(self._path, scale, False, False, None, "fp32")
            self._by_scale[scale] = core
        return core

    def inference(
        self, img0: Any, img1: Any, timestep: float = 0.5, scale: float = 1.0
    ) -> Any:
        """The frame at ``timestep`` between ``img0`` and ``img1`` (``merged[-1]``)."""
        a = _to_nchw(img0, "img0")
        b = _to_nchw(img1, "img1")
        if a.shape != b.shape:
            raise InputError(f"img0 {a.shape} and img1 {b.shape} differ in shape")
        core = self._core(float(scale))
        t = float(timestep)
        out = np.empty_like(a)
        for i in range(a.shape[0]):
            hwc = core.interpolate(
                np.ascontiguousarray(a[i].transpose(1, 2, 0)),
                np.ascontiguousarray(b[i].transpose(1, 2, 0)),
                t,
                False,
            )
            out[i] = hwc.transpose(2, 0, 1)
        squeeze = np.ndim(img0) == 3
        result = out[0] if squeeze else out
        if _is_torch(img0):
            import torch

            return torch.from_numpy(result).to(device=img0.device, dtype=img0.dtype)
        return result
