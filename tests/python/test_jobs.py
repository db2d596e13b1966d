"""File jobs from Python (``upframe.upscale/interpolate/enhance``) on a real clip
(``media/video/carphone_pristine.mp4``, 176×144 H.264): the progress callback, a
``KeyboardInterrupt`` from it and a real SIGINT stopping the job with its segments kept and a
re-run resuming, bad input / output / options raising the right exception with nothing
written."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import pytest

import upframe

from conftest import asset

FRAMES = 16
# Real-ESRGAN (the built-in realesr-animevideov3) at 2x: slow enough on 2 cores for several
# progress reports, fast enough for CI.
JOB = dict(scale=2, frames=FRAMES, segment_frames=4, no_audio=True)


@pytest.fixture(scope="module")
def clip() -> Path:
    return asset("media/video/carphone_pristine.mp4")


def listing(folder: Path):
    return sorted(p.name for p in folder.iterdir())


def test_progress_is_called_monotonic_and_ends_at_total(clip, tmp_path):
    calls = []
    out = tmp_path / "up.mkv"
    summary = upframe.upscale(clip, out, progress=lambda d, t: calls.append((d, t)), **JOB)
    assert out.is_file()
    assert summary["frames_out"] == FRAMES and summary["frames_made"] == FRAMES
    assert summary["output_size"] == (352, 288)
    assert len(calls) >= 2, calls
    done = [d for d, _ in calls]
    assert done == sorted(done), calls
    assert calls[-1] == (FRAMES, FRAMES), calls
    assert listing(tmp_path) == ["up.mkv"]  # no work directory left behind


def test_keyboard_interrupt_from_callback_stops_and_a_rerun_resumes(clip, tmp_path):
    out = tmp_path / "up.mkv"

    def stop_after_a_segment(done, total):
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(upframe.Interrupted) as caught:
        upframe.upscale(clip, out, progress=stop_after_a_segment, **JOB)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert isinstance(caught.value.__cause__, KeyboardInterrupt)
    message = str(caught.value)
    assert message.startswith("interrupted") and "resume" in message, message
    assert not out.exists()
    # Complete segments are kept beside the output for the re-run.
    assert listing(tmp_path) == [".up.mkv.upframe-work"]

    summary = upframe.upscale(clip, out, **JOB)
    assert summary["frames_resumed"] >= 4, summary
    assert summary["frames_resumed"] + summary["frames_made"] == FRAMES
    assert summary["frames_out"] == FRAMES
    assert listing(tmp_path) == ["up.mkv"]


def test_ctrl_c_while_native_code_runs_stops_the_job(clip, tmp_path):
    out = tmp_path / "up.mkv"
    started = threading.Event()

    def on_progress(done, total):
        started.set()

    def press_ctrl_c():
        started.wait(60)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    presser.start()
    try:
        with pytest.raises(upframe.Interrupted):
            upframe.upscale(clip, out, progress=on_progress, **JOB)
    finally:
        presser.join()
    assert not out.exists()


def test_other_exceptions_from_the_callback_propagate(clip, tmp_path):
    out = tmp_path / "up.mkv"

    def broken(done, total):
        raise ZeroDivisionError("callback bug")

    with pytest.raises(ZeroDivisionError, match="callback bug"):
        upframe.upscale(clip, out, progress=broken, **JOB)
    assert not out.exists()


def test_interpolate_and_enhance_jobs(clip, rife_dir, tmp_path):
    out = tmp_path / "x2.mkv"
    summary = upframe.interpolate(
        clip, out, model=str(rife_dir), factor=2, frames=6, no_audio=True
    )
    assert summary["interpolated"] >= 5 and summary["frames_out"] >= 11, summary
    assert summary["device"] is None, summary
    out2 = tmp_path / "enh.mkv"
    summary = upframe.enhance(
        clip,
        out2,
        model="lanczos",
        scale=2,
        interp_model=str(rife_dir),
        factor=2,
        frames=4,
        no_audio=True,
    )
    assert summary["output_size"] == (352, 288) and summary["frames_out"] >= 7, summary


def test_interpolate_job_takes_device(clip, rife_dir, tmp_path):
    # "auto" records its choice either way: the CPU with the reason where the only adapter is
    # software (lavapipe in CI), else the GPU.
    summary = upframe.interpolate(
        clip,
        tmp_path / "auto.mkv",
        model=str(rife_dir),
        factor=2,
        frames=2,
        no_audio=True,
        device="auto",
    )
    d = summary["device"]
    assert d is not None and summary["interpolated"] >= 1, summary
    assert d["device"] == "cpu" and d["fallback"] or d["device"].startswith("gpu:"), d
    with pytest.raises(upframe.OptionError, match="--device tpu"):
        upframe.interpolate(clip, tmp_path / "o.mkv", model=str(rife_dir), device="tpu")
    assert listing(tmp_path) == ["auto.mkv"]


def test_bad_input_raises_input_error_and_writes_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(upframe.InputError) as caught:
        upframe.upscale(tmp_path / "missing.mp4", out)
    assert "missing.mp4" in str(caught.value)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(upframe.InputError, match="garbage.mp4"):
        upframe.upscale(garbage, out, scale=2)
    assert listing(tmp_path) == ["garbage.mp4"]


def test_taken_output_and_bad_options(clip, tmp_path):
    taken = tmp_path / "taken.mkv"
    taken.write_bytes(b"keep me")
    with pytest.raises(upframe.OutputError, match="taken.mkv"):
        upframe.upscale(clip, taken, scale=2, frames=2)
    assert taken.read_bytes() == b"keep me"
    with pytest.raises(upframe.OptionError, match="unknown option 'tiles'"):
        upframe.upscale(clip, tmp_path / "o.mkv", tiles=64)
    with pytest.raises(upframe.OptionError, match="--tile"):
        upframe.upscale(clip, tmp_path / "o.mkv", tile=-1)
    with pytest.raises(upframe.OptionError, match="--scale"):
        upframe.upscale(clip, tmp_path / "o.mkv", scale=0)
    with pytest.raises(upframe.OptionError, match="--start"):
        upframe.upscale(clip, tmp_path / "o.mkv", start="1:xx")
    with pytest.raises(upframe.OptionError, match="--device tpu"):
        upframe.upscale(clip, tmp_path / "o.mkv", device="tpu")
    with pytest.raises(upframe.OptionError, match="--precision"):
        upframe.upscale(clip, tmp_path / "o.mkv", precision="fp16")
    with pytest.raises(upframe.ModelError, match="no-such-model"):
        upframe.upscale(clip, tmp_path / "o.mkv", model="no-such-model")
    assert listing(tmp_path) == ["taken.mkv"]


def test_times_and_bitrates_as_numbers_or_strings(clip, tmp_path):
    """``start``/``duration`` and ``bitrate`` take a number or the CLI's syntax as a string
    (read by the library's parsers, the ones the CLI uses), with the same result; a bad value
    raises OptionError naming the option and the syntax, and writes nothing."""
    lanczos = dict(model="lanczos", scale=2, no_audio=True, preset="ultrafast")
    numbers = upframe.upscale(
        clip, tmp_path / "a.mkv", start=1, duration=0.5, bitrate=300_000, **lanczos
    )
    strings = upframe.upscale(
        clip,
        tmp_path / "b.mkv",
        start="0:01",
        duration="00:00:00.5",
        bitrate="300k",
        **lanczos,
    )
    assert numbers["frames_out"] == strings["frames_out"] > 0, (numbers, strings)
    assert listing(tmp_path) == ["a.mkv", "b.mkv"]
    out = tmp_path / "o.mkv"
    refusals = [
        (
            dict(start="1:xx"),
            "--start '1:xx': invalid time: use seconds (12.5) or [HH:]MM:SS[.ms]",
        ),
        (dict(duration="-3"), "--duration '-3': invalid time"),
        (dict(duration=0), "--duration must be greater than 0"),
        (dict(start=[1]), "--start: expected seconds"),
        (
            dict(bitrate="fast"),
            "--bitrate 'fast': invalid bit rate: use e.g. 8M, 2500k or 1500000",
        ),
        (dict(bitrate=0), "--bitrate must be greater than 0"),
        (dict(bitrate=8e6), "--bitrate: expected bits per second"),
        (dict(alpha="nope"), "--alpha nope: expected one of realesrgan, linear, lanczos"),
        (dict(on_decode_error="ignore"), "--on-decode-error ignore: expected one of abort, skip"),
    ]
    for options, message in refusals:
        with pytest.raises(upframe.OptionError, match=re.escape(message)):
            upframe.upscale(clip, out, **{**lanczos, **options})
    with pytest.raises(upframe.OptionError, match=re.escape("--order sideways: expected one of")):
        upframe.enhance(clip, out, order="sideways", **lanczos)
    assert listing(tmp_path) == ["a.mkv", "b.mkv"]
