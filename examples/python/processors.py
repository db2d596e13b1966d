"""Frame processors with the seed pipeline's interface, and the factory that picks the old
(script) path or the native (upframe) path.

Every processor has ``_execute_processing(input_frames, output_dir, options)``: it takes a
list of frame files, writes its results into ``output_dir`` and returns the written paths.

- Old path: :class:`ScriptUpscaler` / :class:`ScriptInterpolator` run a command per batch (a
  shell script around Real-ESRGAN's ``inference_realesrgan.py`` or Practical-RIFE) that reads
  and writes PNG files; the command comes from ``options["command"]`` or the
  ``UPSCALE_COMMAND`` / ``INTERPOLATE_COMMAND`` environment variables, with ``{input}`` and
  ``{output}`` replaced by a folder of input frames and the output folder.
- Native path: :class:`NativeUpscaler` / :class:`NativeInterpolator` call upframe in-process
  (``upframe.compat.RealESRGANer`` — the same calls the users planned to write against the
  official class — and ``upframe.Interpolator``): no subprocess, no PyTorch.

``ProcessorFactory.create_upscaler(use_native=...)`` is the ``--use-native-processors``
switch.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import upframe
from upframe.compat import RealESRGANer

Options = Dict[str, Any]


class FrameProcessor:
    """The seed's processor interface."""

    name = "processor"

    def process(self, input_frames: Sequence[str], output_dir: str, options: Options) -> List[str]:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        return self._execute_processing(list(map(str, input_frames)), output_dir, options)

    def _execute_processing(
        self, input_frames: List[str], output_dir: str, options: Options
    ) -> List[str]:
        raise NotImplementedError


class _ScriptProcessor(FrameProcessor):
    """Runs ``command`` on a folder of the input frames and collects the PNGs it writes."""

    env_var = ""

    def _execute_processing(self, input_frames, output_dir, options):
        command = options.get("command") or os.environ.get(self.env_var)
        if not command:
            raise RuntimeError(
                f"{self.name}: the script path needs options['command'] or ${self.env_var} "
                "(a command line with {input} and {output})"
            )
        with tempfile.TemporaryDirectory(prefix="frames-") as staging:
            for i, frame in enumerate(input_frames):
                shutil.copy(frame, Path(staging) / f"{i:08d}{Path(frame).suffix}")
            argv = [
                part.replace("{input}", staging).replace("{output}", output_dir)
                for part in shlex.split(command)
            ]
            subprocess.run(argv, check=True)
        return sorted(str(p) for p in Path(output_dir).glob("*.png"))


class ScriptUpscaler(_ScriptProcessor):
    name = "realesrgan-script"
    env_var = "UPSCALE_COMMAND"


class ScriptInterpolator(_ScriptProcessor):
    name = "rife-script"
    env_var = "INTERPOLATE_COMMAND"


class NativeUpscaler(FrameProcessor):
    """Real-ESRGAN through ``upframe.compat.RealESRGANer`` (BGR arrays, as with OpenCV)."""

    name = "realesrgan-native"

    def __init__(self, model_path: str, tile: int = 0, tile_pad: int = 10, pre_pad: int = 0):
        # The network's scale, from the weights: one pixel becomes `scale` pixels.
        scale = upframe.Upscaler(model_path).output_size(1, 1)[0]
        self.upsampler = RealESRGANer(
            scale=scale,
            model_path=model_path,
            tile=tile,
            tile_pad=tile_pad,
            pre_pad=pre_pad,
        )

    def _execute_processing(self, input_frames, output_dir, options):
        outscale = options.get("outscale")
        written = []
        for frame in input_frames:
            img = upframe.read_image(frame, channel_order="bgr")
            output, _mode = self.upsampler.enhance(img, outscale=outscale)
            path = str(Path(output_dir) / (Path(frame).stem + ".png"))
            upframe.write_image(path, output, channel_order="bgr", overwrite=True)
            written.append(path)
        return written


class NativeInterpolator(FrameProcessor):
    """RIFE through ``upframe.Interpolator``: ``multi - 1`` frames between each pair."""

    name = "rife-native"

    def __init__(self, model: str = "rife-v4.26", rife_scale: float = 1.0):
        self.rife = upframe.Interpolator(model, rife_scale=rife_scale)

    def _execute_processing(self, input_frames, output_dir, options):
        multi = int(options.get("multi", 2))
        written = []
        frames = [upframe.read_image(f) for f in input_frames]
        index = 0

        def put(img) -> None:
            nonlocal index
            path = str(Path(output_dir) / f"{index:08d}.png")
            upframe.write_image(path, img, overwrite=True)
            written.append(path)
            index += 1

        for a, b in zip(frames, frames[1:]):
            put(a)
            for k in range(1, multi):
                put(self.rife(a, b, t=k / multi))
        if frames:
            put(frames[-1])
        return written


class ProcessorFactory:
    """Hands out processors; ``use_native`` chooses upframe over the scripts."""

    def __init__(self, model_path: Optional[str] = None, rife_model: str = "rife-v4.26"):
        self.model_path = model_path or "realesr-animevideov3"
        self.rife_model = rife_model

    def create_upscaler(self, use_native: bool = True, **kwargs: Any) -> FrameProcessor:
        if use_native:
            return NativeUpscaler(self.model_path, **kwargs)
        return ScriptUpscaler()

    def create_interpolator(self, use_native: bool = True, **kwargs: Any) -> FrameProcessor:
        if use_native:
            return NativeInterpolator(self.rife_model, **kwargs)
        return ScriptInterpolator()
