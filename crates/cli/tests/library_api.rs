//! The library face alone (no CLI) drives an upscale, an interpolation and an enhance job on a
//! shared clip; each output equals the CLI's output of the same options frame for frame. One
//! job is cancelled mid-way through its token from the progress callback: it stops with
//! `Error::Interrupted`, writes nothing under the output name, keeps its complete segments,
//! and the same call resumes and finishes with the CLI's frames.

mod common;

use std::cell::Cell;
use std::path::{Path, PathBuf};

use common::{asset, framemd5_lines, have_ff_tools, run_upframe};
use upframe::{
    EnhanceOptions, Error, Hooks, InterpolateOptions, JobOptions, Order, UpscaleOptions,
};

/// The clip, the default Real-ESRGAN model and RIFE, when the assets are there.
fn assets() -> Option<(PathBuf, PathBuf)> {
    let input = asset("media/video/chaplin.mp4")?;
    let rife = asset("models/rife-v4.25-or-v4.26/flownet.pkl")?;
    if !have_ff_tools() {
        return None;
    }
    Some((input, rife))
}

/// Lossless output so equal frames mean equal files' frames; `frames` input frames.
fn job_options(frames: u64) -> JobOptions {
    JobOptions {
        codec: Some("ffv1".into()),
        frames: Some(frames),
        ..Default::default()
    }
}

fn cli(args: &[&std::ffi::OsStr]) {
    let out = run_upframe(args);
    assert!(
        out.status.success(),
        "CLI failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn os<'a>(items: &'a [&'a dyn AsRef<std::ffi::OsStr>]) -> Vec<&'a std::ffi::OsStr> {
    items.iter().map(|i| i.as_ref()).collect()
}

fn same_frames(a: &Path, b: &Path, what: &str) {
    let (fa, fb) = (framemd5_lines(a), framemd5_lines(b));
    assert!(!fa.is_empty(), "{what}: no frames in {}", a.display());
    assert_eq!(fa, fb, "{what}: the library's frames differ from the CLI's");
}

#[test]
fn upscale_interpolate_and_enhance_through_the_library_equal_the_cli() {
    let Some((input, rife)) = assets() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // upscale: the built-in realesr-animevideov3 at ×2.
    let lib_up = d.join("lib_up.mkv");
    let up = UpscaleOptions {
        scale: Some(2.0),
        ..Default::default()
    };
    let starts = Cell::new(0);
    let mut hooks = Hooks {
        on_start: Some(Box::new(|s| {
            assert_eq!(s.output_size, (1280, 720));
            starts.set(starts.get() + 1);
        })),
        ..Default::default()
    };
    let s = upframe::upscale(&input, &lib_up, &up, &job_options(4), &mut hooks).unwrap();
    drop(hooks);
    assert_eq!(starts.get(), 1);
    assert_eq!((s.output.frames, s.frames_made), (4, 4));
    let cli_up = d.join("cli_up.mkv");
    cli(&os(&[
        &"upscale",
        &"-i",
        &input,
        &"-o",
        &cli_up,
        &"-s",
        &"2",
        &"--codec",
        &"ffv1",
        &"--frames",
        &"4",
        &"-q",
    ]));
    same_frames(&lib_up, &cli_up, "upscale");

    // interpolate: RIFE ×2.
    let lib_in = d.join("lib_in.mkv");
    let interp = InterpolateOptions {
        model: rife.display().to_string(),
        factor: Some(2),
        ..Default::default()
    };
    let s = upframe::interpolate(
        &input,
        &lib_in,
        &interp,
        &job_options(4),
        &mut Hooks::default(),
    )
    .unwrap();
    assert_eq!(s.interpolation.as_ref().map(|i| i.frames_out), Some(8));
    let cli_in = d.join("cli_in.mkv");
    cli(&os(&[
        &"interpolate",
        &"-i",
        &input,
        &"-o",
        &cli_in,
        &"-m",
        &rife,
        &"--factor",
        &"2",
        &"--codec",
        &"ffv1",
        &"--frames",
        &"4",
        &"-q",
    ]));
    same_frames(&lib_in, &cli_in, "interpolate");

    // enhance: Lanczos ×2 then RIFE ×2, upscale first.
    let lib_en = d.join("lib_en.mkv");
    let en = EnhanceOptions {
        upscale: UpscaleOptions {
            model: "lanczos".into(),
            scale: Some(2.0),
            ..Default::default()
        },
        interpolate: interp.clone(),
        order: Some(Order::UpscaleFirst),
    };
    let s = upframe::enhance(&input, &lib_en, &en, &job_options(3), &mut Hooks::default()).unwrap();
    assert_eq!(s.output_size, (1280, 720));
    let cli_en = d.join("cli_en.mkv");
    cli(&os(&[
        &"enhance",
        &"-i",
        &input,
        &"-o",
        &cli_en,
        &"-n",
        &"lanczos",
        &"-s",
        &"2",
        &"--interp-model",
        &rife,
        &"--factor",
        &"2",
        &"--order",
        &"upscale-first",
        &"--codec",
        &"ffv1",
        &"--frames",
        &"3",
        &"-q",
    ]));
    same_frames(&lib_en, &cli_en, "enhance");
}

#[test]
fn a_cancelled_library_job_keeps_its_segments_and_resumes_to_the_clis_frames() {
    let Some((input, _)) = assets() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lib.mkv");
    let up = UpscaleOptions {
        scale: Some(2.0),
        ..Default::default()
    };
    let job = JobOptions {
        segment_frames: Some(2),
        ..job_options(8)
    };

    // A token cancelled before the start: nothing is read or written.
    let mut hooks = Hooks::default();
    hooks.cancel.cancel();
    let e = upframe::upscale(&input, &out, &up, &job, &mut hooks).unwrap_err();
    assert!(e.is_interrupted(), "{e}");
    assert!(!out.exists());

    // Cancelled from the progress callback once 4 frames are written.
    let token = upframe::CancelToken::new();
    let cancel = token.clone();
    let mut hooks = Hooks {
        cancel,
        on_progress: Some(Box::new(move |p| {
            if p.frames_done >= 4 {
                token.cancel();
            }
        })),
        ..Default::default()
    };
    let e = upframe::upscale(&input, &out, &up, &job, &mut hooks).unwrap_err();
    drop(hooks);
    match &e {
        Error::Interrupted { kept: Some(kept) } => eprintln!("interrupted: {kept}"),
        other => panic!("expected an interruption with kept segments, got: {other}"),
    }
    assert!(!out.exists(), "a cancelled job wrote its output");

    // The same call resumes after the kept segments.
    let s = upframe::upscale(&input, &out, &up, &job, &mut Hooks::default()).unwrap();
    assert!(s.frames_resumed >= 4, "{} frames resumed", s.frames_resumed);
    assert_eq!(s.output.frames, 8);
    let cli_out = dir.path().join("cli.mkv");
    cli(&os(&[
        &"upscale",
        &"-i",
        &input,
        &"-o",
        &cli_out,
        &"-s",
        &"2",
        &"--codec",
        &"ffv1",
        &"--frames",
        &"8",
        &"-q",
    ]));
    same_frames(&out, &cli_out, "resumed upscale");
}

#[test]
fn bad_options_are_typed_errors_naming_the_option_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.mp4");
    let missing = dir.path().join("missing.mp4");
    let e = upframe::upscale(
        &missing,
        &out,
        &UpscaleOptions {
            tile: 0,
            scale: Some(-1.0),
            ..Default::default()
        },
        &JobOptions::default(),
        &mut Hooks::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidOption {
                option: "--scale",
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.kind(), upframe::ErrorKind::InvalidOption);
    // A missing input is refused by the preflight, before the model loads.
    let e = upframe::upscale(
        &missing,
        &out,
        &UpscaleOptions {
            model: "no-such-model".into(),
            ..Default::default()
        },
        &JobOptions::default(),
        &mut Hooks::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), upframe::ErrorKind::Input, "{e}");
    assert!(e.to_string().contains("missing.mp4"), "{e}");
    assert!(!out.exists());
}
