//! Finds the shared test assets (`UPFRAME_ASSETS`, default `../shared` next to the workspace).
//! A missing asset fails the test when `CI` is set and skips it (with a printed reason) otherwise.

use std::path::PathBuf;

pub fn asset(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("UPFRAME_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!("asset {} is missing (CI is set)", path.display());
    }
    eprintln!("skipping: asset {} is missing", path.display());
    None
}
