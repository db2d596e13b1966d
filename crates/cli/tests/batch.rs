//! Folders and batches end to end: a folder of photos to a folder (names, suffix, `--ext`,
//! sizes, and channels/bit depth per file checked with ffprobe), Set14 through the real
//! realesr-animevideov3, a damaged file among good ones, existing outputs, several inputs with
//! a name pattern, and the folder rule (a folder of same-size frames to a video is still one
//! sequence).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// `upframe upscale ARGS` with the shared models found through `UPFRAME_MODEL_DIR`; Lanczos
/// unless ARGS name a model (these tests are about files and names, not the network).
fn upscale(args: &[&std::ffi::OsStr]) -> Output {
    let mut c = upframe();
    c.arg("upscale");
    if let Some(models) = asset("models") {
        c.env("UPFRAME_MODEL_DIR", models);
    }
    let names_model = args
        .iter()
        .any(|a| *a == "-n" || *a == "-m" || *a == "--model");
    if !names_model {
        c.args(["-n", "lanczos"]);
    }
    c.args(args).output().expect("run upframe")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (width, height, pix_fmt) of an image or the first video stream, by ffprobe.
fn probe_image(file: &Path) -> (u64, u64, String) {
    let v = ffprobe_json(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,pix_fmt",
        ],
        file,
    );
    let s = &v["streams"][0];
    (
        s["width"].as_u64().unwrap(),
        s["height"].as_u64().unwrap(),
        s["pix_fmt"].as_str().unwrap_or("").to_string(),
    )
}

/// The image files directly in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The channel layout class of an ffprobe pix_fmt: gray, gray+alpha, colour, colour+alpha.
fn layout(pix_fmt: &str) -> &'static str {
    let alpha = pix_fmt.starts_with("rgba")
        || pix_fmt.starts_with("ya")
        || pix_fmt.starts_with("yuva")
        || pix_fmt.starts_with("bgra");
    let gray = pix_fmt.starts_with("gray") || pix_fmt.starts_with("ya");
    match (gray, alpha) {
        (true, false) => "gray",
        (true, true) => "gray+alpha",
        (false, false) => "colour",
        (false, true) => "colour+alpha",
    }
}

/// The acceptance command: `upscale -i Set14 -o out/ --suffix _x4 -n realesr-animevideov3`
/// with the real model. Every input gets `<stem>_x4.png`, 4x its own size (Set14 mixes
/// sizes, and bridge.png is grayscale, which stays grayscale).
#[test]
fn set14_folder_with_animevideov3() {
    let (Some(set14), Some(_)) = (
        asset("media/sr/Set14"),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let started = std::time::Instant::now();
    let out = upscale(osargs![
        "-i",
        set14.as_os_str(),
        "-o",
        &format!("{}/", out_dir.display()),
        "--suffix",
        "_x4",
        "-n",
        "realesr-animevideov3",
        "--json"
    ]);
    eprintln!(
        "Set14 x4 with realesr-animevideov3: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let inputs = files_in(&set14);
    assert_eq!(inputs.len(), 11, "Set14 here holds 11 photos");
    let outputs = files_in(&out_dir);
    let expected: Vec<String> = inputs
        .iter()
        .map(|p| format!("{}_x4.png", stem(p)))
        .collect();
    let mut got: Vec<String> = outputs.iter().map(|p| name(p)).collect();
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(
        got, want,
        "one output per input, named <stem>_x4.png, nothing else"
    );
    for input in &inputs {
        let (w, h, fmt_in) = probe_image(input);
        let output = out_dir.join(format!("{}_x4.png", stem(input)));
        let (ow, oh, fmt_out) = probe_image(&output);
        assert_eq!((ow, oh), (4 * w, 4 * h), "{}", output.display());
        assert_eq!(fmt_out, fmt_in, "{}: pixel format", output.display());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(v["files_total"], 11);
    assert_eq!(v["files_written"], 11);
    assert_eq!(v["files_failed"], 0);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 11);
    for f in files {
        assert_eq!(f["status"], "ok", "{f}");
        let i = f["input_size"].as_array().unwrap();
        let o = f["output_size"].as_array().unwrap();
        assert_eq!(o[0].as_u64().unwrap(), 4 * i[0].as_u64().unwrap());
        assert!(f["seconds"].as_f64().unwrap() > 0.0);
    }
}

/// Real-ESRGAN's own inputs mix sizes, gray (PNG and JPEG), RGBA, 16-bit RGBA and JPEG: each
/// output keeps its input's name, format, channel layout and bit depth, at its own size.
#[test]
fn mixed_folder_keeps_each_files_format_channels_and_depth() {
    let Some(inputs_dir) = asset("media/sr/realesrgan_inputs") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // No trailing slash and not existing: a name without extension is a folder.
    let out_dir = dir.path().join("results");
    let out = upscale(osargs![
        "-i",
        inputs_dir.as_os_str(),
        "-o",
        out_dir.as_os_str(),
        "--scale",
        "1.5"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let inputs = files_in(&inputs_dir);
    assert_eq!(inputs.len(), 9);
    assert!(err.contains("[9/9]"), "progress over the batch: {err}");
    assert_eq!(files_in(&out_dir).len(), inputs.len(), "{err}");
    let mut layouts = std::collections::BTreeSet::new();
    for input in &inputs {
        let output = out_dir.join(name(input));
        assert!(output.is_file(), "{} missing: {err}", output.display());
        let (w, h, fmt_in) = probe_image(input);
        let (ow, oh, fmt_out) = probe_image(&output);
        let scaled = |v: u64| (v as f64 * 1.5).round() as u64;
        assert_eq!((ow, oh), (scaled(w), scaled(h)), "{}", output.display());
        assert_eq!(
            layout(&fmt_out),
            layout(&fmt_in),
            "{}: {fmt_in} -> {fmt_out}",
            name(input)
        );
        if name(input).ends_with(".png") {
            // PNG keeps everything: rgb24, gray, rgba, rgba64be stay what they were.
            assert_eq!(fmt_out, fmt_in, "{}", name(input));
        }
        layouts.insert((layout(&fmt_in), fmt_in.contains("64")));
    }
    // The folder really mixes what it should.
    assert!(layouts.contains(&("gray", false)));
    assert!(layouts.contains(&("colour+alpha", false)));
    assert!(layouts.contains(&("colour+alpha", true)), "16-bit RGBA");
}

/// `--ext jpg --suffix out`: Real-ESRGAN's naming (`name_out.jpg`), except that images with
/// alpha are written as PNG (JPEG has no alpha), as Real-ESRGAN does.
#[test]
fn ext_and_suffix_follow_real_esrgan() {
    let Some(inputs_dir) = asset("media/sr/realesrgan_inputs") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = upscale(osargs![
        "-i",
        inputs_dir.join("children-alpha.png").as_os_str(),
        "-i",
        inputs_dir.join("00003.png").as_os_str(),
        "-i",
        inputs_dir.join("0014.jpg").as_os_str(),
        "-o",
        &format!("{}/", out_dir.display()),
        "--suffix",
        "out",
        "--ext",
        "jpg",
        "--scale",
        "0.5"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<String> = files_in(&out_dir).iter().map(|p| name(p)).collect();
    assert_eq!(
        got,
        ["00003_out.jpg", "0014_out.jpg", "children-alpha_out.png"]
    );
    assert_eq!(
        probe_image(&out_dir.join("children-alpha_out.png")).2,
        "rgba"
    );
    assert_eq!(
        layout(&probe_image(&out_dir.join("00003_out.jpg")).2),
        "colour"
    );

    // --ext tif: TIFF keeps 16-bit RGBA.
    let out = upscale(osargs![
        "-i",
        inputs_dir.join("tree_alpha_16bit.png").as_os_str(),
        "-o",
        out_dir.as_os_str(),
        "--ext",
        "tif",
        "--scale",
        "0.5"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (w, h, fmt) = probe_image(&out_dir.join("tree_alpha_16bit.tif"));
    assert_eq!((w, h), (171, 128));
    assert!(fmt.starts_with("rgba64"), "{fmt}");
}

/// A truncated PNG among good files: reported (at once and in the closing list, one line
/// naming it), the others written, exit 1, nothing under the damaged file's output name and
/// no temporary left.
#[test]
fn damaged_file_is_reported_and_the_others_are_written() {
    let Some(set14) = asset("media/sr/Set14") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    let good = ["bridge.png", "comic.png", "foreman.png"];
    for g in good {
        std::fs::copy(set14.join(g), photos.join(g)).unwrap();
    }
    // `head -c`: the first 40% of baboon.png.
    let bytes = std::fs::read(set14.join("baboon.png")).unwrap();
    std::fs::write(photos.join("baboon.png"), &bytes[..bytes.len() * 2 / 5]).unwrap();
    // A note beside the photos is not a "failure".
    std::fs::write(photos.join("README.txt"), "photos of the trip\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = upscale(osargs![
        "-i",
        photos.as_os_str(),
        "-o",
        &format!("{}/", out_dir.display()),
        "--scale",
        "0.5",
        "--json"
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let broken = photos.join("baboon.png");
    let error_lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("upframe: error: "))
        .collect();
    assert!(
        error_lines[0].starts_with(&format!("upframe: error: {}: ", broken.display())),
        "the list names the damaged file first on its line: {err}"
    );
    assert_eq!(
        error_lines.len(),
        2,
        "one line per failed file, then the count: {err}"
    );
    assert!(error_lines[1].contains("1 of 4 files failed"), "{err}");
    assert!(
        err.contains("README.txt"),
        "the left-out note names the file: {err}"
    );
    let got: Vec<String> = files_in(&out_dir).iter().map(|p| name(p)).collect();
    assert_eq!(
        got, good,
        "the good files written, nothing for the damaged one, no temporaries"
    );
    for g in good {
        let (w, h, _) = probe_image(&photos.join(g));
        let (ow, oh, _) = probe_image(&out_dir.join(g));
        assert_eq!(
            (ow, oh),
            (
                (w as f64 / 2.0).round() as u64,
                (h as f64 / 2.0).round() as u64
            )
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(
        (v["files_written"].as_u64(), v["files_failed"].as_u64()),
        (Some(3), Some(1))
    );
    let failed: Vec<&serde_json::Value> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["input"], broken.display().to_string());
    assert!(!failed[0]["error"].as_str().unwrap().is_empty());

    // Only damaged files: exit 1 and no empty output folder left behind.
    let only_bad = dir.path().join("only_bad");
    std::fs::create_dir(&only_bad).unwrap();
    std::fs::copy(&broken, only_bad.join("x.png")).unwrap();
    let empty_out = dir.path().join("empty_out");
    let out = upscale(osargs![
        "-i",
        only_bad.as_os_str(),
        "-o",
        empty_out.as_os_str()
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !empty_out.exists(),
        "a batch that wrote nothing leaves no folder"
    );
}

/// An existing output is refused per file (listed, untouched) unless --overwrite;
/// --skip-existing leaves it and does the rest.
#[test]
fn existing_outputs_refused_per_file_overwrite_and_skip_existing() {
    let Some(inputs_dir) = asset("media/sr/realesrgan_inputs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let taken = out_dir.join("0030.jpg");
    std::fs::write(&taken, b"precious").unwrap();
    let a = inputs_dir.join("0030.jpg");
    let b = inputs_dir.join("0014.jpg");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "-i".to_string(),
            a.display().to_string(),
            "-i".to_string(),
            b.display().to_string(),
            "-o".to_string(),
            out_dir.display().to_string(),
            "--scale".to_string(),
            "0.5".to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let os: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        upscale(&os)
    };
    let out = run(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("upframe: error: {}: ", a.display())) && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    assert!(
        out_dir.join("0014.jpg").is_file(),
        "the other file is written"
    );

    std::fs::remove_file(out_dir.join("0014.jpg")).unwrap();
    let out = run(&["--skip-existing"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");
    assert!(out_dir.join("0014.jpg").is_file());
    assert!(stderr(&out).contains("skipped"), "{}", stderr(&out));

    // Nothing left to do: the model is not even loaded (a model that cannot be found does
    // not matter), each taken output is listed.
    let out = run(&[
        "-n",
        "realesr-animevideov3",
        "--model-dir",
        "/nonexistent/models",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("nonexistent"), "{err}");
    assert_eq!(
        err.matches("already exists").count(),
        4,
        "2 at once, 2 in the list: {err}"
    );

    let out = run(&["--overwrite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(&taken).unwrap(), b"precious");
    assert_eq!(probe_image(&taken).0, 110);
}

/// Several inputs (videos and an image) with a `{stem}` name pattern; two inputs that would
/// share an output, and an output folder that is the input folder, are refused before
/// anything is written.
#[test]
fn several_inputs_with_a_name_pattern_and_refusals() {
    let (Some(clip), Some(img)) = (
        asset("media/video/chaplin.mp4"),
        asset("media/sr/realesrgan_inputs/0030.jpg"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip2 = dir.path().join("second.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=96x64:r=10",
        "-frames:v",
        "6",
        "-c:v",
        "ffv1",
        clip2.to_str().unwrap(),
    ]);
    let pattern = format!("{}/up/{{stem}}_2x.{{ext}}", dir.path().display());
    let out = upscale(osargs![
        "-i",
        clip.as_os_str(),
        "-i",
        clip2.as_os_str(),
        "-i",
        img.as_os_str(),
        "-o",
        &pattern,
        "--frames",
        "3",
        "--preset",
        "ultrafast"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let up = dir.path().join("up");
    let got: Vec<String> = files_in(&up).iter().map(|p| name(p)).collect();
    assert_eq!(got, ["0030_2x.jpg", "chaplin_2x.mp4", "second_2x.mkv"]);
    assert_eq!(probe_image(&up.join("chaplin_2x.mp4")).0, 1280);
    assert_eq!(video_frame_times(&up.join("chaplin_2x.mp4"), &[]).len(), 3);
    assert_eq!(probe_image(&up.join("second_2x.mkv")).0, 192);
    assert_eq!(probe_image(&up.join("0030_2x.jpg")).0, 440);

    // Two inputs named alike in different folders -> one output name: refused up front.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::copy(&img, other.join("0030.jpg")).unwrap();
    let clash_out = dir.path().join("clash");
    let out = upscale(osargs![
        "-i",
        img.as_os_str(),
        "-i",
        other.join("0030.jpg").as_os_str(),
        "-o",
        clash_out.as_os_str()
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("0030.jpg") && err.contains("--suffix"),
        "{err}"
    );
    assert!(!clash_out.exists(), "nothing written, no folder made");

    // The output folder is the input folder: refused, the folder unchanged.
    let before = files_in(&other);
    let out = upscale(osargs![
        "-i",
        other.as_os_str(),
        "-o",
        other.as_os_str(),
        "--suffix",
        "_x2"
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("input folder"), "{}", stderr(&out));
    assert_eq!(files_in(&other), before);

    // Several inputs into one video file: refused with the way out.
    let out = upscale(osargs![
        "-i",
        img.as_os_str(),
        "-i",
        clip2.as_os_str(),
        "-o",
        dir.path().join("both.mp4").as_os_str()
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("{stem}"), "{}", stderr(&out));
}

/// The folder rule: a folder of same-size numbered frames written to a video file is one
/// sequence (one stream at --framerate), as before; the same folder written to a folder is a
/// batch (same names); with --sequence it is renumbered frames.
#[test]
fn folder_of_frames_is_a_sequence_to_a_video_and_a_batch_to_a_folder() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x48:r=25",
        "-frames:v",
        "7",
        frames.join("f_%03d.png").to_str().unwrap(),
    ]);

    let video = dir.path().join("film.mkv");
    let out = upscale(osargs![
        "-i",
        frames.as_os_str(),
        "-o",
        video.as_os_str(),
        "--framerate",
        "10",
        "--codec",
        "ffv1"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let times = video_frame_times(&video, &[]);
    assert_eq!(times.len(), 7, "one stream of all the frames");
    assert!((times[6] - 0.6).abs() < 1e-6, "10 fps: {times:?}");
    assert_eq!(probe_image(&video).0, 128);

    let batch_out = dir.path().join("batch");
    let out = upscale(osargs![
        "-i",
        frames.as_os_str(),
        "-o",
        batch_out.as_os_str()
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<String> = files_in(&batch_out).iter().map(|p| name(p)).collect();
    let want: Vec<String> = (1..=7).map(|i| format!("f_{i:03}.png")).collect();
    assert_eq!(got, want);

    let seq_out = dir.path().join("seq");
    let out = upscale(osargs![
        "-i",
        frames.as_os_str(),
        "-o",
        &format!("{}/", seq_out.display()),
        "--sequence"
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<String> = files_in(&seq_out).iter().map(|p| name(p)).collect();
    let want: Vec<String> = (1..=7).map(|i| format!("{i:06}.png")).collect();
    assert_eq!(got, want, "--sequence: numbered frames of one sequence");

    // A folder to one image: refused, saying how to choose.
    let out = upscale(osargs![
        "-i",
        frames.as_os_str(),
        "-o",
        dir.path().join("one.png").as_os_str()
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("--sequence"), "{}", stderr(&out));
}

/// Ctrl-C in a batch: exit 130 after the current file, whose partial output is removed; the
/// files done stay; the same command with --skip-existing does the rest and leaves them alone.
#[test]
fn interrupted_batch_continues_with_skip_existing() {
    let (Some(inputs_dir), Some(_)) = (
        asset("media/sr/realesrgan_inputs"),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let args = |extra: Option<&str>| {
        let mut c = upframe();
        c.arg("upscale");
        c.env("UPFRAME_MODEL_DIR", asset("models").unwrap());
        c.arg("-i").arg(&inputs_dir).arg("-o").arg(&out_dir);
        c.args(["-n", "realesr-animevideov3", "--scale", "1"]);
        c.args(extra);
        c.stdout(std::process::Stdio::null());
        c.stderr(std::process::Stdio::piped());
        c
    };
    let mut child = args(None).spawn().unwrap();
    let started = std::time::Instant::now();
    let visible = |d: &Path| -> Vec<PathBuf> {
        files_in(d)
            .into_iter()
            .filter(|p| !name(p).starts_with('.'))
            .collect()
    };
    while visible(&out_dir).is_empty() && started.elapsed().as_secs() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the batch ended too early"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("--skip-existing"), "{err}");
    let done = files_in(&out_dir);
    assert!(
        (1..9).contains(&done.len()),
        "some files written, not all: {done:?}"
    );
    assert!(
        done.iter().all(|p| !name(p).starts_with('.')),
        "no temporary left: {done:?}"
    );
    let before: Vec<(PathBuf, Vec<u8>, std::time::SystemTime)> = done
        .iter()
        .map(|p| {
            (
                p.clone(),
                std::fs::read(p).unwrap(),
                std::fs::metadata(p).unwrap().modified().unwrap(),
            )
        })
        .collect();

    let out = args(Some("--skip-existing")).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(files_in(&out_dir).len(), 9, "{err}");
    assert_eq!(err.matches("] skipped ").count(), before.len(), "{err}");
    for (p, bytes, mtime) in before {
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{}", p.display());
        assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), mtime);
    }
}

/// A video in a batch is written in resumable segments like a single job: interrupted after a
/// segment, the same command with --skip-existing skips the finished image and resumes the
/// video (its job key ignores --skip-existing), which ends with all its frames.
#[test]
fn video_in_a_batch_resumes_with_skip_existing() {
    let (Some(img), Some(_)) = (
        asset("media/sr/realesrgan_inputs/0030.jpg"),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=160x120:r=10",
        "-frames:v",
        "40",
        "-c:v",
        "ffv1",
        clip.to_str().unwrap(),
    ]);
    let out_dir = dir.path().join("out");
    let command = |extra: Option<&str>| {
        let mut c = upframe();
        c.arg("upscale");
        c.env("UPFRAME_MODEL_DIR", asset("models").unwrap());
        c.arg("-i")
            .arg(&img)
            .arg("-i")
            .arg(&clip)
            .arg("-o")
            .arg(&out_dir);
        c.args(["-n", "realesr-animevideov3", "--scale", "1"]);
        c.args(["--segment-frames", "4", "--codec", "ffv1"]);
        c.args(extra);
        c.stdout(std::process::Stdio::null());
        c.stderr(std::process::Stdio::piped());
        c
    };
    let journal = out_dir.join(".clip.mkv.upframe-work").join("journal.txt");
    let segments = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().filter(|l| l.starts_with("segment ")).count())
            .unwrap_or(0)
    };
    let mut child = command(None).spawn().unwrap();
    let started = std::time::Instant::now();
    while segments() < 1 && started.elapsed().as_secs() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the batch ended too early"
    );
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(out_dir.join("0030.jpg").is_file());
    assert!(!out_dir.join("clip.mkv").exists());
    assert!(segments() >= 1);

    let out = command(Some("--skip-existing")).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("] skipped "), "{err}");
    assert!(err.contains("resuming after"), "the video resumed: {err}");
    let output = out_dir.join("clip.mkv");
    assert_eq!(video_frame_times(&output, &[]).len(), 40);
    assert_eq!(probe_image(&output).0, 160);
    assert!(
        !journal.exists(),
        "the work directory is removed at the end"
    );
}

/// `interpolate` with several inputs: a clip and a folder of frames (one sequence, named after
/// the folder) into a folder, each with twice its frames; an input that is not a video is
/// reported and the others are written (exit 1).
#[test]
fn interpolate_several_inputs_into_a_folder() {
    let Some(rife) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=96x64:r=10",
        "-frames:v",
        "4",
        "-c:v",
        "ffv1",
        clip.to_str().unwrap(),
    ]);
    let shot = dir.path().join("shot");
    std::fs::create_dir(&shot).unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x48:r=10",
        "-frames:v",
        "3",
        shot.join("%04d.png").to_str().unwrap(),
    ]);
    let bad = dir.path().join("notes.mp4");
    std::fs::write(&bad, "not a video\n".repeat(40)).unwrap();
    let out_dir = dir.path().join("out");
    let out = upframe()
        .args(["interpolate", "--factor", "2", "--json", "-m"])
        .arg(&rife)
        .arg("-i")
        .arg(&clip)
        .arg("-i")
        .arg(&bad)
        .arg("-i")
        .arg(&shot)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("upframe: error: {}: ", bad.display())),
        "{err}"
    );
    let got: Vec<String> = files_in(&out_dir).iter().map(|p| name(p)).collect();
    assert_eq!(got, ["clip.mkv", "shot.mkv"], "{err}");
    assert_eq!(video_frame_times(&out_dir.join("clip.mkv"), &[]).len(), 8);
    assert_eq!(video_frame_times(&out_dir.join("shot.mkv"), &[]).len(), 6);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(
        (v["files_written"].as_u64(), v["files_failed"].as_u64()),
        (Some(2), Some(1))
    );
}

/// `enhance` with several inputs and a `{stem}` name pattern: each upscaled and interpolated.
#[test]
fn enhance_several_inputs_with_a_name_pattern() {
    let Some(rife) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.mkv");
    let b = dir.path().join("b.mkv");
    for (clip, size) in [(&a, "96x64"), (&b, "64x48")] {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s={size}:r=10"),
            "-frames:v",
            "3",
            "-c:v",
            "ffv1",
            clip.to_str().unwrap(),
        ]);
    }
    let pattern = format!("{}/hd/{{stem}}_hd.mkv", dir.path().display());
    let out = upframe()
        .args(["enhance", "-q", "-n", "lanczos", "-s", "2", "--factor", "2"])
        .arg("--interp-model")
        .arg(&rife)
        .arg("-i")
        .arg(&a)
        .arg("-i")
        .arg(&b)
        .arg("-o")
        .arg(&pattern)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let hd = dir.path().join("hd");
    assert_eq!(probe_image(&hd.join("a_hd.mkv")).0, 192);
    assert_eq!(probe_image(&hd.join("b_hd.mkv")).0, 128);
    assert_eq!(video_frame_times(&hd.join("a_hd.mkv"), &[]).len(), 6);
    assert_eq!(video_frame_times(&hd.join("b_hd.mkv"), &[]).len(), 6);
}
