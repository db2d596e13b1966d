//! A whole `upframe interpolate` job with `--device gpu` (lavapipe in CI) against the same job
//! on the CPU: a 64×48, 3-frame clip cut from the Vimeo-90K eggs triplet, encoded losslessly
//! (FFV1, yuv444p), ×2. Skips with a printed reason without an adapter, fails under `CI`.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{asset, ffmpeg, ffmpeg_rgb_f32, have_ff_tools, run_upframe};

fn gpu_present() -> bool {
    if upframe_pipeline::processors::gpu::list_adapters().is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but no GPU adapter was found (scripts/setup.sh installs lavapipe)");
        }
        eprintln!("SKIP: no GPU adapter (install mesa-vulkan-drivers for Mesa's lavapipe)");
        return false;
    }
    true
}

/// `upframe interpolate --factor 2 --codec ffv1 --json` on `input` with `extra` arguments; the
/// `--json` summary.
fn interpolate(input: &Path, model: &Path, output: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("interpolate"),
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
        OsStr::new("-m"),
        model.as_os_str(),
    ];
    args.extend(
        ["--factor", "2", "--codec", "ffv1", "--json", "--quiet"]
            .iter()
            .chain(extra)
            .map(OsStr::new),
    );
    let out = run_upframe(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("--json output")
}

#[test]
fn interpolate_on_the_gpu_equals_the_cpu_within_one_level() {
    if !have_ff_tools() || !gpu_present() {
        return;
    }
    let (Some(model), Some(eggs)) = (
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
        asset("media/interp/vimeo90k_triplet_eggs"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("eggs_64x48.mkv");
    ffmpeg(&[
        "-framerate",
        "10",
        "-i",
        eggs.join("im%d.png").to_str().unwrap(),
        "-vf",
        "crop=64:48:160:100",
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "yuv444p",
        clip.to_str().unwrap(),
    ]);
    let cpu_out = dir.path().join("cpu.mkv");
    let cpu = interpolate(&clip, &model, &cpu_out, &[]);
    assert!(cpu["device"].is_null(), "{}", cpu["device"]);
    let gpu_out = dir.path().join("gpu.mkv");
    let start = std::time::Instant::now();
    let gpu = interpolate(&clip, &model, &gpu_out, &["--device", "gpu"]);
    println!(
        "GPU job {:.1} s; device {}",
        start.elapsed().as_secs_f64(),
        gpu["device"]
    );
    assert!(
        gpu["device"]["device"]
            .as_str()
            .is_some_and(|d| d.starts_with("gpu:")),
        "{}",
        gpu["device"]
    );
    assert_eq!(gpu["device"]["precision"], "f32", "{}", gpu["device"]);
    let a = ffmpeg_rgb_f32(&cpu_out, &[], "", 5);
    let b = ffmpeg_rgb_f32(&gpu_out, &[], "", 5);
    assert_eq!(a.len(), 5);
    assert_eq!(b.len(), 5);
    let mut worst = 0i64;
    for (fa, fb) in a.iter().zip(&b) {
        for (x, y) in fa.iter().zip(fb) {
            let d = ((x * 255.0).round() as i64 - (y * 255.0).round() as i64).abs();
            worst = worst.max(d);
        }
    }
    println!("max difference GPU vs CPU: {worst} level(s)");
    assert!(
        worst <= 1,
        "the GPU job differs from the CPU job by {worst} levels"
    );
}
