"""Type stubs of the compiled core (``crates/python``). Private: use :mod:`upframe`."""

from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

__version__: str

def read_image(path: str, bgr: bool) -> np.ndarray: ...
def write_image(path: str, image: np.ndarray, bgr: bool, overwrite: bool) -> None: ...

def run_job(
    command: str,
    input: str,
    output: str,
    options: Dict[str, Any],
    progress: Optional[Callable[[int, Optional[int]], Any]] = None,
) -> Dict[str, Any]: ...
def plan(
    command: str,
    input: str,
    output: str,
    options: Dict[str, Any],
    plan_path: str,
    chunks: Optional[int] = None,
    chunk_seconds: Optional[float] = None,
    work_dir: Optional[str] = None,
) -> Dict[str, Any]: ...
def run_chunk(plan_path: str, chunk: int) -> Dict[str, Any]: ...
def join(plan_path: str) -> Dict[str, Any]: ...

class Upscaler:
    def __init__(
        self,
        model: str,
        scale: Optional[float],
        tile: int,
        tile_pad: int,
        pre_pad: int,
        alpha: str,
        denoise_strength: Optional[float],
        model_dir: Optional[str],
        dni: Optional[Tuple[str, float]] = None,
        precision: Optional[str] = None,
        device: Optional[str] = None,
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def device(self) -> Optional[Dict[str, Optional[str]]]: ...
    def output_size(self, width: int, height: int) -> Tuple[int, int]: ...
    def process(self, image: np.ndarray, bgr: bool) -> np.ndarray: ...
    def enhance_compat(
        self,
        image: np.ndarray,
        max_range: float,
        alpha_through_network: bool,
        outscale: Optional[float],
    ) -> np.ndarray: ...

class Interpolator:
    def __init__(
        self,
        model: str,
        rife_scale: float,
        ensemble: bool,
        refine: bool,
        model_dir: Optional[str],
        precision: Optional[str] = None,
        device: Optional[str] = None,
    ) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def device(self) -> Optional[Dict[str, Optional[str]]]: ...
    def interpolate(
        self, first: np.ndarray, second: np.ndarray, t: float, bgr: bool
    ) -> np.ndarray: ...
