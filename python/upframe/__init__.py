"""upframe: Real-ESRGAN upscaling and RIFE frame interpolation in native code, for numpy
images and for video/image files, without PyTorch.

.. code-block:: python

    import upframe

    up = upframe.Upscaler("realesr-animevideov3", scale=2)
    big = up(frame)                       # HWC RGB uint8/uint16/float32 numpy array

    rife = upframe.Interpolator("rife-v4.26")
    mid = rife(frame0, frame1, t=0.5)

    upframe.upscale("in.mp4", "out.mp4", scale=2, progress=lambda done, total: ...)
    upframe.interpolate("in.mp4", "out.mp4", factor=2)

    from upframe.compat import RealESRGANer, Model   # drop-ins for the official classes

Errors are :class:`upframe.UpframeError` subclasses (see :mod:`upframe.errors`).
"""

from __future__ import annotations

from . import compat, errors
from ._native import Image, Images, Interpolator, Upscaler
from ._upframe import __version__
from .errors import (
    InputError,
    Interrupted,
    ModelError,
    OptionError,
    OutputError,
    ResumeError,
    UpframeError,
)
from ._images import read_image, write_image
from ._jobs import Progress, Summary, enhance, interpolate, upscale

__all__ = [
    "__version__",
    "Upscaler",
    "Interpolator",
    "Image",
    "Images",
    "upscale",
    "interpolate",
    "enhance",
    "Progress",
    "Summary",
    "read_image",
    "write_image",
    "UpframeError",
    "InputError",
    "OutputError",
    "ModelError",
    "OptionError",
    "ResumeError",
    "Interrupted",
    "compat",
    "errors",
]
