"""Image files ↔ numpy arrays, with upframe's own decoders (no OpenCV or Pillow needed)."""

from __future__ import annotations

import os
from typing import Union

import numpy as np

from . import _upframe
from ._native import _channel_order

__all__ = ["read_image", "write_image"]


def read_image(
    path: Union[str, "os.PathLike[str]"], *, channel_order: str = "rgb"
) -> np.ndarray:
    """Reads a png/jpg/webp/tif/bmp file as an HWC array (HW for gray).

    8-bit files give ``uint8``, deeper ones ``uint16``; alpha is kept as a fourth (or second)
    channel. ``channel_order="bgr"`` gives what ``cv2.imread(path, cv2.IMREAD_UNCHANGED)``
    gives.

    Raises:
        InputError: the file is missing, unreadable or not an image.
    """
    return _upframe.read_image(os.fspath(path), _channel_order(channel_order))


def write_image(
    path: Union[str, "os.PathLike[str]"],
    image: np.ndarray,
    *,
    overwrite: bool = False,
    channel_order: str = "rgb",
) -> None:
    """Writes an HWC/HW array as an image file; the extension picks the format.

    ``uint16`` (and ``float32``, 0.0–1.0) arrays are written with 16 bits where the format
    has them (png, tif). The file appears complete or not at all.

    Raises:
        OutputError: the file exists (without ``overwrite=True``) or cannot be written.
        InputError: an array of the wrong shape or dtype.
    """
    _upframe.write_image(
        os.fspath(path), np.asarray(image), _channel_order(channel_order), bool(overwrite)
    )
