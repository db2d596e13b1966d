//! Decoding the real clips of the shared corpus: frame counts, timestamps, alpha, 10-bit HDR.

mod common;

use upframe_media::{open_source, DecodeErrorPolicy, DecodeOptions, FrameSource, SampleDepth};

fn count_all(src: &mut dyn FrameSource) -> (u64, Vec<i64>) {
    let mut n = 0;
    let mut pts = Vec::new();
    while let Some(f) = src.next_frame().expect("decode") {
        assert_eq!(f.index, n);
        assert_eq!(f.data.len(), f.width * f.height * f.channels);
        pts.push(f.pts.expect("pts"));
        n += 1;
    }
    (n, pts)
}

#[test]
fn smoke_counts() {
    for (name, expect) in [
        ("Megamind.avi", 270u64),
        ("chaplin.mp4", 241),
        ("fire2.mp4", 25),
        ("ToS-s01_hdr10_main10.h265", 6),
    ] {
        let Some(p) = common::video(name) else { return };
        let t = std::time::Instant::now();
        let mut src = open_source(&p, &DecodeOptions::default()).expect("open");
        let info = src.info().clone();
        let (n, pts) = count_all(src.as_mut());
        eprintln!(
            "{name}: {n} frames in {:?}; info {:?}; first pts {:?}",
            t.elapsed(),
            info,
            &pts[..3]
        );
        assert_eq!(n, expect, "{name}");
    }
    let _ = (DecodeErrorPolicy::Skip, SampleDepth::U8);
}
