//! CLI behaviour that does not depend on pixels: output safety (killed, failed, interrupted runs
//! leave nothing under the output name; existing outputs are untouched without --overwrite;
//! output == input refused), exit codes, `probe`, and the `--json` summary.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn sample() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/sample.mp4"
    ))
}

#[test]
fn usage_errors_exit_2_and_help_lists_working_commands() {
    let out = upframe().args(["upscale", "-i", "x.mp4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = upframe().args(["upscale", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--model",
        "--scale",
        "--crf",
        "--on-decode-error",
        "--no-audio",
        "--json",
    ] {
        assert!(help.contains(flag), "help lacks {flag}");
    }
    let out = upframe()
        .args([
            "upscale",
            "-i",
            "a",
            "-o",
            "b",
            "--on-decode-error",
            "maybe",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A time or bit rate the library's parser refuses: a usage error with its message, which
    // names the option and the syntax once.
    for (option, value, message) in [
        (
            "--start",
            "1:xx",
            "error: --start '1:xx': invalid time: use seconds (12.5) or [HH:]MM:SS[.ms]",
        ),
        (
            "--bitrate",
            "fast",
            "error: --bitrate 'fast': invalid bit rate: use e.g. 8M, 2500k or 1500000",
        ),
    ] {
        let out = upframe()
            .args(["upscale", "-i", "a", "-o", "b", option, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(message), "{stderr}");
    }
}

/// Every command's help describes -i/-o, and -m, -n and --model are one option everywhere
/// (enhance's RIFE model is --interp-model).
#[test]
fn help_describes_io_and_one_model_spelling() {
    let help = |command: &str| {
        let out = upframe().args([command, "--help"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for command in ["upscale", "interpolate", "enhance"] {
        let text = help(command);
        for (flag, doc) in [
            ("-i, --input <IN>", "Input: "),
            ("-o, --output <OUT>", "Output: "),
        ] {
            let after = &text[text
                .find(flag)
                .unwrap_or_else(|| panic!("{command}: {flag}"))..];
            let line = after.lines().nth(1).unwrap_or("");
            assert!(
                line.trim_start().starts_with(doc),
                "{command} {flag}: {line:?}"
            );
        }
        let model = &text[text.find("-m, --model <NAME|PATH>").expect("-m, --model")..];
        let block: String = model.lines().take_while(|l| !l.is_empty()).collect();
        assert!(block.contains("[alias: -n]"), "{command}: {block}");
        assert!(model.contains("-m, -n and"), "{command}: {model}");
    }
    assert!(help("enhance").contains("--interp-model <NAME|PATH>"));

    // Each spelling reaches the model lookup (exit 1 naming the model, not a usage error).
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("o.mp4");
    for (command, flag) in [
        ("upscale", "-m"),
        ("upscale", "-n"),
        ("upscale", "--model"),
        ("interpolate", "-m"),
        ("interpolate", "-n"),
        ("interpolate", "--model"),
        ("enhance", "-m"),
        ("enhance", "-n"),
        ("enhance", "--model"),
    ] {
        let out = upframe()
            .args([command, flag, "nosuchmodel", "-i"])
            .arg(sample())
            .arg("-o")
            .arg(&out_path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command} {flag}: {err}");
        assert!(
            err.contains("unknown model 'nosuchmodel'"),
            "{command} {flag}: {err}"
        );
    }
    for flag in ["-m", "-n", "--model"] {
        let out = upframe()
            .args([
                "model",
                "run",
                flag,
                "nosuchmodel",
                "--input",
                "a",
                "--output",
                "b",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "model run {flag}: {err}");
        assert!(err.contains("unknown model 'nosuchmodel'"), "{err}");
    }
}

#[test]
fn missing_input_and_unknown_model_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = upframe()
        .args(["upscale", "-i", "/nonexistent/in.mp4", "-o"])
        .arg(dir.path().join("o.mp4"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("upframe: error: /nonexistent/in.mp4: "),
        "{err}"
    );

    let out = upframe()
        .args(["upscale", "-n", "nosuchmodel", "-i"])
        .arg(sample())
        .arg("-o")
        .arg(dir.path().join("o.mp4"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown model 'nosuchmodel'"), "{err}");
}

#[test]
fn sample_json_summary_and_existing_output_protection() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("s2.mp4");
    let out = upframe()
        .args([
            "upscale",
            "--quiet",
            "--model",
            "lanczos",
            "--json",
            "--frames",
            "10",
            "--preset",
            "ultrafast",
            "-i",
        ])
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "--quiet printed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["frames_in"], 10);
    assert_eq!(v["frames_out"], 10);
    assert_eq!(v["output_size"], serde_json::json!([640, 360]));
    assert!(v["fps"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 1 << 20);
    assert_eq!(v["copied_streams"], 1);

    // Existing output: refused, untouched.
    std::fs::write(&output, b"precious").unwrap();
    let out = upframe()
        .args([
            "upscale", "--quiet", "--model", "lanczos", "--frames", "2", "-i",
        ])
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--overwrite"));
    assert_eq!(std::fs::read(&output).unwrap(), b"precious");
    // With --overwrite it is replaced.
    let out = upframe()
        .args([
            "upscale",
            "--quiet",
            "--model",
            "lanczos",
            "--overwrite",
            "--frames",
            "2",
            "--preset",
            "ultrafast",
            "-i",
        ])
        .arg(sample())
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_ne!(std::fs::read(&output).unwrap(), b"precious");

    // Output == input: refused even with --overwrite, input untouched.
    let copy = dir.path().join("in.mp4");
    std::fs::copy(sample(), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let out = upframe()
        .args([
            "upscale",
            "--quiet",
            "--model",
            "lanczos",
            "--overwrite",
            "-i",
        ])
        .arg(&copy)
        .arg("-o")
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}

/// `--json` `seconds` covers the whole job: here nearly all of it is x264's final flush (fewer
/// frames than its veryslow lookahead, written directly), which a frame-loop timer misses.
#[test]
fn json_seconds_include_the_encoders_final_flush() {
    let Some(input) = asset("media/video/chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = upframe()
        .args([
            "upscale", "--quiet", "--json", "--model", "lanczos", "--scale", "2",
        ])
        .args([
            "--frames",
            "30",
            "--preset",
            "veryslow",
            "--segment-frames",
            "0",
        ])
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(dir.path().join("flush.mp4"))
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let seconds = v["seconds"].as_f64().unwrap();
    assert!(
        seconds <= elapsed && seconds >= 0.8 * elapsed,
        "--json seconds {seconds:.2} vs {elapsed:.2} s for the whole process"
    );
    let fps = v["fps"].as_f64().unwrap();
    assert!((fps * seconds - 30.0).abs() < 1e-6, "fps {fps}");
}

/// Starts a long run, waits until it has written something, then signals it.
fn interrupted_run(signal: &str) -> (Option<i32>, tempfile::TempDir, std::path::PathBuf) {
    let input = asset("media/video/vtest.avi").expect("checked by caller");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("long.mp4");
    let mut child = upframe()
        .args([
            "upscale",
            "--quiet",
            "--model",
            "lanczos",
            "--preset",
            "ultrafast",
            "-i",
        ])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .spawn()
        .unwrap();
    // Wait for the temporary output to appear (the run is under way), at most 60 s.
    let started = Instant::now();
    while files_named_like(dir.path(), "").is_empty() && started.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended too early to be interrupted"
    );
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    (code.code().or(code.signal().map(|s| -s)), dir, output)
}

#[test]
fn sigkill_and_sigint_leave_nothing_under_the_output_name() {
    if asset("media/video/vtest.avi").is_none() || !have_ff_tools() {
        return;
    }
    let (code, dir, output) = interrupted_run("-KILL");
    assert_eq!(code, Some(-9));
    assert!(
        !output.exists(),
        "SIGKILL left a file under the output name"
    );
    drop(dir);

    let (code, dir, output) = interrupted_run("-INT");
    assert_eq!(code, Some(130));
    assert!(!output.exists());
    assert!(
        files_named_like(dir.path(), "").is_empty(),
        "temporary not removed"
    );

    let (code, dir, output) = interrupted_run("-TERM");
    assert_eq!(code, Some(130));
    assert!(!output.exists());
    assert!(
        files_named_like(dir.path(), "").is_empty(),
        "temporary not removed"
    );
}

/// `probe --json` names the input kind as a word (it was Rust debug text, lowercased).
#[test]
fn probe_json_names_the_input_kind() {
    let out = upframe()
        .args(["probe", "--json"])
        .arg(sample())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["kind"], "video");
}

#[test]
fn probe_reports_vfr_rotation_and_hdr() {
    let Some(fire) = asset("media/video/fire2.mp4") else {
        return;
    };
    let out = upframe().arg("probe").arg(&fire).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VFR"), "{text}");
    assert!(
        text.contains("rotation: 180") || text.contains("rotation: -180"),
        "{text}"
    );
    assert!(text.contains("frames: 25"), "{text}");
    assert!(text.contains("aac"), "{text}");

    let Some(tos) = asset("media/video/ToS-s01_hdr10_main10.h265") else {
        return;
    };
    let out = upframe()
        .args(["probe", "--json"])
        .arg(&tos)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["video"]["bit_depth"], 10);
    assert_eq!(v["video"]["colour"]["transfer"], "smpte2084");
    assert_eq!(v["video"]["colour"]["hdr"], true);
}

/// `bench`'s option errors quote the value and list the known ones as words, not Rust debug
/// text (`"nope"`, `["eager", ...]`).
#[test]
fn bench_option_errors_list_known_values_in_words() {
    let out = upframe()
        .args(["bench", "--cases", "nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("unknown case 'nope'; known: animevideov3_270x480, "),
        "{err}"
    );
    let out = upframe()
        .args(["bench", "--torch-modes", "nope"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown --torch-modes entry 'nope'; known: eager, channels_last, compile"),
        "{err}"
    );
}
