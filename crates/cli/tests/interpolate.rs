//! `upframe interpolate` end to end on real clips: frame counts, output timestamps against the
//! timing rule (CFR and VFR), audio packets bit-identical to the input's, one-line errors.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{asset, audio_packets, have_ff_tools, run_upframe, video_frame_times};

fn rife() -> Option<std::path::PathBuf> {
    asset("models/rife-v4.25-or-v4.26/flownet.pkl")
}

/// Runs `upframe interpolate -i input -o output -m model ARGS --quiet` and checks it succeeded.
fn interpolate(input: &Path, model: &Path, output: &Path, args: &[&str]) {
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("interpolate"),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
        OsStr::new("-m"),
        model.as_os_str(),
    ];
    all.extend(args.iter().map(OsStr::new));
    all.push(OsStr::new("--quiet"));
    let out = run_upframe(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The input's frame times before `seconds` on its own timeline (what `--duration seconds`
/// selects; Megamind's first frame, for one, is at 0.0417 s, not 0).
fn first_seconds(input: &std::path::Path, seconds: f64) -> Vec<f64> {
    let all = video_frame_times(input, &["-read_intervals", &format!("%+{}", seconds + 1.0)]);
    all.into_iter().filter(|&t| t < seconds - 1e-6).collect()
}

/// Audio packets of the output are the input's, bit for bit, at the same times.
fn assert_audio_copied(input: &std::path::Path, output: &std::path::Path) {
    let a_in = audio_packets(input);
    let a_out = audio_packets(output);
    assert!(!a_out.is_empty(), "no audio in the output");
    for (o, i) in a_out.iter().zip(&a_in) {
        assert_eq!(o.3, i.3, "audio packet payload differs");
        assert!(
            (o.0 - i.0).abs() < 1.5e-3,
            "audio packet at {} vs {}",
            o.0,
            i.0
        );
    }
}

#[test]
fn factor_2_on_big_buck_bunny() {
    let (Some(input), Some(model)) = (asset("media/video/big_buck_bunny_0_30.webm"), rife()) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    interpolate(
        &input,
        &model,
        &output,
        &["--factor", "2", "--duration", "3", "--preset", "ultrafast"],
    );
    let t_in = first_seconds(&input, 3.0);
    let t_out = video_frame_times(&output, &[]);
    // N frames → 2N: each source frame, then the midpoint of its interval (the last frame is
    // held for one interval, so the duration stays N source frames).
    assert_eq!(t_in.len(), 72, "{t_in:?}");
    assert_eq!(t_out.len(), 2 * t_in.len(), "{t_out:?}");
    // Each source frame, then the midpoint of its actual interval (webm stores milliseconds,
    // so intervals are 41 or 42 ms); the last interval repeats the one before it.
    let n = t_in.len();
    let step = (t_in[n - 1] - t_in[0]) / (n - 1) as f64;
    for (k, &t) in t_out.iter().enumerate() {
        let i = k / 2;
        let next = if i + 1 < n {
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
            (t - expected).abs() < 1.5e-3,
            "frame {k} at {t}, expected {expected}"
        );
    }
    // Duration: output frames cover exactly the input's span (within one output frame).
    let d_in = n as f64 * step;
    let d_out = t_out.last().unwrap() - t_out[0] + step / 2.0;
    assert!(
        (d_out - d_in).abs() <= step / 2.0 + 1e-3,
        "{d_out} vs {d_in}"
    );
    assert_audio_copied(&input, &output);
}

/// 23.976 → 60 fps on Megamind (hard cuts, AC-3 audio): ceil(duration·60) frames on the exact
/// 1/60 s grid from the first frame, the input's duration within one output frame, the input's
/// audio packets.
#[test]
fn fps_60_on_megamind() {
    let (Some(input), Some(model)) = (asset("media/video/Megamind.avi"), rife()) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    interpolate(
        &input,
        &model,
        &output,
        &["--fps", "60", "--duration", "2", "--preset", "ultrafast"],
    );
    let t_in = first_seconds(&input, 2.0);
    let interval = 1001.0 / 24000.0;
    let d_in = t_in.len() as f64 * interval;
    let t_out = video_frame_times(&output, &[]);
    assert_eq!(
        t_out.len(),
        (d_in * 60.0 - 1e-9).ceil() as usize,
        "{t_out:?}"
    );
    for (m, &t) in t_out.iter().enumerate() {
        let expected = t_out[0] + m as f64 / 60.0;
        assert!(
            (t - expected).abs() < 1.5e-3,
            "frame {m} at {t}, expected {expected}"
        );
    }
    let d_out = t_out.len() as f64 / 60.0;
    assert!(
        (d_out - d_in).abs() <= 1.0 / 60.0 + 1e-9,
        "{d_out} vs {d_in}"
    );
    assert_audio_copied(&input, &output);
}

/// `--json` describes the rate in words (`60000/1001 fps`, not Rust debug text) and its `fps`
/// is the frames written over the whole job's seconds.
#[test]
fn json_summary_describes_the_rate_in_words() {
    let (Some(input), Some(model)) = (asset("media/video/Megamind.avi"), rife()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    let out = run_upframe(&[
        OsStr::new("interpolate"),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
        OsStr::new("-m"),
        model.as_os_str(),
        OsStr::new("--fps"),
        OsStr::new("60000/1001"),
        OsStr::new("--frames"),
        OsStr::new("3"),
        OsStr::new("--preset"),
        OsStr::new("ultrafast"),
        OsStr::new("--quiet"),
        OsStr::new("--json"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(
        v["processing"].as_str(),
        Some(format!("{} (60000/1001 fps, RIFE scale 1)", model.display()).as_str())
    );
    let frames = v["frames_out"].as_f64().unwrap();
    assert_eq!(v["output_frames"].as_f64(), Some(frames));
    assert_eq!(v["frames_resumed"], 0);
    let (fps, secs) = (v["fps"].as_f64().unwrap(), v["seconds"].as_f64().unwrap());
    assert!((fps * secs - frames).abs() < 1e-6, "{v}");
}

#[test]
fn factor_2_on_vfr_fire() {
    let (Some(input), Some(model)) = (asset("media/video/fire2.mp4"), rife()) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mp4");
    interpolate(
        &input,
        &model,
        &output,
        &["--factor", "2", "--rife-scale", "0.5", "--frames", "8"],
    );
    let t_in = video_frame_times(&input, &["-read_intervals", "%+#8"]);
    assert_eq!(t_in.len(), 8);
    let mut expected = Vec::new();
    for w in t_in.windows(2) {
        expected.push(w[0]);
        expected.push((w[0] + w[1]) / 2.0);
    }
    let last = t_in[7];
    let held = t_in[7] - t_in[6];
    expected.push(last);
    expected.push(last + held / 2.0);
    let t_out = video_frame_times(&output, &[]);
    assert_eq!(t_out.len(), expected.len(), "{t_out:?}");
    for (k, (&t, &e)) in t_out.iter().zip(&expected).enumerate() {
        assert!((t - e).abs() < 1e-3, "frame {k} at {t}, expected {e}");
    }
    // The source is VFR (0.1 s then 0.09 s intervals): new frames follow each interval.
    assert!((t_in[1] - t_in[0] - (t_in[7] - t_in[6])).abs() > 5e-3);
    let a_in = audio_packets(&input);
    let a_out = audio_packets(&output);
    assert!(!a_out.is_empty());
    for (o, i) in a_out.iter().zip(&a_in) {
        assert_eq!(o.3, i.3, "audio packet payload differs");
    }
}

#[test]
fn a_single_frame_is_a_one_line_error_and_no_output() {
    let (Some(input), Some(model)) = (asset("media/video/Megamind.avi"), rife()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mp4");
    let out = run_upframe(osargs!(
        "interpolate",
        "-i",
        &input,
        "-o",
        &output,
        "-m",
        &model,
        "--fps",
        "60",
        "--frames",
        "1",
        "--quiet"
    ));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("single frame"), "{err}");
    assert!(!output.exists());
}

#[test]
fn slowmo_stretches_time_and_drops_audio() {
    let (Some(input), Some(model)) = (asset("media/video/chaplin.mp4"), rife()) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("slow.mp4");
    interpolate(
        &input,
        &model,
        &output,
        &["--slowmo", "2", "--start", "1", "--frames", "3"],
    );
    // 3 frames of 25 fps → 6 frames, still 1/25 s apart: twice as long, starting at 0.
    let t = video_frame_times(&output, &[]);
    assert_eq!(t.len(), 6, "{t:?}");
    for (k, &x) in t.iter().enumerate() {
        assert!((x - k as f64 * 0.04).abs() < 1e-3, "{t:?}");
    }
    assert!(audio_packets(&output).is_empty());
}

/// `--json` has the runner's per-stage busy times (`stages`) for every command, not only
/// `upscale`: all three run decode, processing and encode on their own threads. A 3-frame
/// window of a 176×144 clip.
#[test]
fn json_has_stage_busy_times_for_every_command() {
    let (Some(input), Some(model), Some(up)) = (
        asset("media/video/carphone_pristine.mp4"),
        rife(),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    let common = [
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
        OsStr::new("--frames"),
        OsStr::new("3"),
        OsStr::new("--preset"),
        OsStr::new("ultrafast"),
        OsStr::new("--overwrite"),
        OsStr::new("--quiet"),
        OsStr::new("--json"),
    ];
    let commands: [(&str, Vec<&OsStr>); 3] = [
        (
            "interpolate",
            vec![
                OsStr::new("-m"),
                model.as_os_str(),
                OsStr::new("--factor"),
                OsStr::new("2"),
            ],
        ),
        (
            "enhance",
            vec![
                OsStr::new("-n"),
                up.as_os_str(),
                OsStr::new("-s"),
                OsStr::new("2"),
                OsStr::new("--interp-model"),
                model.as_os_str(),
                OsStr::new("--factor"),
                OsStr::new("2"),
            ],
        ),
        (
            "upscale",
            vec![
                OsStr::new("--model"),
                OsStr::new("lanczos"),
                OsStr::new("--scale"),
                OsStr::new("2"),
            ],
        ),
    ];
    for (command, extra) in commands {
        let mut args = vec![OsStr::new(command)];
        args.extend(common);
        args.extend(extra);
        let out = run_upframe(&args);
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        let stages = &v["stages"];
        assert!(stages.is_object(), "{command}: stages {stages}");
        let seconds = v["seconds"].as_f64().unwrap();
        for field in ["decode_busy_s", "process_busy_s", "encode_busy_s"] {
            let busy = stages[field].as_f64();
            assert!(
                busy.is_some_and(|b| b > 0.0 && b <= seconds),
                "{command}: {field} {stages} (job {seconds} s)"
            );
        }
    }
}
