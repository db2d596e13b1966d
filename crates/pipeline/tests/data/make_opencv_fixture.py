"""Writes the OpenCV INTER_LANCZOS4 reference used by tests/opencv_lanczos4.rs.

Run with opencv-python-headless and numpy installed (the committed files were made with
OpenCV 5.0.0, numpy 2.4.6):  python3 make_opencv_fixture.py
Files: raw little-endian float32, HWC.
  opencv_in_23x17x3.f32              random input in [0, 1), numpy default_rng(2026)
  opencv_lanczos4_50x37x3.f32        cv2.resize(in, (50, 37), interpolation=cv2.INTER_LANCZOS4)
  opencv_lanczos4_9x7x3.f32          cv2.resize(in, (9, 7),   interpolation=cv2.INTER_LANCZOS4)
"""
import os

import cv2
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
img = np.random.default_rng(2026).random((17, 23, 3), dtype=np.float32)
img.astype("<f4").tofile(os.path.join(here, "opencv_in_23x17x3.f32"))
for w, h in [(50, 37), (9, 7)]:
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_LANCZOS4)
    out.astype("<f4").tofile(os.path.join(here, f"opencv_lanczos4_{w}x{h}x3.f32"))
print("opencv", cv2.__version__)
