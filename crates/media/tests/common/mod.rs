//! Test helpers: locating the shared asset folder (`UPFRAME_ASSETS`, default `../shared`).
#![allow(dead_code)]

use std::path::PathBuf;

/// Root of the shared assets.
pub fn assets_root() -> PathBuf {
    match std::env::var_os("UPFRAME_ASSETS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
    }
}

/// The asset at `rel` (e.g. `media/video/vtest.avi`), or `None` (test skipped with a printed
/// reason) when missing. With `CI` set, a missing asset is a failure.
pub fn asset(rel: &str) -> Option<PathBuf> {
    let p = assets_root().join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "required asset missing: {} (set UPFRAME_ASSETS)",
            p.display()
        );
    }
    eprintln!(
        "skipping: asset {} not found (set UPFRAME_ASSETS)",
        p.display()
    );
    None
}

/// Shorthand for `media/video/<name>`.
pub fn video(name: &str) -> Option<PathBuf> {
    asset(&format!("media/video/{name}"))
}

/// Whether the `ffmpeg` CLI is installed (used as an independent reference).
pub fn have_ffmpeg_cli() -> bool {
    std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// One demuxed packet, timestamps in seconds.
#[derive(Debug, Clone)]
pub struct PacketRec {
    pub data: Vec<u8>,
    pub pts_s: Option<f64>,
    pub dur_s: f64,
    pub tb: (i32, i32),
}

/// Packets of the first stream of `kind` (read straight from the container with ffmpeg-next).
pub fn stream_packets(path: &std::path::Path, kind: ffmpeg_next::media::Type) -> Vec<PacketRec> {
    ffmpeg_next::init().expect("ffmpeg init");
    let mut input = ffmpeg_next::format::input(&path).expect("open");
    let Some(stream) = input.streams().find(|s| s.parameters().medium() == kind) else {
        return Vec::new();
    };
    let idx = stream.index();
    let tb = stream.time_base();
    let tb = (tb.numerator(), tb.denominator());
    let mut out = Vec::new();
    let mut p = ffmpeg_next::Packet::empty();
    while p.read(&mut input).is_ok() {
        if p.stream() != idx {
            continue;
        }
        let s = |t: i64| t as f64 * tb.0 as f64 / tb.1 as f64;
        out.push(PacketRec {
            data: p.data().unwrap_or(&[]).to_vec(),
            pts_s: p.pts().map(s),
            dur_s: s(p.duration()),
            tb,
        });
    }
    out
}

/// Decodes every frame of `path` with the crate (default options).
pub fn decode_all(path: &std::path::Path) -> Vec<upframe_media::Frame> {
    let mut src = upframe_media::open_source(path, &Default::default()).expect("open source");
    let mut frames = Vec::new();
    while let Some(f) = src.next_frame().expect("decode") {
        frames.push(f);
    }
    frames
}

/// Decodes every frame but keeps pixel data only for every `keep_every`-th frame (others get an
/// empty `data`), to keep memory low on long clips.
pub fn decode_light(path: &std::path::Path, keep_every: u64) -> Vec<upframe_media::Frame> {
    let mut src = upframe_media::open_source(path, &Default::default()).expect("open source");
    let mut frames = Vec::new();
    while let Some(mut f) = src.next_frame().expect("decode") {
        if f.index % keep_every != 0 {
            f.data = Vec::new();
        }
        frames.push(f);
    }
    frames
}

/// Mean and max absolute difference in 8-bit levels.
pub fn diff_levels(a: &[f32], b: &[f32]) -> (f64, f64) {
    assert_eq!(a.len(), b.len());
    let mut sum = 0.0f64;
    let mut max = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let d = ((x - y).abs() * 255.0) as f64;
        sum += d;
        max = max.max(d);
    }
    (sum / a.len() as f64, max)
}
