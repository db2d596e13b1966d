//! 10-bit HDR and alpha round trips: precision, colour tags and alpha survive encoding.

mod common;

use upframe_media::{
    open_sink, open_source, probe, DecodeOptions, EncodeOptions, OutputSpec, SampleDepth,
};

#[test]
fn tos_10_bit_hdr_roundtrip_keeps_depth_and_tags() {
    let Some(input) = common::video("ToS-s01_hdr10_main10.h265") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tos.mkv");
    let opts = DecodeOptions {
        max_frames: Some(3),
        ..Default::default()
    };
    let mut src = open_source(&input, &opts).unwrap();
    let mut spec = OutputSpec::like_source(src.info());
    spec.encode = EncodeOptions {
        preset: Some("ultrafast".into()),
        options: vec![("x265-params".into(), "lossless=1:log-level=error".into())],
        ..Default::default()
    };
    let mut sink = open_sink(&out, &spec).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        sink.write_frame(&f).unwrap();
        frames.push(f);
    }
    let summary = sink.finish().unwrap();
    eprintln!("{summary:?}");
    assert_eq!(summary.codec, "libx265");
    assert_eq!(summary.pix_fmt, "yuv420p10le");
    let info = probe(&out).unwrap();
    let v = info.video.unwrap();
    assert_eq!(v.pix_fmt, "yuv420p10le");
    assert_eq!(v.depth, SampleDepth::High { bits: 10 });
    assert_eq!(
        v.colour,
        src.info().colour,
        "primaries/transfer/matrix/range preserved"
    );
    // Mastering display metadata (from the source's SEI, per ffprobe) is carried over.
    let hdr = src.info().hdr.expect("ToS has mastering display SEI");
    let m = hdr.mastering.unwrap();
    assert!(
        (m.red.0 - 35400.0 / 50000.0).abs() < 1e-9
            && (m.white_point.1 - 16450.0 / 50000.0).abs() < 1e-9
    );
    assert_eq!((m.min_luminance, m.max_luminance), (0.0, 1000.0));
    assert_eq!(v.hdr, Some(hdr), "container side data");
    let mut reopened = open_source(&out, &Default::default()).unwrap();
    reopened.next_frame().unwrap();
    assert_eq!(reopened.info().hdr, Some(hdr));
    let dec = common::decode_all(&out);
    assert_eq!(dec.len(), 3);
    for (i, (a, b)) in frames.iter().zip(&dec).enumerate() {
        // Error in 10-bit code values (1023 per unit).
        let mut sum = 0.0f64;
        let mut max = 0.0f64;
        for (x, y) in a.data.iter().zip(&b.data) {
            let d = ((x - y).abs() * 1023.0) as f64;
            sum += d;
            max = max.max(d);
        }
        let mean = sum / a.data.len() as f64;
        eprintln!("frame {i}: mean {mean:.3} max {max:.2} (10-bit levels)");
        assert!(mean < 0.5 && max < 40.0, "frame {i}: {mean} {max}");
        assert!(
            (a.pts.unwrap() as f64 / 1_200_000.0
                - b.pts.unwrap() as f64 * v.time_base.0 as f64 / v.time_base.1 as f64)
                .abs()
                < 1e-3
        );
    }
}

#[test]
fn alpha_webm_roundtrip_keeps_alpha() {
    let Some(input) = common::video("anime_alpha_vp8.webm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = DecodeOptions {
        max_frames: Some(4),
        ..Default::default()
    };
    for name in ["alpha.webm", "alpha.mov", "alpha.mkv", "noalpha.mp4"] {
        let out = dir.path().join(name);
        let mut src = open_source(&input, &opts).unwrap();
        let mut spec = OutputSpec::like_source(src.info());
        spec.encode = EncodeOptions {
            crf: Some(10.0),
            ..Default::default()
        };
        let mut sink = open_sink(&out, &spec).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            sink.write_frame(&f).unwrap();
            frames.push(f);
        }
        let summary = sink.finish().unwrap();
        eprintln!("{name}: {summary:?}");
        let dec = common::decode_all(&out);
        assert_eq!(dec.len(), 4, "{name}");
        if name == "noalpha.mp4" {
            assert!(summary.alpha_dropped);
            assert_eq!(dec[0].channels, 3);
            continue;
        }
        assert!(!summary.alpha_dropped, "{name}");
        assert_eq!(dec[0].channels, 4, "{name}");
        let a: Vec<f32> = frames[0].data.iter().skip(3).step_by(4).copied().collect();
        let b: Vec<f32> = dec[0].data.iter().skip(3).step_by(4).copied().collect();
        let (mean, max) = common::diff_levels(&a, &b);
        eprintln!("{name}: alpha diff mean {mean:.3} max {max:.1} levels");
        assert!(mean < 1.5, "{name}: alpha mean diff {mean}");
        assert!(b.iter().any(|&x| x < 0.5) && b.iter().any(|&x| x > 0.5));
    }
}

#[test]
fn hevc_in_mp4_is_tagged_hvc1_and_bitrate_mode_works() {
    let Some(input) = common::video("ToS-s01_hdr10_main10.h265") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tos.mp4");
    let mut src = open_source(
        &input,
        &DecodeOptions {
            max_frames: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    let mut spec = OutputSpec::like_source(src.info());
    spec.encode = EncodeOptions {
        preset: Some("ultrafast".into()),
        bitrate: Some(2_000_000),
        ..Default::default()
    };
    let mut sink = open_sink(&out, &spec).unwrap();
    while let Some(f) = src.next_frame().unwrap() {
        sink.write_frame(&f).unwrap();
    }
    sink.finish().unwrap();
    ffmpeg_next::init().unwrap();
    let ictx = ffmpeg_next::format::input(&out).unwrap();
    let tag = unsafe { (*ictx.stream(0).unwrap().parameters().as_ptr()).codec_tag };
    assert_eq!(&tag.to_le_bytes(), b"hvc1");
    let info = probe(&out).unwrap().video.unwrap();
    assert_eq!(info.hdr, src.info().hdr);
    assert_eq!(info.colour, src.info().colour);
}
