"""upframe's own Python API on numpy arrays: :class:`Upscaler` and :class:`Interpolator`.

Images are HWC numpy arrays (or HW for gray) in RGB order by default, of ``uint8`` (0–255),
``uint16`` (0–65535) or ``float32`` (0.0–1.0), with 1 (gray), 2 (gray + alpha), 3 (RGB) or
4 (RGBA) channels. The result has the input's dtype and channel count. Other float dtypes
are computed in ``float32`` and returned in their own dtype.

A batch is a 4-D array ``(N, H, W, C)`` or a list/tuple of images; the result is the same kind
of container. A 3-D array is always one HWC image (a batch of gray frames is ``(N, H, W, 1)``).

The work runs in native code with the GIL released, so other Python threads keep running.
"""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

from . import _upframe

__all__ = ["Upscaler", "Interpolator", "Image", "Images"]

Image = npt.NDArray[np.generic]
"""One HWC (or HW gray) image."""
Images = Union[Image, Sequence[Image]]
"""One image, a 4-D batch, or a list/tuple of images."""

_ORDERS = ("rgb", "bgr")


def _channel_order(value: str) -> bool:
    """``True`` for BGR."""
    order = str(value).lower()
    if order not in _ORDERS:
        from .errors import OptionError

        raise OptionError(f"channel_order {value!r}: expected 'rgb' or 'bgr'")
    return order == "bgr"


def _native(image: Image) -> Tuple[np.ndarray, Optional[np.dtype]]:
    """The array the extension takes, and the dtype to cast the result back to (or None)."""
    array = np.asarray(image)
    if array.dtype in (np.uint8, np.uint16, np.float32):
        return array, None
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32), array.dtype
    return array, None  # the extension names the unsupported dtype


def _map_batch(fn, images: Images):
    """Applies ``fn`` to one image, each image of a 4-D batch, or each item of a list/tuple."""
    if isinstance(images, (list, tuple)):
        return type(images)(fn(image) for image in images)
    array = np.asarray(images)
    if array.ndim == 4:
        return np.stack([fn(image) for image in array])
    return fn(array)


def _optional_path(value: Union[str, "os.PathLike[str]", None]) -> Optional[str]:
    return None if value is None else os.fspath(value)


class Upscaler:
    """A Real-ESRGAN upscaler for numpy images.

    Args:
        model: a model name (``upframe models list``: ``realesr-animevideov3`` is built in,
            others are fetched with ``upframe models fetch NAME``), a weight file
            (``.pth``/``.safetensors``), or ``lanczos`` / ``lanczos4-opencv`` (resizers).
        scale: output size relative to the input (default: the network's own scale). Other
            values resize the network's output with Lanczos, as ``RealESRGANer``'s
            ``outscale`` does.
        tile: tile size in input pixels (0: the whole frame, or automatic tiles when it would
            not fit in memory).
        tile_pad: context read around each tile.
        pre_pad: reflect padding on the right and bottom before the network.
        alpha: how alpha is upscaled: ``"realesrgan"`` (through the network), ``"linear"`` or
            ``"lanczos"``.
        denoise_strength: realesr-general-x4v3's denoise strength in [0, 1] (needs
            realesr-general-wdn-x4v3 beside it unless 1).
        model_dir: where named models are looked up (default: ``$UPFRAME_MODEL_DIR`` or the
            user cache).
        channel_order: ``"rgb"`` (default) or ``"bgr"`` (OpenCV's order) for 3/4-channel
            images.
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"auto"`` (the CLI's ``--precision``).
        device: ``"cpu"`` (default), ``"gpu"``, ``"gpu:N"`` or ``"auto"`` (``--device``).
            What it settled on is :attr:`device`.

    Raises:
        ModelError: unknown model, missing or unusable weights.
        OptionError: an option out of range.
    """

    def __init__(
        self,
        model: str = "realesr-animevideov3",
        *,
        scale: Optional[float] = None,
        tile: int = 0,
        tile_pad: int = 10,
        pre_pad: int = 0,
        alpha: str = "realesrgan",
        denoise_strength: Optional[float] = None,
        model_dir: Union[str, "os.PathLike[str]", None] = None,
        channel_order: str = "rgb",
        precision: Optional[str] = None,
        device: Optional[str] = None,
    ) -> None:
        self._bgr = _channel_order(channel_order)
        self._core = _upframe.Upscaler(
            os.fspath(model),
            None if scale is None else float(scale),
            tile,
            tile_pad,
            pre_pad,
            alpha,
            None if denoise_strength is None else float(denoise_strength),
            _optional_path(model_dir),
            None,
            precision,
            device,
        )

    @property
    def name(self) -> str:
        """The model's name (weight file stem or registry name)."""
        return self._core.name

    @property
    def device(self) -> Optional[Dict[str, Optional[str]]]:
        """Where the network runs, when a device other than the CPU was asked for: a dict
        with ``device`` (``"cpu"`` or ``"gpu:N"``), ``adapter`` (the GPU's name), ``precision``
        (``"f32"`` or ``"f16"`` storage on a GPU) and ``fallback`` (why ``"auto"`` stayed on the
        CPU), as the CLI's ``--json`` summary; ``None`` on the CPU by default."""
        return self._core.device

    def output_size(self, width: int, height: int) -> Tuple[int, int]:
        """The ``(width, height)`` of the output for a ``width`` × ``height`` input."""
        return tuple(self._core.output_size(width, height))  # type: ignore[return-value]

    def _one(self, image: Image) -> np.ndarray:
        array, cast_back = _native(image)
        out = self._core.process(array, self._bgr)
        return out if cast_back is None else out.astype(cast_back)

    @overload
    def process(self, images: Image) -> np.ndarray: ...
    @overload
    def process(self, images: List[Image]) -> List[np.ndarray]: ...
    @overload
    def process(self, images: Tuple[Image, ...]) -> Tuple[np.ndarray, ...]: ...

    def process(self, images):
        """Upscales one image, a 4-D batch or a list/tuple of images.

        Raises:
            InputError: an array of the wrong shape or dtype.
        """
        return _map_batch(self._one, images)

    __call__ = process

    def __repr__(self) -> str:
        return f"upframe.Upscaler({self.name!r})"


class Interpolator:
    """A RIFE frame interpolator for numpy images.

    Args:
        model: a RIFE model name (``rife-v4.26`` default, ``rife-v4.25``, ``rife-v4.0``), a
            ``flownet.pkl`` or a folder holding one.
        rife_scale: RIFE's ``scale`` (1.0; 0.5 for 4K input): the resolution the flow is
            estimated at.
        rife_ensemble: also run each step on the reversed pair and average (slower).
        rife_refine: run the refinement network (weights that have one, e.g. v4.0).
        model_dir: where named models are looked up.
        channel_order: ``"rgb"`` (default) or ``"bgr"``.
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"auto"``. On a GPU, ``"fp32"`` keeps
            f32 storage; the others use f16 storage where the adapter has it.
        device: ``"cpu"`` (default), ``"gpu"`` (the best adapter, software ones included),
            ``"gpu:N"`` (entry N of ``upframe devices``) or ``"auto"`` (a discrete or
            integrated GPU when there is one, else the CPU), as the CLI's ``--device``. What it
            settled on is :attr:`device`.

    Raises:
        ModelError: unknown model, missing or unusable weights.
        OptionError: an option the weights cannot run, a ``rife_scale`` that is not a
            power of two from 1/16 to 4, or a ``device`` that is unknown or cannot be opened.
    """

    def __init__(
        self,
        model: str = "rife-v4.26",
        *,
        rife_scale: float = 1.0,
        rife_ensemble: bool = False,
        rife_refine: bool = False,
        model_dir: Union[str, "os.PathLike[str]", None] = None,
        channel_order: str = "rgb",
        precision: Optional[str] = None,
        device: Optional[str] = None,
    ) -> None:
        self._bgr = _channel_order(channel_order)
        self._core = _upframe.Interpolator(
            os.fspath(model),
            float(rife_scale),
            bool(rife_ensemble),
            bool(rife_refine),
            _optional_path(model_dir),
            precision,
            device,
        )

    @property
    def name(self) -> str:
        """The network's name and layout (``rife v4.25/v4.26``)."""
        return self._core.name

    @property
    def version(self) -> str:
        """The network layout's version (``v4.25/v4.26``, ``v4.0/v4.1``, ...)."""
        return self._core.version

    @property
    def device(self) -> Optional[Dict[str, Optional[str]]]:
        """Where RIFE runs, as :attr:`Upscaler.device` (``None`` on the CPU by default)."""
        return self._core.device

    def _pair(self, first: Image, second: Image, t: float) -> np.ndarray:
        a, cast_back = _native(first)
        b, _ = _native(second)
        out = self._core.interpolate(a, b, float(t), self._bgr)
        return out if cast_back is None else out.astype(cast_back)

    def interpolate(self, first: Images, second: Images, t: float = 0.5):
        """The frame at time ``t`` in (0, 1) between ``first`` (t = 0) and ``second`` (t = 1).

        ``first`` and ``second`` are two images of the same shape and dtype, or two batches
        (4-D arrays or lists) of the same length, interpolated pairwise.

        Raises:
            InputError: the images differ in shape or dtype, or have an unsupported one.
        """
        if isinstance(first, (list, tuple)) or np.ndim(first) == 4:
            if len(first) != len(second):
                from .errors import InputError

                raise InputError(
                    f"the two batches differ in length: {len(first)} and {len(second)}"
                )
            outs = [self._pair(a, b, t) for a, b in zip(first, second)]
            if isinstance(first, (list, tuple)):
                return type(first)(outs)
            return np.stack(outs)
        return self._pair(first, second, t)  # type: ignore[arg-type]

    __call__ = interpolate

    def __repr__(self) -> str:
        return f"upframe.Interpolator({self.name!r})"
