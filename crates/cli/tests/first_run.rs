//! The first run a new user makes: the README's first command (read from README.md) upscales
//! the bundled sample with the built-in realesr-animevideov3, with an empty home and cache and
//! no model directory, and gives the same frames as the official weight file named by path.

mod common;

use std::path::{Path, PathBuf};

use common::{asset, framemd5, have_ff_tools, upframe};

/// The workspace root (README.md, samples/).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `upframe` arguments of the README's first command: the first `cargo run ... -- ARGS`
/// line of its first `sh` block.
fn readme_first_command() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("read README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .expect("README.md has a ```sh block");
    let block = &block[..block.find("```").expect("the block ends")];
    let line = block
        .lines()
        .find(|l| l.contains("cargo run") && !l.trim_start().starts_with('#'))
        .expect("the first sh block runs `cargo run`");
    let (_, args) = line
        .split_once(" -- ")
        .expect("`cargo run ... -- ARGS` in the README's first command");
    assert!(
        !args.contains(['"', '\'', '\\', '$']),
        "the README command needs no shell quoting: {args}"
    );
    args.split_whitespace().map(str::to_string).collect()
}

/// `args` with the value of `-o` replaced by `output`.
fn with_output(args: &[String], output: &Path) -> Vec<String> {
    let mut args = args.to_vec();
    let at = args
        .iter()
        .position(|a| a == "-o" || a == "--output")
        .expect("the README command names an output");
    args[at + 1] = output.display().to_string();
    args
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

#[test]
fn readme_first_command_upscales_the_sample_with_the_built_in_model() {
    let Some(official) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let args = readme_first_command();
    assert_eq!(
        args.first().map(String::as_str),
        Some("upscale"),
        "{args:?}"
    );
    assert!(
        !args
            .iter()
            .any(|a| ["-n", "-m", "--model"].contains(&a.as_str())),
        "the first command shows the default model: {args:?}"
    );
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[String]| {
        let out = upframe()
            .current_dir(repo_root())
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CACHE_HOME", cache.path())
            .env_remove("UPFRAME_MODEL_DIR")
            .env_remove("UPFRAME_MODEL_BASE_URL")
            .output()
            .expect("run upframe");
        assert!(
            out.status.success(),
            "upframe {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    let first = out_dir.path().join("first.mp4");
    let started = std::time::Instant::now();
    let stderr = run(&with_output(&args, &first));
    eprintln!(
        "README first command: {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        stderr.trim()
    );
    // Nothing was downloaded or cached: the model came from the binary.
    assert_eq!(entries(home.path()), 0, "something was written under HOME");
    assert_eq!(
        entries(cache.path()),
        0,
        "something was written to the cache"
    );

    let by_path = out_dir.path().join("by_path.mp4");
    let mut reference = with_output(&args, &by_path);
    reference.push("-n".into());
    reference.push(official.display().to_string());
    run(&reference);

    let got = framemd5(&first, "0:v:0", false);
    assert!(!got.is_empty(), "no frames in {}", first.display());
    assert_eq!(
        got,
        framemd5(&by_path, "0:v:0", false),
        "built-in vs official file"
    );
    // ×2 of the 320×180 sample.
    let v = common::video_stream(&first);
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(640), Some(360))
    );
}
