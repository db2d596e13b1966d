//! Decode → encode → decode round trips on real clips: frame counts, timestamps, pixels, and
//! bit-identical audio passthrough.

mod common;

use std::path::Path;

use ffmpeg_next::media::Type;
use upframe_media::{
    open_sink, open_source, DecodeOptions, EncodeOptions, OutputSpec, Passthrough,
};

/// Transcodes `input` to `output` losslessly-ish (x264 qp 0 unless the caller sets a codec),
/// with every stream passed through. Returns the source frames.
fn transcode(
    input: &Path,
    output: &Path,
    opts: &DecodeOptions,
    encode: EncodeOptions,
) -> Vec<upframe_media::Frame> {
    let mut src = open_source(input, opts).expect("open source");
    let mut spec = OutputSpec::like_source(src.info());
    spec.encode = encode;
    spec.start_s = opts.start_s;
    spec.source_path = Some(input.to_path_buf());
    spec.passthrough = Some(Passthrough {
        duration_s: opts.duration_s,
        ..Passthrough::all(input)
    });
    let mut sink = open_sink(output, &spec).expect("open sink");
    let mut frames = Vec::new();
    while let Some(mut f) = src.next_frame().expect("decode") {
        sink.write_frame(&f).expect("write");
        // Keep pixels of every 8th frame only: long clips would need gigabytes otherwise.
        if f.index % 8 != 0 {
            f.data = Vec::new();
        }
        frames.push(f);
    }
    let summary = sink.finish().expect("finish");
    eprintln!("{summary:?}");
    frames
}

fn lossless_x264() -> EncodeOptions {
    EncodeOptions {
        codec: Some("libx264".into()),
        crf: Some(0.0),
        preset: Some("ultrafast".into()),
        ..Default::default()
    }
}

#[test]
fn chaplin_mp4_roundtrip_with_mp3_passthrough() {
    let Some(input) = common::video("chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chaplin_out.mp4");
    let t = std::time::Instant::now();
    let src_frames = transcode(&input, &out, &DecodeOptions::default(), lossless_x264());
    eprintln!("transcode {:?}", t.elapsed());
    let out_frames = common::decode_light(&out, 8);
    assert_eq!(out_frames.len(), src_frames.len());
    let tb_in = open_source(&input, &Default::default())
        .unwrap()
        .info()
        .time_base;
    let tb_out = open_source(&out, &Default::default())
        .unwrap()
        .info()
        .time_base;
    let mut worst = (0.0f64, 0.0f64);
    for (a, b) in src_frames.iter().zip(&out_frames) {
        let ta = a.pts.unwrap() as f64 * tb_in.0 as f64 / tb_in.1 as f64;
        let tb = b.pts.unwrap() as f64 * tb_out.0 as f64 / tb_out.1 as f64;
        assert!((ta - tb).abs() < 1e-3, "frame {} at {ta} vs {tb}", a.index);
        if a.data.is_empty() {
            continue;
        }
        let (mean, max) = common::diff_levels(&a.data, &b.data);
        worst = (worst.0.max(mean), worst.1.max(max));
    }
    eprintln!(
        "pixel diff mean<= {:.3} max<= {:.1} levels",
        worst.0, worst.1
    );
    assert!(worst.0 < 1.0 && worst.1 <= 8.0, "{worst:?}");
    let ain = common::stream_packets(&input, Type::Audio);
    let aout = common::stream_packets(&out, Type::Audio);
    assert!(!ain.is_empty());
    assert_eq!(ain.len(), aout.len());
    for (i, (a, b)) in ain.iter().zip(&aout).enumerate() {
        assert_eq!(a.data, b.data, "audio packet {i} data");
        assert!(
            (a.dur_s - b.dur_s).abs() < 1e-6,
            "audio packet {i} duration {} vs {}",
            a.dur_s,
            b.dur_s
        );
        let (pa, pb) = (a.pts_s.unwrap(), b.pts_s.unwrap());
        assert!((pa - pb).abs() < 1e-4, "audio packet {i} pts {pa} vs {pb}");
    }
}

/// Output audio packets equal the input's (data, duration, pts shifted by `start`), within one
/// tick of the coarser time base.
fn assert_audio_identical(input: &Path, output: &Path, start: f64, end: Option<f64>) {
    let ain: Vec<_> = common::stream_packets(input, Type::Audio)
        .into_iter()
        .filter(|p| start == 0.0 || p.pts_s.unwrap() >= start - 1e-9)
        .filter(|p| end.is_none_or(|e| p.pts_s.unwrap() < e))
        .collect();
    let aout = common::stream_packets(output, Type::Audio);
    assert!(!ain.is_empty(), "input has audio");
    assert_eq!(ain.len(), aout.len(), "audio packet count");
    let tick = |tb: (i32, i32)| tb.0 as f64 / tb.1 as f64;
    for (i, (a, b)) in ain.iter().zip(&aout).enumerate() {
        let tol = tick(a.tb).max(tick(b.tb)) * 1.01;
        assert_eq!(a.data, b.data, "audio packet {i} data");
        assert!(
            (a.dur_s - b.dur_s).abs() <= tol,
            "audio packet {i} duration {} vs {}",
            a.dur_s,
            b.dur_s
        );
        let (pa, pb) = (a.pts_s.unwrap() - start, b.pts_s.unwrap());
        // MP4 stores a stream's start offset in an edit list in the movie time scale (1/1000 s),
        // so start times can move by up to 1 ms; relative timing stays exact.
        let pts_tol = tol.max(1e-3 + 1e-9);
        assert!(
            (pa - pb).abs() <= pts_tol,
            "audio packet {i} pts {pa} vs {pb}"
        );
    }
}

/// Frame timestamps in seconds.
fn seconds(frames: &[upframe_media::Frame], tb: (i32, i32)) -> Vec<f64> {
    frames
        .iter()
        .map(|f| f.pts.unwrap() as f64 * tb.0 as f64 / tb.1 as f64)
        .collect()
}

#[test]
fn fire2_vfr_rotation_and_aac_survive() {
    let Some(input) = common::video("fire2.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fire2.mp4");
    let src = transcode(&input, &out, &DecodeOptions::default(), lossless_x264());
    let info_in = upframe_media::probe(&input).unwrap();
    let info = upframe_media::probe(&out).unwrap();
    let v = info.video.clone().unwrap();
    assert_eq!(
        v.rotation_deg,
        info_in.video.unwrap().rotation_deg,
        "rotation kept"
    );
    assert!(v.vfr, "still VFR: {v:?}");
    let dec = common::decode_light(&out, 8);
    assert_eq!(dec.len(), 25);
    let a = seconds(
        &src,
        open_source(&input, &Default::default())
            .unwrap()
            .info()
            .time_base,
    );
    let b = seconds(&dec, v.time_base);
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-4, "{x} vs {y}");
    }
    let (mean, max) = src
        .iter()
        .zip(&dec)
        .map(|(x, y)| common::diff_levels(&x.data, &y.data))
        .fold((0.0f64, 0.0f64), |acc, d| (acc.0.max(d.0), acc.1.max(d.1)));
    eprintln!("fire2 lossless x264 round trip: mean {mean:.3} max {max:.1} levels");
    // Lossless in YUV, but RGB -> 4:2:0 -> RGB re-subsamples chroma: small mean error, larger
    // peaks only at sharp colour edges.
    assert!(mean < 0.5 && max <= 40.0, "{mean} {max}");
    assert_audio_identical(&input, &out, 0.0, None);
    // Container metadata (e.g. creation_time) travels too.
    assert!(
        info.metadata.iter().any(|(k, _)| k == "creation_time"),
        "{:?}",
        info.metadata
    );
}

#[test]
fn megamind_ac3_passthrough_into_mkv_keeps_truncated_last_frame() {
    let Some(input) = common::video("Megamind.avi") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("megamind.mkv");
    let enc = EncodeOptions {
        codec: Some("libx264".into()),
        crf: Some(23.0),
        preset: Some("ultrafast".into()),
        ..Default::default()
    };
    let src = transcode(&input, &out, &DecodeOptions::default(), enc);
    assert_eq!(src.len(), 270);
    let dec = common::decode_light(&out, 1_000_000);
    assert_eq!(dec.len(), 270);
    let a = seconds(
        &src,
        open_source(&input, &Default::default())
            .unwrap()
            .info()
            .time_base,
    );
    let b = seconds(
        &dec,
        open_source(&out, &Default::default())
            .unwrap()
            .info()
            .time_base,
    );
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1.5e-3, "{x} vs {y}");
    }
    assert_audio_identical(&input, &out, 0.0, None);
    let ain = common::stream_packets(&input, Type::Audio);
    let last = ain.last().unwrap();
    let typical = ain[0].data.len();
    eprintln!(
        "AC-3 packets: {}, typical size {typical}, last size {}",
        ain.len(),
        last.data.len()
    );
}

#[test]
fn bbb_window_with_vorbis_starts_at_zero() {
    let Some(input) = common::video("big_buck_bunny_0_30.webm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bbb.webm");
    let opts = DecodeOptions {
        start_s: Some(5.0),
        duration_s: Some(1.0),
        ..Default::default()
    };
    let enc = EncodeOptions {
        crf: Some(40.0),
        preset: Some("8".into()),
        ..Default::default()
    };
    let src = transcode(&input, &out, &opts, enc);
    assert_eq!(src.len(), 24);
    let info = upframe_media::probe(&out).unwrap();
    assert_eq!(info.video.as_ref().unwrap().codec, "vp9");
    let dec = common::decode_light(&out, 1_000_000);
    assert_eq!(dec.len(), 24);
    let b = seconds(&dec, info.video.as_ref().unwrap().time_base);
    assert!(b[0].abs() < 1.0 / 24.0, "video starts at {}", b[0]);
    let a = seconds(
        &src,
        open_source(&input, &Default::default())
            .unwrap()
            .info()
            .time_base,
    );
    for (x, y) in a.iter().zip(&b) {
        assert!((x - 5.0 - y).abs() < 0.002, "{x} vs {y}");
    }
    assert_audio_identical(&input, &out, 5.0, Some(6.0));
}

#[test]
fn box_mp4_with_skip_gives_455_frames_and_increasing_timestamps() {
    let Some(input) = common::video("box.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("box.mp4");
    let opts = DecodeOptions {
        on_decode_error: upframe_media::DecodeErrorPolicy::Skip,
        ..Default::default()
    };
    let enc = EncodeOptions {
        crf: Some(28.0),
        preset: Some("ultrafast".into()),
        ..Default::default()
    };
    let src = transcode(&input, &out, &opts, enc);
    assert_eq!(src.len(), 455);
    let dec = common::decode_light(&out, 1_000_000);
    assert_eq!(dec.len(), 455);
    let tb = open_source(&out, &Default::default())
        .unwrap()
        .info()
        .time_base;
    let tb_in = open_source(&input, &Default::default())
        .unwrap()
        .info()
        .time_base;
    let a = seconds(&src, tb_in);
    let b = seconds(&dec, tb);
    assert!(b.windows(2).all(|w| w[1] > w[0]));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-3, "{x} vs {y}");
    }
    // MPEG audio in MP4 copied bit for bit.
    assert_audio_identical(&input, &out, 0.0, None);
}

/// Throughput numbers for the report (not a pass/fail test; run with `--ignored --nocapture`).
#[test]
#[ignore]
fn measure_decode_and_encode_throughput() {
    let Some(input) = common::video("big_buck_bunny_0_30.webm") else {
        return;
    };
    let opts = DecodeOptions {
        max_frames: Some(240),
        ..Default::default()
    };
    let mut src = open_source(&input, &opts).unwrap();
    let t = std::time::Instant::now();
    let mut frames = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        if frames.len() < 48 {
            frames.push(f);
        }
    }
    let dt = t.elapsed().as_secs_f64();
    eprintln!("decode 1280x720 VP8 -> RGB f32: {:.1} fps", 240.0 / dt);
    let dir = tempfile::tempdir().unwrap();
    for (name, enc) in [
        ("x264_medium_crf18.mp4", EncodeOptions::default()),
        (
            "x264_ultrafast.mp4",
            EncodeOptions {
                preset: Some("ultrafast".into()),
                ..Default::default()
            },
        ),
    ] {
        let mut spec = OutputSpec::like_source(src.info());
        spec.encode = enc;
        let mut sink = open_sink(&dir.path().join(name), &spec).unwrap();
        let t = std::time::Instant::now();
        for f in &frames {
            sink.write_frame(f).unwrap();
        }
        sink.finish().unwrap();
        eprintln!(
            "encode 1280x720 {name}: {:.1} fps",
            frames.len() as f64 / t.elapsed().as_secs_f64()
        );
    }
}
