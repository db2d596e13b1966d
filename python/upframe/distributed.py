"""One video on many machines with Ray: :func:`upscale`, :func:`interpolate` and :func:`enhance`
cut the job into chunks (``upframe plan``), run one Ray task per chunk (``upframe run-chunk``
through the native binding, on any node), retry a chunk whose task failed or whose worker died,
report progress over all chunks, and join the chunks into the output (``upframe join``).

.. code-block:: python

    import ray, upframe.distributed as dist

    ray.init(address="auto")            # or let upframe start a local Ray, or address="ray://..."
    dist.upscale("/nfs/in/film.mkv", "/nfs/out/film_x2.mkv", scale=2, chunks=32, num_cpus=8)

The result equals ``upframe.upscale`` on one machine frame for frame. Storage is shared paths:
every node must read the input and write the output's folder and the work directory (default
``.NAME.chunks.upframe-work`` beside the output) under the same names (NFS, or local disk for
a one-machine cluster). Each node needs this package (with its FFmpeg libraries) and, for
network models, the weights (or access to the model cache). Ray is an optional dependency:
``pip install upframe[ray]``.

Options are those of :func:`upframe.upscale` & co. (the CLI's long options in snake_case).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from . import _upframe
from ._jobs import PathLike, _options

__all__ = ["upscale", "interpolate", "enhance", "plan", "run_chunk", "join"]

ChunkProgress = Callable[[int, Optional[int]], Any]
"""``progress(frames_done, frames_total)``, called as chunks complete."""


def plan(
    command: str,
    input: PathLike,
    output: PathLike,
    plan_path: PathLike,
    *,
    chunks: Optional[int] = None,
    chunk_seconds: Optional[float] = None,
    work_dir: Optional[PathLike] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Writes the plan of ``command`` (``"upscale"``, ``"interpolate"``, ``"enhance"``) to
    ``plan_path`` (``upframe plan``); returns ``chunks``, ``plan_id``, ``work_dir``, ...."""
    return _upframe.plan(
        command,
        os.fspath(input),
        os.fspath(output),
        _options(dict(options)),
        os.fspath(plan_path),
        chunks,
        chunk_seconds,
        None if work_dir is None else os.fspath(work_dir),
    )


def run_chunk(plan_path: PathLike, chunk: int) -> Dict[str, Any]:
    """Makes one chunk of a plan (``upframe run-chunk``); a committed chunk is skipped."""
    return _upframe.run_chunk(os.fspath(plan_path), chunk)


def join(plan_path: PathLike) -> Dict[str, Any]:
    """Checks every chunk of a plan and joins them into its output (``upframe join``)."""
    return _upframe.join(os.fspath(plan_path))


def _chunk_task(plan_path: str, chunk: int) -> Dict[str, Any]:
    # Runs in a Ray worker: the native binding, the GIL released while it works.
    from upframe import _upframe as native

    return native.run_chunk(plan_path, chunk)


def _ray():
    try:
        import ray
    except ImportError:
        from .errors import OptionError

        raise OptionError(
            "upframe.distributed needs Ray: pip install 'upframe[ray]' (or ray[default]>=2.9)"
        ) from None
    return ray


def _run(
    command: str,
    input: PathLike,
    output: PathLike,
    *,
    chunks: Optional[int],
    chunk_seconds: Optional[float],
    work_dir: Optional[PathLike],
    plan_path: Optional[PathLike],
    address: Optional[str],
    num_cpus: float,
    num_gpus: float,
    max_retries: int,
    progress: Optional[ChunkProgress],
    options: Dict[str, Any],
) -> Dict[str, Any]:
    ray = _ray()
    from .errors import ResumeError

    started = time.monotonic()
    out = Path(os.path.abspath(os.fspath(output)))
    if plan_path is None:
        plan_path = out.with_name(f".{out.name}.upframe-plan.json")
    planned = plan(
        command,
        input,
        out,
        plan_path,
        chunks=chunks,
        chunk_seconds=chunk_seconds,
        work_dir=work_dir,
        **options,
    )
    plan_seconds = time.monotonic() - started
    if not ray.is_initialized():
        # The caller's connection first; else `address` (a cluster); else a local Ray.
        ray.init(address=address) if address else ray.init()
    task = ray.remote(_chunk_task).options(
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        # A dead worker (killed, out of memory, lost node) is retried by Ray; a chunk still
        # locked by a dying earlier attempt raises ResumeError ("busy"), retried too.
        max_retries=max_retries,
        retry_exceptions=[ResumeError],
        name="upframe_chunk",
    )
    path = os.fspath(plan_path)
    count = planned["chunks"]
    total = planned.get("output_frames")
    pending = {task.remote(path, k): k for k in range(count)}
    results: List[Dict[str, Any]] = []
    frames_done = 0
    if progress is not None:
        progress(0, total)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            pending.pop(ref)
            result = ray.get(ref)
            results.append(result)
            frames_done += result["frames"]
            if progress is not None:
                progress(frames_done, total)
    chunks_seconds = time.monotonic() - started - plan_seconds
    joined = join(path)
    try:
        os.remove(path)
    except OSError:
        pass
    return {
        "output": Path(joined["output"]),
        "frames_out": joined["frames"],
        "chunks": count,
        "chunk_results": sorted(results, key=lambda r: r["chunk"]),
        "plan_seconds": plan_seconds,
        "chunks_seconds": chunks_seconds,
        "join_seconds": joined["seconds"],
        "seconds": time.monotonic() - started,
    }


def upscale(
    input: PathLike,
    output: PathLike,
    *,
    chunks: Optional[int] = None,
    chunk_seconds: Optional[float] = None,
    work_dir: Optional[PathLike] = None,
    plan_path: Optional[PathLike] = None,
    address: Optional[str] = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_retries: int = 3,
    progress: Optional[ChunkProgress] = None,
    **options: Any,
) -> Dict[str, Any]:
    """:func:`upframe.upscale` on a Ray cluster, one task per chunk.

    Args:
        chunks / chunk_seconds: how many chunks, or about how many seconds of output each
            (default about 60 s); a chunk is whole segments (``segment_frames``).
        work_dir: the shared work directory (default beside the output).
        plan_path: where the plan file goes (default ``.NAME.upframe-plan.json`` beside the
            output; removed after the join).
        address: the Ray cluster to connect to when this process has no Ray connection yet
            (``"auto"``, ``"ray://host:10001"``); ``None``: a local Ray is started.
        num_cpus, num_gpus: Ray resources of each chunk's task.
        max_retries: how often a chunk whose task failed or whose worker died is run again
            (it resumes after its complete segments).
        progress: ``progress(frames_done, frames_total)`` as chunks complete.
        **options: the options of :func:`upframe.upscale`.

    Returns a dict: ``output``, ``frames_out``, ``chunks``, ``chunk_results``,
    ``plan_seconds``, ``chunks_seconds``, ``join_seconds``, ``seconds``.
    """
    return _run(
        "upscale",
        input,
        output,
        chunks=chunks,
        chunk_seconds=chunk_seconds,
        work_dir=work_dir,
        plan_path=plan_path,
        address=address,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_retries=max_retries,
        progress=progress,
        options=options,
    )


def interpolate(
    input: PathLike,
    output: PathLike,
    *,
    chunks: Optional[int] = None,
    chunk_seconds: Optional[float] = None,
    work_dir: Optional[PathLike] = None,
    plan_path: Optional[PathLike] = None,
    address: Optional[str] = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_retries: int = 3,
    progress: Optional[ChunkProgress] = None,
    **options: Any,
) -> Dict[str, Any]:
    """:func:`upframe.interpolate` on a Ray cluster (arguments as :func:`upscale`)."""
    return _run(
        "interpolate",
        input,
        output,
        chunks=chunks,
        chunk_seconds=chunk_seconds,
        work_dir=work_dir,
        plan_path=plan_path,
        address=address,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_retries=max_retries,
        progress=progress,
        options=options,
    )


def enhance(
    input: PathLike,
    output: PathLike,
    *,
    chunks: Optional[int] = None,
    chunk_seconds: Optional[float] = None,
    work_dir: Optional[PathLike] = None,
    plan_path: Optional[PathLike] = None,
    address: Optional[str] = None,
    num_cpus: float = 1,
    num_gpus: float = 0,
    max_retries: int = 3,
    progress: Optional[ChunkProgress] = None,
    **options: Any,
) -> Dict[str, Any]:
    """:func:`upframe.enhance` on a Ray cluster (arguments as :func:`upscale`)."""
    return _run(
        "enhance",
        input,
        output,
        chunks=chunks,
        chunk_seconds=chunk_seconds,
        work_dir=work_dir,
        plan_path=plan_path,
        address=address,
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        max_retries=max_retries,
        progress=progress,
        options=options,
    )
