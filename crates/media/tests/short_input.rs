//! Short inputs at the source: real clips cut with a byte truncation (MP4 with its index
//! first, WebM, a raw HEVC stream) end early against what their container declares, and
//! numbered frame sequences with a gap; `Abort` makes that a one-line error, `Skip` reads the
//! frames that exist and reports the shortfall. Whole files, windows that end before the cut,
//! box.mp4's one undecodable frame and the other shared clips stay successes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use upframe_media::{
    open_source, DecodeErrorPolicy, DecodeOptions, FrameSource, MediaError, ShortInput,
};

fn skip() -> DecodeOptions {
    DecodeOptions {
        on_decode_error: DecodeErrorPolicy::Skip,
        ..Default::default()
    }
}

/// Reads `path` to the end: the frames read, or the error.
fn read_all(path: &Path, opts: &DecodeOptions) -> Result<(u64, Box<dyn FrameSource>), MediaError> {
    let mut src = open_source(path, opts)?;
    let mut n = 0;
    while src.next_frame()?.is_some() {
        n += 1;
    }
    Ok((n, src))
}

/// `ffmpeg -i src -c copy -movflags +faststart dst`: an MP4 whose index (moov) comes first.
fn faststart_copy(src: &Path, dst: &Path) -> bool {
    if !common::have_ffmpeg_cli() {
        if std::env::var_os("CI").is_some() {
            panic!("the ffmpeg CLI is missing (CI is set)");
        }
        eprintln!("skipping: ffmpeg CLI not installed");
        return false;
    }
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(src)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(dst)
        .status()
        .expect("run ffmpeg")
        .success();
    assert!(ok, "ffmpeg remux failed");
    true
}

/// The first `fraction` of `src`'s bytes as `dst`.
fn cut(src: &Path, dst: &Path, fraction: f64) {
    let bytes = std::fs::read(src).unwrap();
    std::fs::write(dst, &bytes[..(bytes.len() as f64 * fraction) as usize]).unwrap();
}

fn assert_one_line(e: &MediaError, path: &Path) -> String {
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(
        msg.starts_with(&path.display().to_string()),
        "names the file: {msg}"
    );
    msg
}

/// chaplin.mp4 (241 frames, 9.64 s) remuxed with its index first, then the copy and a cut.
fn chaplin_faststart(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let chaplin = common::video("chaplin.mp4")?;
    let whole = dir.join("chaplin_fs.mp4");
    if !faststart_copy(&chaplin, &whole) {
        return None;
    }
    let short = dir.join("chaplin_cut.mp4");
    cut(&whole, &short, 0.4);
    Some((whole, short))
}

#[test]
fn faststart_mp4_cut_in_the_middle_ends_early() {
    let dir = tempfile::tempdir().unwrap();
    let Some((whole, short)) = chaplin_faststart(dir.path()) else {
        return;
    };
    // The whole remuxed file is no short input, under either policy.
    let (n, src) = read_all(&whole, &Default::default()).expect("whole file");
    assert_eq!(n, 241);
    assert!(src.short_input().is_none());
    let (n, src) = read_all(&whole, &skip()).expect("whole file");
    assert_eq!(n, 241);
    assert!(src.short_input().is_none());

    // Abort: a one-line error with what was declared and what was read.
    let err = match read_all(&short, &Default::default()) {
        Ok((n, _)) => panic!("a cut file read as {n} frames without an error"),
        Err(e) => e,
    };
    let msg = assert_one_line(&err, &short);
    let MediaError::ShortInput(ShortInput::EndsEarly {
        declared_frames,
        read_frames,
        declared_s,
        read_s,
        ..
    }) = err
    else {
        panic!("not an ends-early error: {msg}");
    };
    assert_eq!(declared_frames, Some(241), "{msg}");
    assert!((20..200).contains(&read_frames), "{msg}");
    let declared_s = declared_s.expect("a declared duration");
    assert!((declared_s - 9.64).abs() < 0.05, "{msg}");
    assert!(read_s > 0.5 && read_s < declared_s - 1.0, "{msg}");
    assert!(
        msg.contains(&format!("ends early: {read_frames} of 241 frames")),
        "{msg}"
    );
    assert!(msg.contains("truncated or damaged"), "{msg}");

    // Skip: the frames that exist, and the same shortfall reported.
    let (n, src) = read_all(&short, &skip()).expect("skip accepts a short input");
    let Some(ShortInput::EndsEarly {
        read_frames: read_skip,
        end_s,
        ..
    }) = src.short_input().cloned()
    else {
        panic!("no shortfall reported under skip");
    };
    assert_eq!(read_skip, n, "{} skipped", src.skipped_frames());
    assert!(
        read_skip.abs_diff(read_frames) <= 1,
        "{read_skip} vs {read_frames}"
    );
    // The real end: just after the last frame (25 fps).
    assert!(
        (end_s - n as f64 / 25.0).abs() < 0.1,
        "end {end_s} for {n} frames"
    );
}

#[test]
fn windows_are_compared_with_what_they_should_hold() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_, short)) = chaplin_faststart(dir.path()) else {
        return;
    };
    // A window that ends before the cut holds everything it should.
    for opts in [
        DecodeOptions {
            duration_s: Some(1.0),
            ..Default::default()
        },
        DecodeOptions {
            start_s: Some(0.5),
            duration_s: Some(1.0),
            ..Default::default()
        },
        DecodeOptions {
            max_frames: Some(10),
            ..Default::default()
        },
    ] {
        let (n, src) = read_all(&short, &opts).expect("a window before the cut");
        assert!(n > 0 && src.short_input().is_none(), "{opts:?}");
    }
    // A window that runs past the cut does not: it names the window's own extent.
    let opts = DecodeOptions {
        start_s: Some(1.0),
        duration_s: Some(6.0),
        ..Default::default()
    };
    let err = read_all(&short, &opts).err().expect("window past the cut");
    let msg = assert_one_line(&err, &short);
    assert!(
        matches!(
            err,
            MediaError::ShortInput(ShortInput::EndsEarly {
                declared_s: Some(d),
                declared_frames: Some(150),
                ..
            }) if (d - 6.0).abs() < 1e-6
        ),
        "{msg}"
    );
    let opts = DecodeOptions {
        max_frames: Some(200),
        ..Default::default()
    };
    let err = read_all(&short, &opts)
        .err()
        .expect("--frames past the cut");
    let msg = assert_one_line(&err, &short);
    assert!(msg.contains("of 200 frames"), "{msg}");
}

/// WebM declares no frame count: its duration is the declaration.
#[test]
fn webm_cut_mid_cluster_ends_early() {
    let Some(bbb) = common::video("big_buck_bunny_0_30.webm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("bbb_cut.webm");
    cut(&bbb, &short, 0.2);
    let err = read_all(&short, &Default::default())
        .err()
        .expect("a cut webm");
    let msg = assert_one_line(&err, &short);
    let MediaError::ShortInput(ShortInput::EndsEarly {
        declared_frames: None,
        declared_s: Some(d),
        read_frames,
        ..
    }) = err
    else {
        panic!("{msg}");
    };
    assert!((d - 30.0).abs() < 0.01, "{msg}");
    assert!(msg.contains(&format!("ends early: {read_frames} frames (")));
    let (n, src) = read_all(&short, &skip()).expect("skip");
    assert!(src.short_input().is_some());
    assert_eq!(n, read_frames);
    // The whole file is not short.
    let (n, src) = read_all(&bbb, &skip()).expect("whole webm");
    assert_eq!(n, 720);
    assert!(src.short_input().is_none());
}

/// A raw HEVC stream declares nothing: only data that stops inside a frame is short.
#[test]
fn raw_hevc_cut_inside_a_frame() {
    let Some(tos) = common::video("ToS-s01_hdr10_main10.h265") else {
        return;
    };
    let (n, _) = read_all(&tos, &Default::default()).expect("whole stream");
    assert_eq!(n, 6);
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("tos_cut.h265");
    cut(&tos, &short, 0.6);
    match read_all(&short, &Default::default()) {
        Ok((n, _)) => panic!("{n} frames from a stream cut inside a frame, no error"),
        Err(e) => {
            let msg = assert_one_line(&e, &short);
            assert!(
                matches!(
                    e,
                    MediaError::ShortInput(ShortInput::EndsEarly {
                        declared_frames: None,
                        declared_s: None,
                        ..
                    })
                ),
                "{msg}"
            );
        }
    }
    let (n, _) = read_all(&short, &skip()).expect("skip");
    assert!((1..6).contains(&n), "{n}");
}

/// Legitimately short or irregular clips are not short inputs: box.mp4 (456 in the header,
/// 455 decode), Megamind's truncated last AC-3 frame, fire2's VFR timing, the alpha WebM.
#[test]
fn whole_clips_are_not_short() {
    for (name, frames) in [
        ("box.mp4", 455),
        ("Megamind.avi", 270),
        ("fire2.mp4", 25),
        ("anime_alpha_vp8.webm", 58),
        ("carphone_pristine.mp4", 120),
    ] {
        let Some(p) = common::video(name) else {
            return;
        };
        let (n, src) = read_all(&p, &skip()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(n, frames, "{name}");
        assert!(src.short_input().is_none(), "{name}");
    }
}

/// Copies `n` real frames (PNG files) named by `name(i)` into `dir`.
fn png_frames(dir: &Path, numbers: &[u64], name: impl Fn(u64) -> String) -> bool {
    let Some(src) = common::asset("media/interp/vimeo90k_triplet_eggs/im1.png") else {
        return false;
    };
    std::fs::create_dir_all(dir).unwrap();
    for &n in numbers {
        std::fs::copy(&src, dir.join(name(n))).unwrap();
    }
    true
}

#[test]
fn sequence_with_a_gap_is_refused_or_read_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    // 1..=8 without 5 and 6.
    if !png_frames(&frames, &[1, 2, 3, 4, 7, 8], |n| format!("{n:06}.png")) {
        return;
    }
    let pattern = frames.join("%06d.png");
    for input in [&pattern, &frames] {
        let err = read_all(input, &Default::default())
            .err()
            .expect("a gap is refused");
        let msg = assert_one_line(&err, input);
        assert!(
            msg.contains("frame 5 (000005.png) is missing (2 frames missing in all)"),
            "{msg}"
        );
        assert!(
            matches!(
                err,
                MediaError::ShortInput(ShortInput::MissingFrames {
                    number: 5,
                    missing: 2,
                    ..
                })
            ),
            "{msg}"
        );
        let (n, src) = read_all(input, &skip()).expect("skip reads around the gap");
        assert_eq!(n, 6);
        assert!(
            matches!(
                src.short_input(),
                Some(ShortInput::MissingFrames { number: 5, .. })
            ),
            "{:?}",
            src.short_input()
        );
        // Frames read before the gap are all there is to check.
        let opts = DecodeOptions {
            max_frames: Some(4),
            ..Default::default()
        };
        let (n, _) = read_all(input, &opts).expect("a window before the gap");
        assert_eq!(n, 4);
    }
    // Other zero-padded names in a directory: the missing one is named the same way.
    let padded = dir.path().join("padded");
    if !png_frames(&padded, &[8, 9, 11], |n| format!("shot_{n:02}.png")) {
        return;
    }
    let err = read_all(&padded, &Default::default()).err().expect("gap");
    let msg = assert_one_line(&err, &padded);
    assert!(msg.contains("frame 10 (shot_10.png) is missing;"), "{msg}");
    // Unpadded names in a directory are numbered pictures, not a frame dump: not checked
    // (a pattern says it is numbered, and is).
    let plain = dir.path().join("plain");
    if !png_frames(&plain, &[8, 9, 11], |n| format!("shot_{n}.png")) {
        return;
    }
    let (n, _) = read_all(&plain, &Default::default()).expect("not a frame dump");
    assert_eq!(n, 3);
    let err = read_all(&plain.join("shot_%d.png"), &Default::default())
        .err()
        .expect("gap in a pattern");
    let msg = assert_one_line(&err, &plain.join("shot_%d.png"));
    assert!(msg.contains("frame 10 (shot_10.png) is missing;"), "{msg}");
    // Names that are not one numbering are not checked for gaps.
    let mixed = dir.path().join("mixed");
    if !png_frames(&mixed, &[1, 3], |n| format!("take{n:02}_a.png")) {
        return;
    }
    std::fs::copy(mixed.join("take01_a.png"), mixed.join("cover.png")).unwrap();
    let (n, _) = read_all(&mixed, &Default::default()).expect("not a numbered sequence");
    assert_eq!(n, 3);
}
