//! `upframe models ...` end to end: the real binary against the shared model directory, and
//! `fetch` against a local HTTP server on 127.0.0.1 serving the real `realesr-animevideov3.pth`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

const ANIME_SHA256: &str = "b8a8376811077954d82ca3fcf476f1ac3da3e8a68a4f4d71363008000a18b75d";

/// `<assets>/models` (`UPFRAME_ASSETS` or the workspace's `../shared`); `None` with a printed
/// reason when missing, a panic when `CI` is set.
fn shared_models_dir() -> Option<PathBuf> {
    let root = std::env::var_os("UPFRAME_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let dir = root.join("models");
    if dir.join("realesr-animevideov3.pth").is_file() {
        return Some(dir);
    }
    let reason = format!("shared model assets not found at {}", dir.display());
    assert!(
        std::env::var_os("CI").is_none(),
        "{reason} (CI is set, so this is a failure)"
    );
    eprintln!("skipping: {reason}");
    None
}

/// Runs `upframe models <args>` with a clean registry environment plus `env`.
fn upframe(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_upframe"));
    command
        .arg("models")
        .args(args)
        .env_remove("UPFRAME_MODEL_DIR")
        .env_remove("UPFRAME_MODEL_BASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run upframe")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The single error line `upframe` prints on failure.
fn error_line(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "stdout: {}", stdout(output));
    let text = stderr(output);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("upframe: error:"))
        .collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {text}");
    lines[0].to_string()
}

#[test]
fn verify_reports_official_derived_and_unverifiable_files() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let dir_str = dir.to_str().expect("utf-8 path");
    let output = upframe(&["verify", "--model-dir", dir_str], &[]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let text = stdout(&output);
    let block = |path: &str| -> String {
        let start = text
            .find(&format!(": {path}\n"))
            .unwrap_or_else(|| panic!("{path}: {text}"));
        text[start..].lines().take(3).collect::<Vec<_>>().join("\n")
    };
    let anime = block("realesr-animevideov3.pth");
    assert!(
        anime.contains(ANIME_SHA256) && anime.contains("OFFICIAL: matches"),
        "{anime}"
    );
    for derived in [
        "derived-from-ncnn-fp16/RealESRGAN_x4plus.ncnn-fp16-derived.pth",
        "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth",
    ] {
        assert!(
            block(derived).contains("NOT OFFICIAL"),
            "{}",
            block(derived)
        );
    }
    assert!(block("rife-v4.25-or-v4.26/flownet.pkl").contains("NO OFFICIAL HASH KNOWN"));

    // The same through --json, and through UPFRAME_MODEL_DIR instead of the flag.
    let output = upframe(
        &["verify", "--json"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("verify --json is JSON");
    let files = report["files"].as_array().expect("files");
    let status_of = |suffix: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .map(|f| f["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(files.len(), 4);
    assert_eq!(
        status_of("/realesr-animevideov3.pth").as_deref(),
        Some("official")
    );
    assert_eq!(
        status_of("x4plus.ncnn-fp16-derived.pth").as_deref(),
        Some("not_official")
    );
    assert_eq!(
        status_of("anime_6B.ncnn-fp16-derived.pth").as_deref(),
        Some("not_official")
    );
    assert_eq!(
        status_of("flownet.pkl").as_deref(),
        Some("no_official_hash")
    );
}

#[test]
fn verify_fails_on_a_damaged_file_or_a_missing_named_model() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let mut bytes = std::fs::read(dir.join("realesr-animevideov3.pth")).expect("read");
    bytes[4242] ^= 0x04;
    std::fs::write(cache.path().join("realesr-animevideov3.pth"), bytes).expect("write");
    let output = upframe(&["verify"], &[("UPFRAME_MODEL_DIR", cache.path())]);
    assert!(
        stdout(&output).contains("NOT OFFICIAL"),
        "{}",
        stdout(&output)
    );
    assert!(error_line(&output).contains("1 problem"));

    let output = upframe(
        &["verify", "RealESRGAN_x2plus"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    assert!(
        stdout(&output).contains("RealESRGAN_x2plus: MISSING"),
        "{}",
        stdout(&output)
    );
    error_line(&output);
}

#[test]
fn list_shows_every_model_and_what_is_cached() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let output = upframe(&["list", "--json"], &[("UPFRAME_MODEL_DIR", dir.as_path())]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("list --json is JSON");
    let models = report["models"].as_array().expect("models");
    let names: Vec<&str> = models.iter().filter_map(|m| m["name"].as_str()).collect();
    for expected in [
        "realesr-animevideov3",
        "realesr-general-x4v3",
        "realesr-general-wdn-x4v3",
        "RealESRGAN_x4plus",
        "RealESRGAN_x2plus",
        "RealESRGAN_x4plus_anime_6B",
        "RealESRNet_x4plus",
        "rife-v4.26",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let model = |name: &str| models.iter().find(|m| m["name"] == name).expect("listed");
    assert_eq!(model("realesr-animevideov3")["cached"]["origin"], "cache");
    assert_eq!(model("realesr-animevideov3")["sha256"], ANIME_SHA256);
    assert_eq!(model("RealESRGAN_x4plus")["cached"]["origin"], "substitute");
    assert!(model("RealESRGAN_x2plus")["cached"].is_null());
    assert_eq!(model("RealESRGAN_x2plus")["scale"], 2);
    assert!(model("rife-v4.26")["url"].is_null() && model("rife-v4.26")["sha256"].is_null());

    let output = upframe(&["list"], &[("UPFRAME_MODEL_DIR", dir.as_path())]);
    let text = stdout(&output);
    assert!(output.status.success());
    let anime = text
        .lines()
        .find(|l| l.starts_with("realesr-animevideov3 "))
        .expect("row");
    assert!(anime.contains("x4") && anime.contains("SRVGGNetCompact") && anime.ends_with("yes"));
    let x2 = text
        .lines()
        .find(|l| l.starts_with("RealESRGAN_x2plus "))
        .expect("row");
    assert!(x2.contains("x2") && x2.ends_with("no"), "{x2}");
}

#[test]
fn path_resolves_names_and_explains_failures_in_one_line() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let output = upframe(
        &["path", "animevideov3"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output).trim_end(),
        dir.join("realesr-animevideov3.pth").display().to_string()
    );

    let output = upframe(
        &["path", "RealESRGAN_x4plus"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    assert!(output.status.success());
    assert!(stdout(&output)
        .trim_end()
        .ends_with("RealESRGAN_x4plus.ncnn-fp16-derived.pth"));
    assert!(
        stderr(&output).contains("not the official"),
        "{}",
        stderr(&output)
    );

    let output = upframe(
        &["path", "RealESRGAN_x2plus"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    assert!(error_line(&output).contains("upframe models fetch RealESRGAN_x2plus"));

    let output = upframe(
        &["path", "realesrgan-x4plu"],
        &[("UPFRAME_MODEL_DIR", dir.as_path())],
    );
    let line = error_line(&output);
    assert!(line.contains("did you mean 'RealESRGAN_x4plus'"), "{line}");
}

/// Serves the real weight file once per connection: `/good/...` intact, `/corrupt/...` with
/// one byte flipped, anything else 404. Stops after `connections` requests.
fn serve(body: Vec<u8>, connections: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let address = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let mut payload = body.clone();
            let head = if path.starts_with("/good/") || path.starts_with("/corrupt/") {
                if path.starts_with("/corrupt/") {
                    let middle = payload.len() / 2;
                    payload[middle] ^= 0x01;
                }
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    payload.len()
                )
            } else {
                payload.clear();
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let mut out = stream;
            let _ = out
                .write_all(head.as_bytes())
                .and_then(|()| out.write_all(&payload));
            let _ = out.shutdown(std::net::Shutdown::Write);
        }
    });
    address
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn fetch_downloads_verifies_and_refuses_bad_bodies() {
    let Some(dir) = shared_models_dir() else {
        return;
    };
    let body = std::fs::read(dir.join("realesr-animevideov3.pth")).expect("read");
    let address = serve(body.clone(), 3);
    let cache = tempfile::tempdir().expect("tempdir");
    let models = cache.path().join("models");

    let run = |base: &str, extra: &[&str]| {
        let base = PathBuf::from(format!("{address}/{base}"));
        let mut args = vec!["fetch", "animevideov3"];
        args.extend_from_slice(extra);
        upframe(
            &args,
            &[
                ("UPFRAME_MODEL_DIR", models.as_path()),
                ("UPFRAME_MODEL_BASE_URL", base.as_path()),
            ],
        )
    };

    let output = run("corrupt", &[]);
    let line = error_line(&output);
    assert!(
        line.contains("sha256") && line.contains("deleted"),
        "{line}"
    );
    assert!(
        entries(&models).is_empty(),
        "left behind: {:?}",
        entries(&models)
    );

    let output = run("missing", &[]);
    assert!(error_line(&output).contains("404"));

    let output = run("good", &[]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert!(
        stdout(&output).contains(ANIME_SHA256),
        "{}",
        stdout(&output)
    );
    assert_eq!(entries(&models), vec!["realesr-animevideov3.pth"]);
    assert_eq!(
        std::fs::read(models.join("realesr-animevideov3.pth")).expect("read"),
        body
    );

    // Cached now: no request is made (the server has no connections left anyway).
    let output = run("good", &[]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert!(
        stdout(&output).contains("already cached"),
        "{}",
        stdout(&output)
    );

    let output = upframe(
        &["fetch", "rife-v4.26"],
        &[("UPFRAME_MODEL_DIR", models.as_path())],
    );
    let line = error_line(&output);
    assert!(
        line.contains("no direct download") && line.contains("Practical-RIFE"),
        "{line}"
    );
}

#[test]
fn fetch_without_network_names_the_url_and_the_exact_destination() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1")
        .port();
    let cache = tempfile::tempdir().expect("tempdir");
    let models = cache.path().join("models");
    let base = PathBuf::from(format!("http://127.0.0.1:{port}"));
    let output = upframe(
        &["fetch", "realesr-general-x4v3"],
        &[
            ("UPFRAME_MODEL_DIR", models.as_path()),
            ("UPFRAME_MODEL_BASE_URL", base.as_path()),
        ],
    );
    let line = error_line(&output);
    for part in [
        format!("{}/realesr-general-x4v3.pth", base.display()),
        "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth"
            .to_string(),
        format!(
            "save it as {}",
            models.join("realesr-general-x4v3.pth").display()
        ),
    ] {
        assert!(line.contains(&part), "{part} missing from: {line}");
    }
    assert!(entries(&models).is_empty(), "{:?}", entries(&models));
}

#[test]
fn the_built_in_model_is_reported_as_embedded() {
    let home = tempfile::tempdir().expect("tempdir");
    let cache = tempfile::tempdir().expect("tempdir");
    let env = [("HOME", home.path()), ("XDG_CACHE_HOME", cache.path())];

    let output = upframe(&["path", "animevideov3"], &env);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output).trim_end(),
        "embedded:realesr-animevideov3.pth"
    );
    assert!(
        stderr(&output).contains("built into"),
        "{}",
        stderr(&output)
    );

    let output = upframe(&["list", "--json"], &env);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("list --json is JSON");
    let anime = report["models"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == "realesr-animevideov3"))
        .expect("listed");
    assert_eq!(anime["cached"]["origin"], "embedded");
    assert!(anime["cached"]["path"].is_null());
    let output = upframe(&["list"], &env);
    let text = stdout(&output);
    let row = text
        .lines()
        .find(|l| l.starts_with("realesr-animevideov3 "))
        .expect("row");
    assert!(row.ends_with("built in (embedded)"), "{row}");

    // A named model that only exists built in is there, and official.
    let output = upframe(&["verify", "realesr-animevideov3", "--json"], &env);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).expect("verify --json is JSON");
    assert_eq!(report["files"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["embedded"][0]["model"], "realesr-animevideov3");
    assert_eq!(report["embedded"][0]["sha256"], ANIME_SHA256);
    assert_eq!(report["embedded"][0]["status"], "official");
    let output = upframe(&["verify"], &env);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert!(
        stdout(&output).contains("built into upframe (embedded)")
            && stdout(&output).contains(ANIME_SHA256),
        "{}",
        stdout(&output)
    );

    // No HOME and no cache at all: still there.
    let output = Command::new(env!("CARGO_BIN_EXE_upframe"))
        .args(["models", "path", "realesr-animevideov3"])
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("UPFRAME_MODEL_DIR")
        .output()
        .expect("run upframe");
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    assert_eq!(
        stdout(&output).trim_end(),
        "embedded:realesr-animevideov3.pth"
    );
}
