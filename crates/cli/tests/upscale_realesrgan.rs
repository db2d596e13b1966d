//! `upframe upscale -n realesr-animevideov3` end to end: a video (size, frame count,
//! timestamps and audio packets checked with ffprobe), an RGBA image against the official
//! RealESRGANer output, and the Real-ESRGAN option errors.

mod common;

use std::path::Path;

use common::*;
use upframe_media::{read_image, SampleDepth};

fn model_dir() -> Option<std::path::PathBuf> {
    asset("models/realesr-animevideov3.pth")?;
    asset("models")
}

#[test]
fn chaplin_x2_with_animevideov3_keeps_timing_and_audio() {
    let (Some(models), Some(input)) = (model_dir(), asset("media/video/chaplin.mp4")) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("chaplin_esrgan_2x.mp4");
    let frames = 10;
    let out = upframe()
        .args([
            "upscale",
            "--quiet",
            "--json",
            "-n",
            "realesr-animevideov3",
            "-s",
            "2",
        ])
        .arg("--model-dir")
        .arg(&models)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--frames", &frames.to_string(), "--preset", "ultrafast"])
        .output()
        .expect("run upframe");
    assert!(
        out.status.success(),
        "upframe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    println!(
        "{frames} frames: {} fps, peak RSS {} MiB",
        summary["fps"], summary["peak_rss_mib"]
    );
    let st = video_stream(&output);
    assert_eq!(
        (st["width"].as_u64(), st["height"].as_u64()),
        (Some(1280), Some(720))
    );
    let t_in: Vec<f64> = video_frame_times(&input, &[])
        .into_iter()
        .take(frames)
        .collect();
    let t_out = video_frame_times(&output, &[]);
    assert_eq!(t_out.len(), frames);
    for (a, b) in t_in.iter().zip(&t_out) {
        assert!((a - b).abs() < 1e-3, "input t={a} output t={b}");
    }
    let (a_in, a_out) = (audio_packets(&input), audio_packets(&output));
    assert!(a_out.len() >= 10, "only {} audio packets", a_out.len());
    for (i, (o, s)) in a_out.iter().zip(&a_in).enumerate() {
        assert_eq!((&o.3, o.2), (&s.3, s.2), "audio packet {i} differs");
        assert!(
            (o.0 - s.0).abs() < 2e-3,
            "audio packet {i}: pts {} vs {}",
            o.0,
            s.0
        );
    }
}

#[test]
fn rgba_image_matches_realesrganer_through_the_cli() {
    let (Some(models), Some(input), Some(golden)) = (
        model_dir(),
        asset("media/sr/realesrgan_inputs/children-alpha.png"),
        asset("goldens/pipeline/children-alpha__t0_pre0_out2.png"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("children_2x.png");
    let model = models.join("realesr-animevideov3.pth");
    let out = upframe()
        .args([
            "upscale",
            "--quiet",
            "-s",
            "2",
            "--fp32",
            "--tile-pad",
            "10",
        ])
        .arg("-n")
        .arg(&model)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("run upframe");
    assert!(
        out.status.success(),
        "upframe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ours, theirs) = (
        read_image(&output).unwrap(),
        read_image(Path::new(&golden)).unwrap(),
    );
    assert_eq!(
        (ours.width, ours.height, ours.channels, ours.depth),
        (theirs.width, theirs.height, 4, SampleDepth::U8)
    );
    let diffs: Vec<i64> = ours
        .data
        .iter()
        .zip(&theirs.data)
        .map(|(a, b)| ((a * 255.0).round() as i64 - (b * 255.0).round() as i64).abs())
        .collect();
    let within1 = diffs.iter().filter(|&&d| d <= 1).count() as f64 / diffs.len() as f64;
    let max = diffs.iter().copied().max().unwrap_or(0);
    println!(
        "CLI children-alpha x2: {:.4}% within 1 level, max diff {max}",
        within1 * 100.0
    );
    assert!(within1 >= 0.99 && max <= 4);
}

#[test]
fn realesrgan_option_errors_are_one_clear_line() {
    let (Some(models), Some(input)) = (model_dir(), asset("goldens/pipeline/0030.decoded.png"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = upframe()
            .args(["upscale", "--quiet", "-i"])
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("x.png"))
            .arg("--model-dir")
            .arg(&models)
            .args(extra)
            .output()
            .expect("run upframe");
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(&["-n", "realesr-animevideov3", "-dn", "0.5"]);
    assert!(e.contains("only applies to realesr-general-x4v3"), "{e}");
    let e = run(&["-n", "realesr-animevideo3"]);
    assert!(
        e.contains("realesr-animevideov3"),
        "suggests the close name: {e}"
    );
    let e = run(&["-n", "realesr-animevideov3", "-s", "0"]);
    assert!(e.contains("scale"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}
