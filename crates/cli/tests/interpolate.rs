//! `upframe interpolate` end to end on real clips: frame counts, output timestamps against the
//! timing rule (CFR and VFR), audio packets bit-identical to the input's, one-line errors.

mod common;

use common::{asset, audio_packets, have_ff_tools, run_upframe, video_frame_times};

fn rife() -> Option<std::path::PathBuf> {
    asset("models/rife-v4.25-or-v4.26/flownet.pkl")
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
    let out = run_upframe(osargs!(
        "interpolate",
        "-i",
        &input,
        "-o",
        &output,
        "-m",
        &model,
        "--factor",
        "2",
        "--frames",
        "4",
        "--quiet"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t_in = video_frame_times(&input, &["-read_intervals", "%+#4"]);
    let t_out = video_frame_times(&output, &[]);
    // 4 frames → 8: each source frame, then the midpoint of its interval (the last frame is
    // held for one interval, so the duration stays 4 source frames).
    assert_eq!(t_out.len(), 8, "{t_out:?}");
    let step = t_in[1] - t_in[0];
    for (k, &t) in t_out.iter().enumerate() {
        let expected = t_in[0] + k as f64 * step / 2.0;
        assert!(
            (t - expected).abs() < 1.5e-3,
            "frame {k} at {t}, expected {expected}"
        );
    }
    // Audio: the copied packets are the input's, bit for bit.
    let a_in = audio_packets(&input);
    let a_out = audio_packets(&output);
    assert!(!a_out.is_empty());
    for (o, i) in a_out.iter().zip(&a_in) {
        assert_eq!(o.3, i.3, "audio packet payload differs");
        assert!((o.0 - i.0).abs() < 1.5e-3);
    }
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
    let out = run_upframe(osargs!(
        "interpolate",
        "-i",
        &input,
        "-o",
        &output,
        "-m",
        &model,
        "--factor",
        "2",
        "--rife-scale",
        "0.5",
        "--frames",
        "8",
        "--quiet"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
    let out = run_upframe(osargs!(
        "interpolate",
        "-i",
        &input,
        "-o",
        &output,
        "-m",
        &model,
        "--slowmo",
        "2",
        "--start",
        "1",
        "--frames",
        "3",
        "--quiet"
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 3 frames of 25 fps → 6 frames, still 1/25 s apart: twice as long, starting at 0.
    let t = video_frame_times(&output, &[]);
    assert_eq!(t.len(), 6, "{t:?}");
    for (k, &x) in t.iter().enumerate() {
        assert!((x - k as f64 * 0.04).abs() < 1e-3, "{t:?}");
    }
    assert!(audio_packets(&output).is_empty());
}
