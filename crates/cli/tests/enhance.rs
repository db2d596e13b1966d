//! `upframe enhance` end to end: realesr-animevideov3 ×2 + RIFE ×2 on chaplin.mp4 (640×360,
//! 25 fps, audio) → 1280×720 at 50 fps with the input's audio packets, in both orders.

mod common;

use common::{
    asset, audio_packets, framemd5_lines, have_ff_tools, run_upframe, video_frame_times,
    video_stream,
};

#[test]
fn realesrgan_x2_and_rife_x2_on_chaplin() {
    let (Some(input), Some(up), Some(rife)) = (
        asset("media/video/chaplin.mp4"),
        asset("models/realesr-animevideov3.pth"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for order in ["upscale-first", "interpolate-first"] {
        let output = dir.path().join(format!("{order}.mp4"));
        let out = run_upframe(osargs!(
            "enhance",
            "-i",
            &input,
            "-o",
            &output,
            "-n",
            &up,
            "-s",
            "2",
            "--interp-model",
            &rife,
            "--factor",
            "2",
            "--frames",
            "3",
            "--order",
            order,
            "--quiet",
            "--json"
        ));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The processing is described in words, not Rust debug text.
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(
            summary["processing"].as_str(),
            Some(
                format!(
                    "{} + {} (factor 2, {})",
                    up.display(),
                    rife.display(),
                    order.replace('-', " ")
                )
                .as_str()
            )
        );
        let v = video_stream(&output);
        assert_eq!(
            (v["width"].as_u64(), v["height"].as_u64()),
            (Some(1280), Some(720))
        );
        assert_eq!(v["avg_frame_rate"].as_str(), Some("50/1"), "{v}");
        let t = video_frame_times(&output, &[]);
        assert_eq!(t.len(), 6, "{t:?}");
        for (k, w) in t.windows(2).enumerate() {
            assert!((w[1] - w[0] - 0.02).abs() < 1e-3, "interval {k}: {t:?}");
        }
        let a_in = audio_packets(&input);
        let a_out = audio_packets(&output);
        assert!(!a_out.is_empty());
        for (o, i) in a_out.iter().zip(&a_in) {
            assert_eq!(o.3, i.3, "audio packet payload differs");
        }
    }
}

/// `enhance` takes `upscale`'s Real-ESRGAN options and builds the same upscaler: with
/// `--tile 64 --tile-pad 10` its first output frame (upscale first: the first input frame,
/// upscaled) equals `upscale`'s with the same options, and differs from whole-frame output
/// (pad 10 leaves seams). Lossless FFV1 so decoded frames compare exactly. `-dn` reaches the
/// same check as in `upscale`.
#[test]
fn enhance_takes_the_upscale_options() {
    let (Some(input), Some(up), Some(rife)) = (
        asset("media/video/chaplin.mp4"),
        asset("models/realesr-animevideov3.pth"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = run_upframe(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let tiled = dir.path().join("tiled.mkv");
    let whole = dir.path().join("whole.mkv");
    let enhanced = dir.path().join("enhanced.mkv");
    for (output, tile) in [(&tiled, "64"), (&whole, "0")] {
        run(osargs!(
            "upscale",
            "-i",
            &input,
            "-o",
            output,
            "-n",
            &up,
            "-s",
            "2",
            "--tile",
            tile,
            "--tile-pad",
            "10",
            "--frames",
            "1",
            "--codec",
            "ffv1",
            "-q"
        ));
    }
    run(osargs!(
        "enhance",
        "-i",
        &input,
        "-o",
        &enhanced,
        "-n",
        &up,
        "-s",
        "2",
        "--tile",
        "64",
        "--tile-pad",
        "10",
        "--interp-model",
        &rife,
        "--factor",
        "2",
        "--order",
        "upscale-first",
        "--frames",
        "2",
        "--codec",
        "ffv1",
        "-q"
    ));
    // The MD5 column only: the outputs' time bases differ.
    let first = |file: &std::path::Path| {
        let line = framemd5_lines(file).swap_remove(0);
        line.rsplit(',').next().unwrap_or("").trim().to_string()
    };
    assert_eq!(first(&enhanced), first(&tiled), "enhance ignored --tile");
    assert_ne!(
        first(&tiled),
        first(&whole),
        "tiles made no difference here"
    );

    let out = run_upframe(osargs!(
        "enhance",
        "-i",
        &input,
        "-o",
        &dir.path().join("dn.mp4"),
        "-n",
        &up,
        "-dn",
        "0.5",
        "--interp-model",
        &rife,
        "-q"
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only applies to realesr-general-x4v3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
