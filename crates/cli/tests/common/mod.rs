//! Helpers for the CLI tests: asset lookup, running the built `upframe` binary, and independent
//! inspection of outputs with the ffprobe/ffmpeg CLIs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared asset `relative` (under `UPFRAME_ASSETS`, default `../shared`). Missing: panics
/// when `CI` is set, otherwise prints why and returns `None` (the test then skips).
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

/// The ffprobe/ffmpeg CLIs are test dependencies (scripts/setup.sh installs them).
pub fn have_ff_tools() -> bool {
    let ok = Command::new("ffprobe").arg("-version").output().is_ok()
        && Command::new("ffmpeg").arg("-version").output().is_ok();
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("ffmpeg/ffprobe CLIs are missing (CI is set)");
        }
        eprintln!("skipping: ffmpeg/ffprobe CLIs are missing");
    }
    ok
}

pub fn upframe() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_upframe"));
    c.env_remove("CI_FORCE_TTY");
    c
}

/// Runs `upframe args...`, returning the output (stdout/stderr captured).
pub fn run_upframe(args: &[&std::ffi::OsStr]) -> Output {
    upframe().args(args).output().expect("run upframe")
}

/// Runs `upframe args...` and checks that it succeeded.
pub fn run_upframe_ok<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Output {
    let o = upframe().args(args).output().expect("run upframe");
    assert!(o.status.success(), "upframe {args:?}: {}", show(&o));
    o
}

/// How a run ended and what it printed, for assertion messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The JSON a run printed on stdout (`--json`).
pub fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

/// A JSON file (a plan, a report).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[macro_export]
macro_rules! osargs {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new($a)),*] };
}

/// Runs the ffmpeg CLI (to make a test input or derive a file); panics with its stderr when it
/// fails.
pub fn ffmpeg<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ffmpeg -f framemd5` lines (stream, dts, pts, duration, size, MD5) of `map` in `file`,
/// without the header comments, the fields joined by `,` without padding. `copy`: hash the
/// packets instead of decoded frames.
pub fn framemd5(file: &Path, map: &str, copy: bool) -> Vec<String> {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-map", map]);
    if copy {
        c.args(["-c", "copy"]);
    }
    let out = c
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg framemd5 {map} {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect::<Vec<_>>().join(","))
        .collect()
}

/// The framemd5 lines of `file`'s decoded first video stream ([`framemd5`]); there is at
/// least one.
pub fn framemd5_lines(file: &Path) -> Vec<String> {
    let lines = framemd5(file, "0:v:0", false);
    assert!(!lines.is_empty(), "{}: no video frames", file.display());
    lines
}

pub fn ffprobe_json(args: &[&str], file: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(file)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe {args:?} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// Presentation times (seconds) of the decoded video frames, in order.
pub fn video_frame_times(file: &Path, extra: &[&str]) -> Vec<f64> {
    let mut args = vec![
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=best_effort_timestamp_time",
    ];
    args.extend_from_slice(extra);
    let v = ffprobe_json(&args, file);
    v["frames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["best_effort_timestamp_time"].as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

pub fn video_stream(file: &Path) -> serde_json::Value {
    let v = ffprobe_json(
        &[
            "-select_streams",
            "v:0",
            "-show_streams",
            "-show_entries",
            "stream_side_data",
        ],
        file,
    );
    v["streams"][0].clone()
}

/// (pts_time, duration_time, size, MD5 of the payload) of every packet of the first audio
/// stream.
pub fn audio_packets(file: &Path) -> Vec<(f64, f64, u64, String)> {
    let v = ffprobe_json(
        &[
            "-select_streams",
            "a:0",
            "-show_packets",
            "-show_data_hash",
            "MD5",
        ],
        file,
    );
    v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    (
                        p["pts_time"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(f64::NAN),
                        p["duration_time"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(f64::NAN),
                        p["size"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
                        p["data_hash"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes `file`'s first `frames` video frames to interleaved RGB `f32` with the ffmpeg CLI,
/// after `filters` (e.g. a scaler), as `gbrpf32le`.
pub fn ffmpeg_rgb_f32(file: &Path, pre: &[&str], filters: &str, frames: usize) -> Vec<Vec<f32>> {
    let vf = if filters.is_empty() {
        "format=gbrpf32le".to_string()
    } else {
        format!("{filters},format=gbrpf32le")
    };
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error"])
        .args(pre)
        .arg("-i")
        .arg(file)
        .args(["-frames:v", &frames.to_string(), "-an", "-sn", "-vf", &vf])
        .args(["-f", "rawvideo", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let per = all.len() / frames.max(1);
    all.chunks(per.max(1))
        .map(|planar| {
            let plane = planar.len() / 3;
            let mut rgb = vec![0f32; planar.len()];
            for i in 0..plane {
                rgb[i * 3] = planar[2 * plane + i];
                rgb[i * 3 + 1] = planar[i];
                rgb[i * 3 + 2] = planar[plane + i];
            }
            rgb
        })
        .collect()
}

/// Files in `dir` whose name starts with `stem` (to find stray temporaries/outputs).
pub fn files_named_like(dir: &Path, stem: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(stem))
                })
                .collect()
        })
        .unwrap_or_default()
}
