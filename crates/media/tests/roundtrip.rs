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
    while let Some(f) = src.next_frame().expect("decode") {
        sink.write_frame(&f).expect("write");
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
    let out_frames = common::decode_all(&out);
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
