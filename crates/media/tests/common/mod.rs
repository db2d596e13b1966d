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
