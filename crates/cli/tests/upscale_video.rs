//! `upframe upscale --model lanczos --scale 2` on the real clips of the shared corpus, checked
//! independently with ffprobe/ffmpeg: frame counts, per-frame timestamps (VFR too), audio
//! packets bit-identical with the same timing, 10-bit + HDR tags kept, alpha kept, and pixels
//! equal to FFmpeg's own Lanczos scaler on the same decoded frames (lossless FFV1 RGB output).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use upframe_media::{open_source, DecodeOptions};

fn upscale(input: &Path, output: &Path, extra: &[&str]) {
    let out = upframe()
        .args([
            "upscale", "--quiet", "--model", "lanczos", "--scale", "2", "-i",
        ])
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(extra)
        .output()
        .expect("run upframe");
    assert!(
        out.status.success(),
        "upframe failed on {}: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    if !output.to_string_lossy().contains('%') {
        assert!(output.exists());
    }
}

fn assert_times_equal(input: &[f64], output: &[f64], tol: f64) {
    assert_eq!(input.len(), output.len(), "frame counts differ");
    for (i, (a, b)) in input.iter().zip(output).enumerate() {
        assert!((a - b).abs() <= tol, "frame {i}: input t={a} output t={b}");
    }
}

/// Output audio packets equal the input's first packets: same bytes, same duration, same time.
fn assert_audio_copied(input: &Path, output: &Path, min_packets: usize) {
    let a_in = audio_packets(input);
    let a_out = audio_packets(output);
    assert!(
        a_out.len() >= min_packets,
        "only {} audio packets in the output",
        a_out.len()
    );
    assert!(a_out.len() <= a_in.len());
    for (i, (o, s)) in a_out.iter().zip(&a_in).enumerate() {
        assert_eq!(o.3, s.3, "audio packet {i}: payload differs");
        assert_eq!(o.2, s.2, "audio packet {i}: size differs");
        assert!(
            (o.1 - s.1).abs() < 1e-3,
            "audio packet {i}: duration {} vs {}",
            o.1,
            s.1
        );
        assert!(
            (o.0 - s.0).abs() < 2e-3,
            "audio packet {i}: pts {} vs {}",
            o.0,
            s.0
        );
    }
}

/// Our output (lossless RGB) against FFmpeg's swscale Lanczos applied to the very frames
/// upframe decoded (fed to the ffmpeg CLI as raw float RGB): isolates the resize.
/// Returns (mean abs diff, fraction of samples off by more than 1.5/255).
fn pixel_parity(input: &Path, output: &Path, frames: u64, channels: usize) -> (f64, f64) {
    let opts = DecodeOptions {
        max_frames: Some(frames),
        ..DecodeOptions::default()
    };
    let mut src = open_source(input, &opts).expect("decode input");
    let mut ours = open_source(output, &DecodeOptions::default()).expect("decode output");
    let (mut sum, mut n, mut off) = (0f64, 0usize, 0usize);
    let mut count = 0;
    while let Some(f) = src.next_frame().expect("input frame") {
        assert_eq!(f.channels, channels);
        let (w, h) = (f.width, f.height);
        let fmt = if channels == 4 {
            "gbrapf32le"
        } else {
            "gbrpf32le"
        };
        // Planar G, B, R(, A).
        let plane = w * h;
        let order: &[usize] = if channels == 4 {
            &[1, 2, 0, 3]
        } else {
            &[1, 2, 0]
        };
        let mut raw = Vec::with_capacity(plane * channels * 4);
        for &c in order {
            for i in 0..plane {
                raw.extend_from_slice(&f.data[i * channels + c].to_le_bytes());
            }
        }
        let mut child = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", fmt])
            .args(["-s", &format!("{w}x{h}"), "-i", "-"])
            .args([
                "-vf",
                &format!(
                    "scale={}:{}:flags=lanczos+accurate_rnd+full_chroma_int+bitexact,format={fmt}",
                    w * 2,
                    h * 2
                ),
            ])
            .args(["-f", "rawvideo", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ffmpeg");
        let mut stdin = child.stdin.take().expect("stdin");
        let writer = std::thread::spawn(move || stdin.write_all(&raw));
        let out = child.wait_with_output().expect("ffmpeg output");
        writer.join().expect("writer").expect("write to ffmpeg");
        let reference: Vec<f32> = out
            .stdout
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let o = ours
            .next_frame()
            .expect("output frame")
            .expect("output has the frame");
        assert_eq!((o.width, o.height, o.channels), (w * 2, h * 2, channels));
        let oplane = o.width * o.height;
        assert_eq!(reference.len(), oplane * channels);
        for (pi, &c) in order.iter().enumerate() {
            for i in 0..oplane {
                let d = (reference[pi * oplane + i] - o.data[i * channels + c]).abs() as f64;
                sum += d;
                n += 1;
                if d > 1.5 / 255.0 {
                    off += 1;
                }
            }
        }
        count += 1;
    }
    assert_eq!(count, frames);
    assert!(
        ours.next_frame().expect("end").is_none(),
        "extra output frames"
    );
    (sum / n as f64, off as f64 / n as f64)
}

// Pixels are checked on PNG sequences: lossless 8-bit RGB(A), so the tolerance measures the
// resize. (FFV1 with bgr0/bgra through upframe-media was measured lossy, 38 dB against the PNG
// output, at the time of writing.)
#[test]
fn vtest_avi_pixels_match_ffmpeg_lanczos() {
    let Some(input) = asset("media/video/vtest.avi") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("vtest_%04d.png");
    upscale(&input, &pattern, &["--frames", "4"]);
    assert_eq!(files_named_like(dir.path(), "vtest_").len(), 4);
    let (mean, off) = pixel_parity(&input, &pattern, 4, 3);
    eprintln!(
        "vtest x2 vs swscale lanczos: mean |diff| {mean:.2e}, {:.3}% samples > 1.5/255",
        off * 100.0
    );
    // 8-bit output quantisation (<= 0.5/255) + fixed-point swscale (see README): mean well under
    // half a level, almost no sample more than 1.5 levels away.
    assert!(mean < 1.5e-3, "mean {mean}");
    assert!(off < 0.005, "fraction {off}");
}

#[test]
fn vtest_avi_timestamps_and_size() {
    let Some(input) = asset("media/video/vtest.avi") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("vtest_2x.mkv");
    upscale(
        &input,
        &output,
        &["--frames", "10", "--preset", "ultrafast", "--crf", "30"],
    );
    let st = video_stream(&output);
    assert_eq!(
        (st["width"].as_u64(), st["height"].as_u64()),
        (Some(1536), Some(1152))
    );
    let t_in: Vec<f64> = video_frame_times(&input, &[])
        .into_iter()
        .take(10)
        .collect();
    assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
}

#[test]
fn anime_alpha_webm_keeps_alpha_and_pixels() {
    let Some(input) = asset("media/video/anime_alpha_vp8.webm") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("alpha_%04d.png");
    upscale(&input, &pattern, &["--frames", "2"]);
    let (mean, off) = pixel_parity(&input, &pattern, 2, 4);
    eprintln!(
        "alpha x2 vs swscale lanczos: mean |diff| {mean:.2e}, {:.3}% samples > 1.5/255",
        off * 100.0
    );
    assert!(mean < 1.5e-3, "mean {mean}");
    assert!(off < 0.01, "fraction {off}");

    // In a video container too: the default for alpha in .mkv is FFV1 with yuva420p.
    let output = dir.path().join("alpha_2x.mkv");
    upscale(&input, &output, &["--frames", "2"]);
    let st = video_stream(&output);
    assert_eq!(st["pix_fmt"].as_str(), Some("yuva420p"));
    let t_in: Vec<f64> = video_frame_times(&input, &[]).into_iter().take(2).collect();
    assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
}

#[test]
fn fire2_vfr_rotation_and_aac_survive() {
    let Some(input) = asset("media/video/fire2.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("fire2_2x.mp4");
    upscale(&input, &output, &["--preset", "ultrafast", "--crf", "30"]);
    let t_in = video_frame_times(&input, &[]);
    assert_eq!(t_in.len(), 25);
    let t_out = video_frame_times(&output, &[]);
    assert_times_equal(&t_in, &t_out, 1e-4);
    // VFR: the frame durations really vary (80-100 ms), and they were kept.
    let d: Vec<f64> = t_out.windows(2).map(|w| w[1] - w[0]).collect();
    let (lo, hi) = d
        .iter()
        .fold((f64::MAX, 0f64), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(hi - lo > 0.01, "durations {d:?}");
    let st = video_stream(&output);
    assert_eq!(
        (st["width"].as_u64(), st["height"].as_u64()),
        (Some(2560), Some(1440))
    );
    let rot = st["side_data_list"]
        .as_array()
        .and_then(|l| l.iter().find_map(|s| s["rotation"].as_i64()))
        .expect("display matrix in the output");
    assert_eq!(rot.abs(), 180);
    assert_audio_copied(&input, &output, audio_packets(&input).len());
}

#[test]
fn megamind_ac3_window_copies_audio() {
    let Some(input) = asset("media/video/Megamind.avi") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("megamind_2x.mkv");
    upscale(
        &input,
        &output,
        &["--frames", "24", "--preset", "ultrafast", "--crf", "30"],
    );
    let t_in: Vec<f64> = video_frame_times(&input, &[])
        .into_iter()
        .take(24)
        .collect();
    assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
    // 24 frames at 23.976 fps ≈ 1 s of AC-3 (32 ms packets).
    assert_audio_copied(&input, &output, 28);
}

#[test]
fn chaplin_mp3_and_bbb_vorbis_windows() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    if let Some(input) = asset("media/video/chaplin.mp4") {
        let output = dir.path().join("chaplin_2x.mp4");
        upscale(
            &input,
            &output,
            &["--frames", "25", "--preset", "ultrafast", "--crf", "30"],
        );
        let t_in: Vec<f64> = video_frame_times(&input, &[])
            .into_iter()
            .take(25)
            .collect();
        assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
        // 1 s of 44.1 kHz MP3 (26 ms packets).
        assert_audio_copied(&input, &output, 35);
    }
    if let Some(input) = asset("media/video/big_buck_bunny_0_30.webm") {
        let output = dir.path().join("bbb_2x.mkv");
        upscale(
            &input,
            &output,
            &["--frames", "12", "--preset", "ultrafast", "--crf", "30"],
        );
        let t_in: Vec<f64> = video_frame_times(&input, &[])
            .into_iter()
            .take(12)
            .collect();
        assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
        assert_audio_copied(&input, &output, 10);
    }
}

#[test]
fn hdr10_main10_stays_10_bit_with_its_tags() {
    let Some(input) = asset("media/video/ToS-s01_hdr10_main10.h265") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("tos_2x.mkv");
    upscale(&input, &output, &["--preset", "ultrafast"]);
    let st = video_stream(&output);
    assert_eq!(st["pix_fmt"].as_str(), Some("yuv420p10le"));
    assert_eq!(
        (st["width"].as_u64(), st["height"].as_u64()),
        (Some(3840), Some(1600))
    );
    assert_eq!(st["color_primaries"].as_str(), Some("bt2020"));
    assert_eq!(st["color_transfer"].as_str(), Some("smpte2084"));
    assert_eq!(st["color_space"].as_str(), Some("bt2020nc"));
    assert_eq!(st["color_range"].as_str(), Some("tv"));
    assert_eq!(video_frame_times(&output, &[]).len(), 6);
}

#[test]
fn box_mp4_decode_errors_skip_or_abort_in_one_line() {
    let Some(input) = asset("media/video/box.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let aborted = dir.path().join("box_abort.mp4");
    let out = upframe()
        .args(["upscale", "--quiet", "--model", "lanczos", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&aborted)
        .args(["--frames", "10", "--preset", "ultrafast"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("upframe: error: "), "{err}");
    assert!(lines[0].contains("box.mp4"), "{err}");
    assert!(!aborted.exists(), "a failed run left its output");
    assert!(
        files_named_like(dir.path(), "box_abort").is_empty(),
        "temporary left behind"
    );

    let skipped = dir.path().join("box_skip.mp4");
    upscale(
        &input,
        &skipped,
        &[
            "--frames",
            "10",
            "--on-decode-error",
            "skip",
            "--preset",
            "ultrafast",
            "--crf",
            "30",
        ],
    );
    let t_out = video_frame_times(&skipped, &[]);
    assert_eq!(t_out.len(), 10);
    assert!(t_out.windows(2).all(|w| w[1] > w[0]), "{t_out:?}");
    assert!(!audio_packets(&skipped).is_empty());
}

#[test]
fn start_and_duration_window_shifts_video_and_audio_together() {
    let Some(input) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("chaplin_window.mp4");
    upscale(
        &input,
        &output,
        &[
            "--start",
            "2",
            "--duration",
            "1",
            "--preset",
            "ultrafast",
            "--crf",
            "30",
        ],
    );
    // 25 fps: the frames from t = 2.00 s to 2.96 s, shifted to start at 0.
    let t_in: Vec<f64> = video_frame_times(&input, &[])
        .into_iter()
        .filter(|&t| (2.0 - 1e-6..3.0 - 1e-6).contains(&t))
        .map(|t| t - 2.0)
        .collect();
    assert_eq!(t_in.len(), 25);
    assert_times_equal(&t_in, &video_frame_times(&output, &[]), 1e-3);
    // Audio: a run of the input's packets, bit-identical, covering about the same second.
    let a_in = audio_packets(&input);
    let a_out = audio_packets(&output);
    assert!(a_out.len() >= 35, "{} packets", a_out.len());
    let first = a_in
        .iter()
        .position(|p| p.3 == a_out[0].3)
        .expect("first output audio packet comes from the input");
    assert!(
        (a_in[first].0 - 2.0).abs() < 0.05,
        "window starts at {}",
        a_in[first].0
    );
    for (i, (o, s)) in a_out.iter().zip(&a_in[first..]).enumerate() {
        assert_eq!((o.2, &o.3), (s.2, &s.3), "audio packet {i}");
        assert!(
            (o.0 - (s.0 - 2.0)).abs() < 0.05,
            "audio packet {i}: {} vs {}",
            o.0,
            s.0
        );
    }
}
