//! Colour conversion checks against independent references: the BT.601/709/2020 equations for
//! a flat colour written with each matrix/range, and the ffmpeg CLI's own decode of real clips.

mod common;

use std::path::Path;
use std::process::Command;

use upframe_media::{
    open_sink, ColourRange, ColourTags, EncodeOptions, Frame, OutputSpec, SampleDepth,
};

/// Raw bytes of frame 0 of `path` as decoded by the ffmpeg CLI in `pix_fmt`, with `vf` filters.
fn cli_frame(path: &Path, pix_fmt: &str, vf: Option<&str>, flags: &str) -> Vec<u8> {
    let mut cmd = Command::new("ffmpeg");
    // Frames are compared as stored; the CLI would otherwise apply the display rotation.
    cmd.args(["-v", "error", "-noautorotate", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-sws_flags", flags]);
    if let Some(vf) = vf {
        cmd.args(["-vf", vf]);
    }
    let out = cmd
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn flat_spec(w: usize, h: usize, tags: ColourTags) -> OutputSpec {
    OutputSpec {
        width: w,
        height: h,
        channels: 3,
        depth: SampleDepth::U8,
        time_base: (1, 25),
        frame_rate: (25, 1),
        colour: tags,
        rotation_deg: 0.0,
        hdr: None,
        encode: EncodeOptions {
            codec: Some("libx264".into()),
            crf: Some(0.0),
            preset: Some("ultrafast".into()),
            pix_fmt: Some("yuv444p".into()),
            ..Default::default()
        },
        overwrite: false,
        start_s: None,
        source_path: None,
        passthrough: None,
    }
}

#[test]
fn flat_colour_matches_matrix_equations_for_each_tag_set() {
    if !common::have_ffmpeg_cli() {
        eprintln!("skipping: ffmpeg CLI not installed");
        return;
    }
    let rgb = [200.0f64, 60.0, 30.0];
    // (tags, Kr, Kb, full range)
    let cases = [
        (
            ColourTags {
                primaries: 6,
                transfer: 6,
                matrix: 6,
                range: ColourRange::Limited,
            },
            0.299,
            0.114,
            false,
        ),
        (
            ColourTags {
                primaries: 1,
                transfer: 1,
                matrix: 1,
                range: ColourRange::Limited,
            },
            0.2126,
            0.0722,
            false,
        ),
        (
            ColourTags {
                primaries: 1,
                transfer: 1,
                matrix: 1,
                range: ColourRange::Full,
            },
            0.2126,
            0.0722,
            true,
        ),
        (
            ColourTags {
                primaries: 9,
                transfer: 14,
                matrix: 9,
                range: ColourRange::Limited,
            },
            0.2627,
            0.0593,
            false,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (tags, kr, kb, full)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("flat{i}.mkv"));
        let (w, h) = (64, 48);
        let mut frame = Frame::new(w, h, 3, SampleDepth::U8);
        for px in frame.data.chunks_exact_mut(3) {
            for c in 0..3 {
                px[c] = (rgb[c] / 255.0) as f32;
            }
        }
        let mut sink = open_sink(&out, &flat_spec(w, h, tags)).unwrap();
        for n in 0..2 {
            frame.pts = Some(n);
            sink.write_frame(&frame).unwrap();
        }
        sink.finish().unwrap();
        // Expected Y'CbCr from the equations.
        let (r, g, b) = (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        let y = kr * r + (1.0 - kr - kb) * g + kb * b;
        let cb = (b - y) / (2.0 * (1.0 - kb));
        let cr = (r - y) / (2.0 * (1.0 - kr));
        let (ey, ecb, ecr) = if full {
            (255.0 * y, 128.0 + 255.0 * cb, 128.0 + 255.0 * cr)
        } else {
            (16.0 + 219.0 * y, 128.0 + 224.0 * cb, 128.0 + 224.0 * cr)
        };
        // Full-range H.264 decodes as yuvj444p; asking for it avoids a range conversion.
        let yuv = cli_frame(
            &out,
            if full { "yuvj444p" } else { "yuv444p" },
            None,
            "bicubic",
        );
        let plane = w * h;
        let got = (
            yuv[plane / 2] as f64,
            yuv[plane + plane / 2] as f64,
            yuv[2 * plane + plane / 2] as f64,
        );
        eprintln!("case {i}: expected Y'CbCr ({ey:.1},{ecb:.1},{ecr:.1}) got {got:?}");
        assert!(
            (got.0 - ey).abs() <= 1.0 && (got.1 - ecb).abs() <= 1.0 && (got.2 - ecr).abs() <= 1.0,
            "case {i}"
        );
        // The file carries the tags.
        let info = upframe_media::probe(&out).unwrap().video.unwrap();
        assert_eq!(info.colour, tags, "case {i}");
        // And our decoder gets the colour back.
        let dec = common::decode_all(&out);
        let p = &dec[0].data[(h / 2 * w + w / 2) * 3..][..3];
        for c in 0..3 {
            assert!(
                (p[c] as f64 * 255.0 - rgb[c]).abs() <= 1.5,
                "case {i} channel {c}: {}",
                p[c] * 255.0
            );
        }
    }
}

/// Our RGB decode vs the ffmpeg CLI's for frame 0 of real clips: identical swscale flags give
/// (near-)identical pixels; FFmpeg's default flags differ only by chroma interpolation.
#[test]
fn decode_matches_ffmpeg_cli() {
    if !common::have_ffmpeg_cli() {
        eprintln!("skipping: ffmpeg CLI not installed");
        return;
    }
    // fire2 is untagged HD: we (like players) use BT.709, the CLI must be told.
    for (name, vf) in [
        ("chaplin.mp4", None),
        ("carphone_pristine.mp4", None),
        ("fire2.mp4", Some("scale=in_color_matrix=bt709")),
    ] {
        let Some(p) = common::video(name) else { return };
        let mut src = upframe_media::open_source(&p, &Default::default()).unwrap();
        let f = src.next_frame().unwrap().unwrap();
        for (flags, max_mean, max_max) in [
            (
                "bicubic+accurate_rnd+full_chroma_int+full_chroma_inp+bitexact",
                0.05,
                1.0,
            ),
            ("bicubic", 2.0, 48.0),
        ] {
            let raw = cli_frame(&p, "rgb24", vf, flags);
            assert_eq!(raw.len(), f.data.len(), "{name}");
            let reference: Vec<f32> = raw.iter().map(|&b| b as f32 / 255.0).collect();
            let (mean, max) = common::diff_levels(&f.data, &reference);
            eprintln!("{name} vs ffmpeg -sws_flags {flags}: mean {mean:.3} max {max:.1} levels");
            assert!(
                mean <= max_mean && max <= max_max,
                "{name} {flags}: {mean} {max}"
            );
        }
    }
}
