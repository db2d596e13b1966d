//! Still images and image sequences: bit depths and channel layouts in and out, natural-order
//! directories, printf patterns, and a sequence → video → sequence trip.

mod common;

use upframe_media::{
    open_sink, open_source, read_image, write_image, DecodeOptions, EncodeOptions, Frame,
    InputKind, OutputSpec, SampleDepth,
};

fn sr(name: &str) -> Option<std::path::PathBuf> {
    common::asset(&format!("media/sr/{name}"))
}

#[test]
fn reads_8_and_16_bit_gray_rgb_rgba() {
    let cases = [
        (
            "realesrgan_inputs/00017_gray.png",
            1,
            SampleDepth::U8,
            (500, 351),
        ),
        (
            "realesrgan_inputs/wolf_gray.jpg",
            1,
            SampleDepth::U8,
            (236, 236),
        ),
        (
            "realesrgan_inputs/OST_009.png",
            3,
            SampleDepth::U8,
            (448, 640),
        ),
        (
            "realesrgan_inputs/children-alpha.png",
            4,
            SampleDepth::U8,
            (566, 350),
        ),
        (
            "realesrgan_inputs/tree_alpha_16bit.png",
            4,
            SampleDepth::High { bits: 16 },
            (342, 256),
        ),
        ("realesrgan_inputs/0014.jpg", 3, SampleDepth::U8, (179, 179)),
    ];
    for (rel, ch, depth, (w, h)) in cases {
        let Some(p) = sr(rel) else { return };
        let f = read_image(&p).unwrap();
        assert_eq!(
            (f.width, f.height, f.channels, f.depth),
            (w, h, ch, depth),
            "{rel}"
        );
        assert!(f.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    // 16-bit data really has more than 8 bits.
    let Some(p) = sr("realesrgan_inputs/tree_alpha_16bit.png") else {
        return;
    };
    let f = read_image(&p).unwrap();
    assert!(f
        .data
        .iter()
        .any(|v| ((v * 255.0) - (v * 255.0).round()).abs() > 0.01));
    // Alpha has transparent parts.
    assert!(f.data.iter().skip(3).step_by(4).any(|&a| a < 0.5));
}

#[test]
fn png_roundtrip_is_exact_for_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    for ch in 1..=4 {
        for depth in [SampleDepth::U8, SampleDepth::High { bits: 16 }] {
            let levels = if depth == SampleDepth::U8 {
                255.0
            } else {
                65535.0
            };
            let mut f = Frame::new(17, 9, ch, depth);
            for (i, v) in f.data.iter_mut().enumerate() {
                *v = ((i * 7919) % (levels as usize + 1)) as f32 / levels;
            }
            let p = dir
                .path()
                .join(format!("c{ch}_{depth:?}.png").replace([' ', '{', '}', ':'], ""));
            write_image(&p, &f, false).unwrap();
            let g = read_image(&p).unwrap();
            assert_eq!((g.channels, g.depth), (ch, depth));
            assert_eq!(f.data, g.data, "{ch} channels {depth:?}");
        }
    }
    // JPEG drops alpha, WebP is lossless 8-bit.
    let mut f = Frame::new(16, 16, 4, SampleDepth::U8);
    f.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 256) as f32 / 255.0);
    let jpg = dir.path().join("a.jpg");
    write_image(&jpg, &f, false).unwrap();
    assert_eq!(read_image(&jpg).unwrap().channels, 3);
    let webp = dir.path().join("a.webp");
    write_image(&webp, &f, false).unwrap();
    let w = read_image(&webp).unwrap();
    assert_eq!(w.channels, 4);
    assert_eq!(w.data, f.data);
}

#[test]
fn directory_is_read_in_natural_order_and_pattern_sinks_number_from_1() {
    let dir = tempfile::tempdir().unwrap();
    let frames_dir = dir.path().join("frames");
    std::fs::create_dir(&frames_dir).unwrap();
    // Natural order: 2 before 10; non-images ignored.
    for (name, v) in [("f10.png", 0.9f32), ("f2.png", 0.2), ("f1.png", 0.1)] {
        let mut f = Frame::new(4, 4, 1, SampleDepth::U8);
        f.data
            .iter_mut()
            .for_each(|x| *x = (v * 255.0).round() / 255.0);
        write_image(&frames_dir.join(name), &f, false).unwrap();
    }
    std::fs::write(frames_dir.join("notes.txt"), "x").unwrap();
    let info = upframe_media::probe(&frames_dir).unwrap();
    assert_eq!(info.kind, InputKind::ImageSequence);
    let v = info.video.unwrap();
    assert_eq!(v.frame_count, Some(3));
    assert_eq!(v.avg_frame_rate, (25, 1), "default sequence rate");
    let mut src = open_source(
        &frames_dir,
        &DecodeOptions {
            sequence_frame_rate: (30, 1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(src.info().time_base, (1, 30));
    let mut seen = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        seen.push((f.pts.unwrap(), (f.data[0] * 255.0).round() as u8));
    }
    assert_eq!(seen, vec![(0, 26), (1, 51), (2, 230)]);

    // Write through a pattern sink, read back through the pattern.
    let out_pat = dir.path().join("out/img_%04d.png");
    let mut src = open_source(&frames_dir, &Default::default()).unwrap();
    let spec = OutputSpec::like_source(src.info());
    let mut sink = open_sink(&out_pat, &spec).unwrap();
    while let Some(f) = src.next_frame().unwrap() {
        sink.write_frame(&f).unwrap();
    }
    assert_eq!(sink.finish().unwrap().frames, 3);
    assert!(dir.path().join("out/img_0001.png").exists());
    assert!(dir.path().join("out/img_0003.png").exists());
    let mut back = open_source(&out_pat, &Default::default()).unwrap();
    let mut n = 0;
    while back.next_frame().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 3);
    // %d patterns too.
    let mut plain = open_source(&dir.path().join("out/img_%d.png"), &Default::default());
    assert!(plain
        .as_mut()
        .map(|s| s.info().frame_count == Some(3))
        .unwrap_or(false));
}

#[test]
fn image_pair_to_video_and_back() {
    let Some(a) = common::asset("media/interp/rife_demo_pairs/I0_0.png") else {
        return;
    };
    let Some(b) = common::asset("media/interp/rife_demo_pairs/I0_1.png") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let seq = dir.path().join("seq");
    std::fs::create_dir(&seq).unwrap();
    std::fs::copy(&a, seq.join("0.png")).unwrap();
    std::fs::copy(&b, seq.join("1.png")).unwrap();
    let mut src = open_source(&seq, &Default::default()).unwrap();
    let mut spec = OutputSpec::like_source(src.info());
    spec.encode = EncodeOptions {
        crf: Some(0.0),
        preset: Some("ultrafast".into()),
        pix_fmt: Some("yuv444p".into()),
        ..Default::default()
    };
    let video = dir.path().join("pair.mp4");
    let mut sink = open_sink(&video, &spec).unwrap();
    let mut orig = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        sink.write_frame(&f).unwrap();
        orig.push(f);
    }
    sink.finish().unwrap();
    let dec = common::decode_all(&video);
    assert_eq!(dec.len(), 2);
    for (x, y) in orig.iter().zip(&dec) {
        let (mean, max) = common::diff_levels(&x.data, &y.data);
        eprintln!("png -> lossless yuv444p h264 -> rgb: mean {mean:.3} max {max:.1} levels");
        assert!(mean < 0.6 && max <= 3.0);
    }
    let info = upframe_media::probe(&video).unwrap().video.unwrap();
    assert_eq!(info.avg_frame_rate, (25, 1));
}
