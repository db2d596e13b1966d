//! `FrameSource::seek_to_frame` is frame-exact: after a seek to frame `n` the source hands out
//! the frame a straight decode numbers `n`, with the same timestamp and pixels, and the frames
//! after it; `frame_times` gives the straight decode's timestamps without decoding. Checked on
//! clips made with the ffmpeg CLI from shared footage to have what seeking has to get right
//! (B-frames with a short open GOP in MP4, a first timestamp far from 0 in Matroska, variable
//! frame rate), on shared clips as they are (VP8 WebM with a first pts of 3 ms, a `--start`
//! window, VFR H.264), and on the inputs that cannot be seeked exactly (AVI without packet
//! timestamps, box.mp4's non-monotonic DTS), which fall back to decoding from the start.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use upframe_media::{open_source, DecodeOptions, Frame};

/// One frame as compared: index, timestamp and an FNV-1a hash of its samples.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    index: u64,
    pts: Option<i64>,
    hash: u64,
}

fn seen(f: &Frame) -> Seen {
    let hash = f.data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
        (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3)
    });
    Seen {
        index: f.index,
        pts: f.pts,
        hash,
    }
}

/// Frames after a target that are compared too (the decoder state after the seek).
const FOLLOWING: u64 = 3;

/// The straight decode: every frame's timestamp, and full frames at and after each target.
fn straight(path: &Path, opts: &DecodeOptions, targets: &[u64]) -> (Vec<i64>, Vec<Seen>) {
    let mut source = open_source(path, opts).expect("open");
    let wanted = |i: u64| targets.iter().any(|&t| i >= t && i <= t + FOLLOWING);
    let mut times = Vec::new();
    let mut frames = Vec::new();
    let mut i = 0u64;
    loop {
        let f = if wanted(i) {
            source.next_frame()
        } else {
            source.skip_frame()
        }
        .expect("decode");
        let Some(f) = f else { break };
        assert_eq!(f.index, i);
        times.push(f.pts.expect("pts"));
        if wanted(i) {
            frames.push(seen(&f));
        }
        i += 1;
    }
    (times, frames)
}

/// Seeks a fresh source to each target and compares with the straight decode; checks that
/// the seek was a real one (`expect_seek`) or fell back, and that it decoded fewer pictures
/// than the target's index when it seeked far enough. Returns the pictures decoded per
/// target.
fn check(path: &Path, opts: &DecodeOptions, targets: &[u64], expect_seek: bool) -> Vec<u64> {
    let (times, frames) = straight(path, opts, targets);
    let by_index = |i: u64| frames.iter().find(|s| s.index == i).cloned();
    let source = open_source(path, opts).expect("open");
    let told = source.frame_times().expect("frame_times");
    match told {
        Some(mut t) => {
            let mut got = Vec::new();
            let complete = loop {
                match t.next_pts() {
                    Ok(Some(p)) => got.push(p),
                    Ok(None) => break true,
                    Err(e) => {
                        assert!(!expect_seek, "{}: frame times: {e}", path.display());
                        break false;
                    }
                }
            };
            if complete {
                assert_eq!(got, times, "{}: frame times vs decode", path.display());
            }
        }
        None => panic!("{}: a video source tells frame times", path.display()),
    }
    let cancel = AtomicBool::new(false);
    let mut decoded = Vec::new();
    for &n in targets {
        let mut source = open_source(path, opts).expect("open");
        let report = source.seek_to_frame(n, &cancel).expect("seek");
        assert_eq!(
            report.seeked,
            expect_seek,
            "{} frame {n}: {report:?}",
            path.display()
        );
        for i in n..=n + FOLLOWING {
            let want = by_index(i);
            let got = source
                .next_frame()
                .expect("decode after seek")
                .map(|f| seen(&f));
            assert_eq!(
                got,
                want,
                "{} frame {i} after a seek to {n} ({report:?})",
                path.display()
            );
        }
        decoded.push(report.frames_decoded);
    }
    decoded
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shared clip `name` when it and the ffmpeg CLI are there.
fn clip(name: &str) -> Option<PathBuf> {
    let path = common::video(name)?;
    if !common::have_ffmpeg_cli() {
        if std::env::var_os("CI").is_some() {
            panic!("the ffmpeg CLI is missing (CI is set)");
        }
        eprintln!("skipping: no ffmpeg CLI");
        return None;
    }
    Some(path)
}

/// chaplin.mp4 as 160×90 H.264 with 3 B-frames and an open GOP of 12 (MP4: B-frames put
/// each keyframe's decode time before its presentation time, and the edit list starts the
/// first picture at pts 0).
#[test]
fn open_gop_b_frames_mp4() {
    let Some(src) = clip("chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gop.mp4");
    let out_s = out.to_str().unwrap();
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-an",
        "-vf",
        "scale=160:90",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-x264-params",
        "keyint=12:min-keyint=12:scenecut=0:bframes=3:b-adapt=0:open-gop=1",
        out_s,
    ]);
    let opts = DecodeOptions::default();
    let decoded = check(&out, &opts, &[2, 11, 12, 13, 100, 150, 238, 240], true);
    // A keyframe every 12 frames: never more than a GOP and its reorder delay decoded.
    for (n, d) in [2u64, 11, 12, 13, 100, 150, 238, 240].iter().zip(&decoded) {
        assert!(*d <= 24, "frame {n}: {d} pictures decoded before it");
    }
    // A --start window that opens on the leading pictures of an open GOP's keyframe: whether
    // the decoder shows them after the window's seek cannot be told from packets, so a seek
    // in the window falls back (and still gives the straight decode's frames).
    let window = DecodeOptions {
        start_s: Some(2.3),
        duration_s: Some(5.0),
        ..Default::default()
    };
    check(&out, &window, &[30], false);
}

/// The same with closed GOPs of 25 and 2 B-frames, as MPEG-TS shifted to start at 101.4 s (a
/// first timestamp far from 0, in a container without an index: the demuxer seeks by reading
/// and lands on any packet) with and without a frame limit, and as MP4 in a `--start`
/// window.
#[test]
fn shifted_start_ts_and_window() {
    let Some(src) = clip("chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let encode = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "-i",
            src.to_str().unwrap(),
            "-an",
            "-vf",
            "scale=160:90",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-x264-params",
            "keyint=25:bframes=2",
        ];
        args.extend_from_slice(extra);
        args.push(out.to_str().unwrap());
        ffmpeg(&args);
    };
    let ts = dir.path().join("shifted.ts");
    encode(&ts, &["-output_ts_offset", "100"]);
    check(&ts, &DecodeOptions::default(), &[3, 60, 200], true);
    let limited = DecodeOptions {
        max_frames: Some(120),
        ..Default::default()
    };
    check(&ts, &limited, &[110], true);
    let mp4 = dir.path().join("closed.mp4");
    encode(&mp4, &[]);
    // Indices count from the window's first frame.
    let window = DecodeOptions {
        start_s: Some(2.3),
        duration_s: Some(5.0),
        ..Default::default()
    };
    check(&mp4, &window, &[1, 30, 77], true);
}

/// Variable frame rate: fire2.mp4's own timestamps (80–100 ms apart, 1/90000 s) kept
/// through a re-encode with a keyframe every 4 frames, and the original (one keyframe: the
/// seek lands on frame 0 and decodes forward).
#[test]
fn variable_frame_rate() {
    let Some(src) = clip("fire2.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vfr.mp4");
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-an",
        "-vf",
        "scale=160:90",
        "-fps_mode",
        "passthrough",
        "-enc_time_base",
        "-1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-x264-params",
        "keyint=4:min-keyint=4:scenecut=0:bframes=1",
        "-video_track_timescale",
        "90000",
        out.to_str().unwrap(),
    ]);
    let decoded = check(&out, &DecodeOptions::default(), &[5, 17, 24], true);
    assert!(decoded.iter().all(|&d| d <= 6), "{decoded:?}");
    check(&src, &DecodeOptions::default(), &[9], true);
}

/// VP8 WebM as shared (first pts 3 ms, a keyframe about every 3 s) in a `--start` window.
#[test]
fn webm_window() {
    let Some(src) = clip("big_buck_bunny_0_30.webm") else {
        return;
    };
    let opts = DecodeOptions {
        start_s: Some(12.0),
        duration_s: Some(6.0),
        ..Default::default()
    };
    let decoded = check(&src, &opts, &[100, 140], true);
    assert!(
        decoded.iter().zip([100u64, 140]).any(|(&d, n)| d < n),
        "no seek saved decoding: {decoded:?}"
    );
}

/// Inputs whose frame timestamps cannot be told from packets fall back to decoding from the
/// start, and still give the straight decode's frames: AVI packets carry no presentation
/// timestamps (Megamind.avi), box.mp4's decode timestamps do not increase.
#[test]
fn unseekable_inputs_fall_back() {
    let Some(megamind) = clip("Megamind.avi") else {
        return;
    };
    let limited = DecodeOptions {
        max_frames: Some(60),
        ..Default::default()
    };
    let decoded = check(&megamind, &limited, &[40], false);
    assert_eq!(decoded, [40]);
    let Some(boxed) = clip("box.mp4") else { return };
    let skip = DecodeOptions {
        on_decode_error: upframe_media::DecodeErrorPolicy::Skip,
        max_frames: Some(80),
        ..Default::default()
    };
    check(&boxed, &skip, &[50], false);
}

/// A folder of frames (the first 12 of chaplin.mp4 as PNG): a seek goes straight to the
/// file, decoding nothing before it, and the timestamps are the frame numbers.
#[test]
fn image_sequence_jumps_to_the_file() {
    let Some(src) = clip("chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-frames:v",
        "12",
        "-vf",
        "scale=64:36",
        frames.join("%03d.png").to_str().unwrap(),
    ]);
    let decoded = check(&frames, &DecodeOptions::default(), &[0, 5, 8], true);
    assert_eq!(decoded, [0, 0, 0]);
}
