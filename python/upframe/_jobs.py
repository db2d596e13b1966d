"""Jobs on files: :func:`upscale`, :func:`interpolate` and :func:`enhance` of a video, an image
sequence (a folder of frames or a ``%06d.png`` pattern) or an image — what the ``upframe``
command does, from Python.

Keyword options are the command-line tool's long options in snake_case (``upframe upscale
--help``); ``None`` means the CLI's default. Flags are booleans (``overwrite=True``,
``no_audio=True``). Every option is checked before anything runs; a bad one raises
:class:`upframe.OptionError` naming it (``--tile``).

``progress(done, total)`` is called from the calling thread about five times a second and at
the end (``total`` is ``None`` when the input does not say how many frames it has). The work runs
with the GIL released. Ctrl-C, or a ``KeyboardInterrupt`` raised by ``progress``, stops the job
after the frame in flight: complete segments are kept, :class:`upframe.Interrupted` is raised,
and calling the same job again resumes after them (``restart=True`` starts over). Any other
exception raised by ``progress`` stops the job the same way and is re-raised.

Each returns a summary dict: ``input`` and ``output`` (``pathlib.Path``), ``processing``, ``input_size``,
``output_size``, ``frames_in``, ``frames_decoded``, ``frames_made`` (this run), ``frames_resumed``,
``frames_skipped``, ``frames_out`` (the whole file), ``seconds``, ``fps``, ``device`` (where the
upscaler ran, for ``interpolate`` RIFE: as :attr:`upframe.Upscaler.device`, ``None`` on the CPU
by default), and for interpolation ``interpolated`` and ``scene_cuts``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional, Union

from . import _upframe

__all__ = ["upscale", "interpolate", "enhance", "Progress", "Summary"]

PathLike = Union[str, "os.PathLike[str]"]
Progress = Callable[[int, Optional[int]], Any]
"""``progress(done, total)``."""
Summary = Dict[str, Any]
"""What a finished job did."""
Time = Union[float, str]
"""Seconds (``12.5``) or ``"[HH:]MM:SS[.ms]"`` (``"1:02.5"``): ``start`` and ``duration``."""
Bitrate = Union[int, str]
"""Bits per second (``8_000_000``) or ``"8M"``, ``"2500k"``, ``"1500000"``: ``bitrate``."""


def _options(options: Dict[str, Any]) -> Dict[str, Any]:
    """The keyword options as the native core takes them: paths as ``str``, ``None`` left out.
    Values are converted and checked there (by the library's parsers: a time or bit rate
    string is read there too)."""
    if options.get("model_dir") is not None:
        options["model_dir"] = os.fspath(options["model_dir"])
    return {k: v for k, v in options.items() if v is not None}


def _run(
    command: str,
    input: PathLike,
    output: PathLike,
    progress: Optional[Progress],
    options: Dict[str, Any],
) -> Summary:
    return _upframe.run_job(
        command, os.fspath(input), os.fspath(output), _options(options), progress
    )


def upscale(
    input: PathLike,
    output: PathLike,
    *,
    model: Optional[str] = None,
    scale: Optional[float] = None,
    tile: Optional[int] = None,
    tile_pad: Optional[int] = None,
    pre_pad: Optional[int] = None,
    alpha: Optional[str] = None,
    denoise_strength: Optional[float] = None,
    model_dir: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
    **job_options: Any,
) -> Summary:
    """Upscales a video, image sequence or image (``upframe upscale``).

    Args:
        model: ``realesr-animevideov3`` (default, built in), another Real-ESRGAN model name,
            a weight file, ``lanczos`` or ``lanczos4-opencv``.
        scale: output scale (default: the model's own; Lanczos: 2).
        tile, tile_pad, pre_pad, alpha, denoise_strength, model_dir: as the CLI's options.
        progress: ``progress(done, total)``.
        **job_options: ``precision`` (``"fp32"``, ``"bf16"``, ``"auto"``), ``device``
            (``"cpu"``, ``"gpu"``, ``"gpu:N"``, ``"auto"``), ``codec``, ``crf``, ``bitrate``
            (bits per second: ``8_000_000``, or a string ``"8M"``, ``"2500k"``), ``preset``,
            ``pix_fmt``, ``start`` and ``duration`` (seconds: ``12.5``, or a string
            ``"[HH:]MM:SS[.ms]"`` such as ``"1:02.5"``), ``frames``, ``no_audio``,
            ``no_subtitles``, ``overwrite``, ``on_decode_error`` (``"abort"``, ``"skip"``),
            ``segment_frames``, ``restart``, ``framerate``, ``max_pixels``.

    Raises:
        InputError, OutputError, ModelError, OptionError, ResumeError, Interrupted.
    """
    return _run(
        "upscale",
        input,
        output,
        progress,
        dict(
            model=model,
            scale=scale,
            tile=tile,
            tile_pad=tile_pad,
            pre_pad=pre_pad,
            alpha=alpha,
            denoise_strength=denoise_strength,
            model_dir=model_dir,
            **job_options,
        ),
    )


def interpolate(
    input: PathLike,
    output: PathLike,
    *,
    model: Optional[str] = None,
    factor: Optional[int] = None,
    fps: Union[float, str, None] = None,
    slowmo: Optional[int] = None,
    rife_scale: Optional[float] = None,
    rife_ensemble: Optional[bool] = None,
    rife_refine: Optional[bool] = None,
    scene_threshold: Optional[float] = None,
    on_cut: Optional[str] = None,
    model_dir: Optional[PathLike] = None,
    progress: Optional[Progress] = None,
    **job_options: Any,
) -> Summary:
    """Interpolates frames with RIFE (``upframe interpolate``): ``factor`` (default 2), ``fps``
    (``60``, ``"30000/1001"``) or ``slowmo``; ``on_cut`` is ``"repeat"``, ``"blend"`` or
    ``"interpolate"``. ``**job_options`` as :func:`upscale` (``device`` is where RIFE runs)."""
    return _run(
        "interpolate",
        input,
        output,
        progress,
        dict(
            model=model,
            factor=factor,
            fps=fps,
            slowmo=slowmo,
            rife_scale=rife_scale,
            rife_ensemble=rife_ensemble,
            rife_refine=rife_refine,
            scene_threshold=scene_threshold,
            on_cut=on_cut,
            model_dir=model_dir,
            **job_options,
        ),
    )


def enhance(
    input: PathLike,
    output: PathLike,
    *,
    model: Optional[str] = None,
    scale: Optional[float] = None,
    interp_model: Optional[str] = None,
    order: Optional[str] = None,
    progress: Optional[Progress] = None,
    **options: Any,
) -> Summary:
    """Upscales and interpolates in one pass (``upframe enhance``): the upscaling options of
    :func:`upscale`, the interpolation options of :func:`interpolate` (the RIFE model is
    ``interp_model``), ``order`` (``"interpolate-first"`` or ``"upscale-first"``; default
    the cheaper) and the job options (``device`` is where both networks run, as on the
    command line)."""
    return _run(
        "enhance",
        input,
        output,
        progress,
        dict(model=model, scale=scale, interp_model=interp_model, order=order, **options),
    )
