//! The bad-input matrix for `upframe upscale`: missing, empty, mistyped, truncated and damaged
//! media; zero video streams; tiny and odd frame sizes; unknown models, weights of the wrong
//! kind, truncated/corrupt/hostile `.pth` files; frames over the `--max-pixels` limit;
//! unwritable outputs, output == input and an existing output. Every failure must be exit 1 with ONE stderr line `upframe: error: ...` that
//! names the file and the problem, no panic, and nothing new beside the output name.

mod common;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{asset, ffmpeg, have_ff_tools, upframe};

/// Entries of `dir` (names), sorted; empty when `dir` does not exist.
fn listing(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map(|it| it.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// `upscale`'s default model is realesr-animevideov3; this matrix was written against Lanczos,
/// so a case that names no model gets `--model lanczos` explicitly.
fn model_args(args: &[&OsStr]) -> &'static [&'static str] {
    let names_model = args
        .iter()
        .any(|a| ["-n", "-m", "--model"].map(OsStr::new).contains(a));
    if names_model {
        &[]
    } else {
        &["--model", "lanczos"]
    }
}

/// Runs `upframe upscale <args> -o <output>` expecting failure. Checks: exit code 1, exactly one
/// stderr line starting `upframe: error: `, no panic text, every `mentions` string present
/// (case-insensitive), nothing under `output` (or, when it pre-existed, the same bytes) and no
/// new entry (temp file) beside it. Returns the error line.
fn expect_failure(args: &[&OsStr], output: &Path, mentions: &[&str]) -> String {
    let parent = output.parent().expect("output has a parent").to_path_buf();
    let before = listing(&parent);
    let old_bytes = std::fs::read(output).ok();
    let out = upframe()
        .arg("upscale")
        .arg("-q")
        .args(model_args(args))
        .args(args)
        .arg("-o")
        .arg(output)
        .output()
        .expect("run upframe");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "args {args:?}: stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "not one line: {stderr}");
    assert!(line.starts_with("upframe: error: "), "{stderr}");
    let lower = line.to_lowercase();
    for m in mentions {
        assert!(
            lower.contains(&m.to_lowercase()),
            "error line lacks {m:?}: {line}"
        );
    }
    assert_eq!(
        std::fs::read(output).ok(),
        old_bytes,
        "output {} was created or changed",
        output.display()
    );
    assert_eq!(
        listing(&parent),
        before,
        "entries appeared beside the output"
    );
    eprintln!("{line}");
    line.to_string()
}

/// Video stream width/height of `file` per ffprobe.
fn video_size(file: &Path) -> (u64, u64) {
    let v = common::ffprobe_json(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
        ],
        file,
    );
    let s = &v["streams"][0];
    (
        s["width"].as_u64().expect("width"),
        s["height"].as_u64().expect("height"),
    )
}

/// Decoded video frame count of `file` per ffprobe.
fn frame_count(file: &Path) -> usize {
    common::video_frame_times(file, &[]).len()
}

fn run(args: &[&OsStr]) -> Output {
    upframe()
        .arg("upscale")
        .arg("-q")
        .args(model_args(args))
        .args(args)
        .output()
        .expect("run upframe")
}

/// The first `fraction` of `src` copied to `dst`.
fn truncated_copy(src: &Path, dst: &Path, fraction: f64) {
    let bytes = std::fs::read(src).expect("read asset");
    let keep = (bytes.len() as f64 * fraction) as usize;
    std::fs::write(dst, &bytes[..keep]).expect("write truncated copy");
}

/// A small real PNG input (16x12 test pattern) in `dir`.
fn small_png(dir: &Path) -> PathBuf {
    let p = dir.join("small.png");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=16x12",
        "-frames:v",
        "1",
        p.to_str().unwrap(),
    ]);
    p
}

#[test]
fn missing_directory_empty_and_text_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");

    let missing = dir.path().join("missing.mp4");
    expect_failure(
        &[OsStr::new("-i"), missing.as_os_str()],
        &out,
        &["missing.mp4", "no such file"],
    );

    // A directory is a valid input (a frame sequence) — an empty one has no frames.
    let empty_dir = dir.path().join("frames");
    std::fs::create_dir(&empty_dir).unwrap();
    expect_failure(
        &[OsStr::new("-i"), empty_dir.as_os_str()],
        &out,
        &["frames"],
    );

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    expect_failure(&[OsStr::new("-i"), empty.as_os_str()], &out, &["empty.mp4"]);

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is a text file, not a video\n".repeat(50)).unwrap();
    expect_failure(&[OsStr::new("-i"), text.as_os_str()], &out, &["notes.mp4"]);
}

#[test]
fn truncated_mp4_without_moov_is_an_error() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // chaplin.mp4 keeps its moov box at the end: the first 30% has only media data.
    let cut = dir.path().join("chaplin_cut.mp4");
    truncated_copy(&chaplin, &cut, 0.3);
    expect_failure(
        &[
            OsStr::new("-i"),
            cut.as_os_str(),
            OsStr::new("--frames"),
            OsStr::new("2"),
        ],
        &dir.path().join("out.mp4"),
        &["chaplin_cut.mp4"],
    );
}

/// Decided behaviour: a webm cut mid-cluster ends before the duration its header declares:
/// by default that is a one-line error ("ends early"); with `--on-decode-error skip` upframe
/// writes the frames that decode (like `ffmpeg -i`), and the run succeeds.
#[test]
fn truncated_webm_ends_early_unless_skipped() {
    if !have_ff_tools() {
        return;
    }
    let Some(bbb) = asset("media/video/big_buck_bunny_0_30.webm") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("bbb_cut.webm");
    truncated_copy(&bbb, &cut, 0.2);
    let decodable = frame_count(&cut);
    assert!(decodable > 10, "{decodable}");
    // Ask for a window that runs past the cut: only the decodable frames come out.
    let start = format!("{}", (decodable as f64 - 5.0) / 24.0);
    let out = dir.path().join("out.mkv");
    let window = [
        OsStr::new("-i"),
        cut.as_os_str(),
        OsStr::new("--start"),
        OsStr::new(&start),
        OsStr::new("--scale"),
        OsStr::new("0.25"),
        OsStr::new("--frames"),
        OsStr::new("50"),
    ];
    expect_failure(
        &window,
        &out,
        &["bbb_cut.webm", "ends early", "of 50 frames"],
    );
    let mut args = window.to_vec();
    args.extend([
        OsStr::new("--on-decode-error"),
        OsStr::new("skip"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    let res = run(&args);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let written = frame_count(&out);
    assert!(
        (1..=6).contains(&written),
        "{written} frames from the last ~5 decodable ones"
    );
}

#[test]
fn undecodable_first_frame_aborts_by_default() {
    let Some(boxmp4) = asset("media/video/box.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    expect_failure(
        &[
            OsStr::new("-i"),
            boxmp4.as_os_str(),
            OsStr::new("--frames"),
            OsStr::new("2"),
        ],
        &dir.path().join("out.mp4"),
        &["box.mp4", "decode"],
    );
}

#[test]
fn audio_only_input_has_no_video_stream() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("tone.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=0.5",
        "-c:a",
        "aac",
        audio.to_str().unwrap(),
    ]);
    expect_failure(
        &[OsStr::new("-i"), audio.as_os_str()],
        &dir.path().join("out.mp4"),
        &["tone.m4a", "video"],
    );
}

/// 1x1 and odd-sized frames: Lanczos x2 works for videos and images; an odd output size for a
/// 4:2:0 encoder either works (size adjusted) or is a clear one-line error.
#[test]
fn tiny_and_odd_frame_sizes() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (w, h) in [(1, 1), (7, 5), (33, 17)] {
        // FFV1 in Matroska stores any size losslessly (x264 4:2:0 cannot hold 1x1 or 7x5).
        // lavfi sources refuse 1x1, so every size starts from raw RGB frames (a gradient).
        let raw = dir.path().join(format!("in_{w}x{h}.rgb"));
        let pixels: Vec<u8> = (0..3 * w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        std::fs::write(&raw, pixels).unwrap();
        let src = dir.path().join(format!("in_{w}x{h}.mkv"));
        ffmpeg(&[
            "-f",
            "rawvideo",
            "-pixel_format",
            "rgb24",
            "-video_size",
            &format!("{w}x{h}"),
            "-framerate",
            "10",
            "-i",
            raw.to_str().unwrap(),
            "-c:v",
            "ffv1",
            "-pix_fmt",
            "yuv444p",
            src.to_str().unwrap(),
        ]);
        let out = dir.path().join(format!("out_{w}x{h}.mkv"));
        let res = run(&[
            OsStr::new("-i"),
            src.as_os_str(),
            OsStr::new("--codec"),
            OsStr::new("ffv1"),
            OsStr::new("-o"),
            out.as_os_str(),
        ]);
        assert!(
            res.status.success(),
            "{w}x{h}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert_eq!(video_size(&out), (2 * w, 2 * h), "{w}x{h}");
        assert_eq!(frame_count(&out), 3);

        let png = dir.path().join(format!("in_{w}x{h}.png"));
        ffmpeg(&[
            "-i",
            src.to_str().unwrap(),
            "-frames:v",
            "1",
            png.to_str().unwrap(),
        ]);
        let png_out = dir.path().join(format!("out_{w}x{h}.png"));
        let res = run(&[
            OsStr::new("-i"),
            png.as_os_str(),
            OsStr::new("-o"),
            png_out.as_os_str(),
        ]);
        assert!(
            res.status.success(),
            "{w}x{h} png: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert_eq!(video_size(&png_out), (2 * w, 2 * h));

        // x1.5 of an odd size into H.264 4:2:0 (default for .mp4): odd output dimensions.
        let mp4 = dir.path().join(format!("out_{w}x{h}.mp4"));
        let res = run(&[
            OsStr::new("-i"),
            src.as_os_str(),
            OsStr::new("--scale"),
            OsStr::new("1.5"),
            OsStr::new("-o"),
            mp4.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        if res.status.success() {
            let (ow, oh) = video_size(&mp4);
            eprintln!("{w}x{h} x1.5 -> mp4 {ow}x{oh}");
            assert!(ow >= 1 && oh >= 1);
        } else {
            eprintln!("{w}x{h} x1.5 -> mp4: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(stderr.starts_with("upframe: error: "), "{stderr}");
            assert!(!mp4.exists());
        }
    }
}

#[test]
fn unknown_model_name() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    expect_failure(
        &[
            OsStr::new("-i"),
            png.as_os_str(),
            OsStr::new("-n"),
            OsStr::new("RealESRGAN_x9000"),
        ],
        &dir.path().join("out.png"),
        &["RealESRGAN_x9000", "unknown model"],
    );
}

#[test]
fn weights_of_the_wrong_architecture() {
    if !have_ff_tools() {
        return;
    }
    let Some(flownet) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    // RIFE's flow network handed to the upscaler.
    expect_failure(
        &[
            OsStr::new("-i"),
            png.as_os_str(),
            OsStr::new("-n"),
            flownet.as_os_str(),
        ],
        &dir.path().join("out.png"),
        &["flownet.pkl"],
    );
    // A genuine torch.save checkpoint of a 2-tensor state dict (no known architecture).
    let tiny = dir.path().join("tiny.pth");
    std::fs::write(
        &tiny,
        include_bytes!("../../../fuzz/corpus/pth/two_f32.pth"),
    )
    .unwrap();
    expect_failure(
        &[
            OsStr::new("-i"),
            png.as_os_str(),
            OsStr::new("-n"),
            tiny.as_os_str(),
        ],
        &dir.path().join("out.png"),
        &["tiny.pth"],
    );
}

/// CRC-32 (IEEE), for the hand-built zip archives below.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive with `entries` stored uncompressed (the layout `torch.save` writes).
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed
        common.extend_from_slice(&0u16.to_le_bytes()); // flags
        common.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        common.extend_from_slice(&0u32.to_le_bytes()); // time, date
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&size.to_le_bytes());
        common.extend_from_slice(&size.to_le_bytes());
        common.extend_from_slice(&(name.len() as u16).to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&common);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&common);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[test]
fn truncated_corrupt_and_hostile_pth() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    let out = dir.path().join("out.png");
    let try_weights = |weights: &Path, mentions: &[&str]| {
        expect_failure(
            &[
                OsStr::new("-i"),
                png.as_os_str(),
                OsStr::new("-n"),
                weights.as_os_str(),
            ],
            &out,
            mentions,
        )
    };

    if let Some(real) = asset("models/realesr-animevideov3.pth") {
        let cut = dir.path().join("anime_cut.pth");
        truncated_copy(&real, &cut, 0.3);
        try_weights(&cut, &["anime_cut.pth"]);
        // Same length, a run of bytes in the middle of the tensor data zeroed: the zip CRC or
        // the model check must notice, or the values load (weights are just numbers) — but a
        // damaged central directory must be an error.
        let mut bytes = std::fs::read(&real).unwrap();
        let n = bytes.len();
        bytes[n - 200..n - 100].fill(0);
        let bad_cd = dir.path().join("anime_bad_cd.pth");
        std::fs::write(&bad_cd, &bytes).unwrap();
        try_weights(&bad_cd, &["anime_bad_cd.pth"]);
    }

    let garbage = dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"PK\x03\x04 definitely not a zip archive").unwrap();
    try_weights(&garbage, &["garbage.pth"]);

    let bad_pickle = dir.path().join("bad_pickle.pth");
    std::fs::write(
        &bad_pickle,
        stored_zip(&[("archive/data.pkl", b"\x80\x02}q\x00(X\x01\x00\x00\x00a")]),
    )
    .unwrap();
    try_weights(&bad_pickle, &["bad_pickle.pth"]);

    // GLOBAL os.system + REDUCE: a real pickle loader would run the shell command.
    let witness = dir.path().join("pwned");
    let command = format!("touch {}", witness.display());
    let mut payload = b"\x80\x02cos\nsystem\nq\x00X".to_vec();
    payload.extend_from_slice(&(command.len() as u32).to_le_bytes());
    payload.extend_from_slice(command.as_bytes());
    payload.extend_from_slice(b"\x85R."); // TUPLE1, REDUCE, STOP
    let hostile = dir.path().join("hostile.pth");
    std::fs::write(&hostile, stored_zip(&[("archive/data.pkl", &payload)])).unwrap();
    let line = try_weights(&hostile, &["hostile.pth"]);
    assert!(
        line.contains("os") && line.contains("system"),
        "error should name the refused global: {line}"
    );
    assert!(!witness.exists(), "the pickle payload ran");
}

#[test]
fn unwritable_output_path() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    std::fs::write(&file, b"a regular file").unwrap();
    // A path "under" a regular file: even root cannot create it.
    let out = file.join("out.mp4");
    let res = run(&[
        OsStr::new("-i"),
        chaplin.as_os_str(),
        OsStr::new("--frames"),
        OsStr::new("2"),
        OsStr::new("-o"),
        out.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert_eq!(res.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("file.txt/out.mp4"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), b"a regular file");
    assert_eq!(listing(dir.path()), vec![OsString::from("file.txt")]);
}

#[test]
fn output_equal_to_input_and_existing_output() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mp4");
    std::fs::copy(&chaplin, &input).unwrap();
    let original = std::fs::read(&input).unwrap();
    expect_failure(
        &[
            OsStr::new("-i"),
            input.as_os_str(),
            OsStr::new("--frames"),
            OsStr::new("2"),
            OsStr::new("--overwrite"),
        ],
        &input,
        &["in.mp4"],
    );
    // Same file through another spelling of the path.
    let other_spelling = dir.path().join(".").join("in.mp4");
    expect_failure(
        &[
            OsStr::new("-i"),
            input.as_os_str(),
            OsStr::new("--frames"),
            OsStr::new("2"),
            OsStr::new("--overwrite"),
        ],
        &other_spelling,
        &["in.mp4"],
    );
    assert_eq!(std::fs::read(&input).unwrap(), original);

    let existing = dir.path().join("existing.mp4");
    std::fs::write(&existing, b"precious").unwrap();
    expect_failure(
        &[
            OsStr::new("-i"),
            input.as_os_str(),
            OsStr::new("--frames"),
            OsStr::new("2"),
        ],
        &existing,
        &["existing.mp4", "overwrite"],
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
}

#[test]
fn output_pattern_with_an_absurd_pad_width() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    // 300 digits: a file name longer than any file system allows (255 bytes).
    expect_failure(
        &[OsStr::new("-i"), png.as_os_str()],
        &dir.path().join("%300d.png"),
        &["%300d.png", "too large"],
    );
}

/// `format!` runtime widths stop at u16::MAX: the sink must refuse such a pattern, not panic
/// ("Formatting argument out of range").
#[test]
fn output_pattern_with_a_pad_width_beyond_u16() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    expect_failure(
        &[OsStr::new("-i"), png.as_os_str()],
        &dir.path().join("%70000d.png"),
        &["%70000d.png"],
    );
}

/// Model-loading errors name the file once and state the problem once, although library errors
/// embed their sources in their messages.
#[test]
fn weight_errors_name_the_file_once() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let png = small_png(dir.path());
    let garbage = dir.path().join("garbage.pth");
    std::fs::write(&garbage, b"PK\x03\x04 definitely not a zip archive").unwrap();
    let line = expect_failure(
        &[
            OsStr::new("-i"),
            png.as_os_str(),
            OsStr::new("-n"),
            garbage.as_os_str(),
        ],
        &dir.path().join("out.png"),
        &["garbage.pth", "zip"],
    );
    assert_eq!(line.matches("garbage.pth").count(), 1, "{line}");
    assert_eq!(line.matches("Could not find EOCD").count(), 1, "{line}");
}

/// Frames larger than the stated limit (`--max-pixels`) are refused before anything is
/// written: chaplin's 640x360 input over a 200,000-pixel limit, and its 1280x720 output
/// (Lanczos x2) over a 500,000-pixel limit; interpolation checks its frames too.
/// A real PNG of 20000×20000 black pixels (1.2 GB decoded, a few MB on disk), written row by row.
fn huge_png(path: &Path) {
    use std::io::Write;
    let file = std::io::BufWriter::new(std::fs::File::create(path).expect("create png"));
    let mut encoder = png::Encoder::new(file, 20000, 20000);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().expect("png header");
    let mut stream = writer.stream_writer().expect("png stream");
    let row = vec![0u8; 20000 * 3];
    for _ in 0..20000 {
        stream.write_all(&row).expect("png row");
    }
    stream.finish().expect("png end");
}

/// An image over the image decoder's own memory limit used to fail as "not a media file
/// (Memory limit exceeded)"; it gets the `--max-pixels` message, from its header, before any
/// decoding. A lower `--max-pixels` is applied to images the same way.
#[test]
fn huge_image_gets_the_max_pixels_message() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    huge_png(&big);
    let out = dir.path().join("out.png");
    let line = expect_failure(
        &[OsStr::new("-i"), big.as_os_str()],
        &out,
        &[
            "big.png",
            "20000x20000",
            "input frames",
            "268435456 pixels",
            "--max-pixels",
        ],
    );
    assert!(!line.contains("not a media file"), "{line}");
    if !have_ff_tools() {
        return;
    }
    let small = small_png(dir.path());
    expect_failure(
        &[
            OsStr::new("-i"),
            small.as_os_str(),
            OsStr::new("--max-pixels"),
            OsStr::new("100"),
        ],
        &out,
        &["input frames", "100 pixels", "--max-pixels"],
    );
}

#[test]
fn frames_larger_than_the_stated_limit() {
    let Some(clip) = asset("media/video/chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let line = expect_failure(
        &[
            OsStr::new("-i"),
            clip.as_os_str(),
            OsStr::new("--max-pixels"),
            OsStr::new("200000"),
        ],
        &out,
        &["chaplin.mp4", "640x360", "input frames", "200000 pixels"],
    );
    assert!(line.contains("--max-pixels"), "{line}");
    expect_failure(
        &[
            OsStr::new("-i"),
            clip.as_os_str(),
            OsStr::new("--scale"),
            OsStr::new("2"),
            OsStr::new("--max-pixels"),
            OsStr::new("500000"),
        ],
        &out,
        &["chaplin.mp4", "1280x720", "output frames", "500000 pixels"],
    );
    let Some(rife) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let before = listing(dir.path());
    let o = upframe()
        .args([
            "interpolate",
            "-q",
            "--factor",
            "2",
            "--max-pixels",
            "200000",
        ])
        .arg("--model")
        .arg(&rife)
        .arg("-i")
        .arg(&clip)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run upframe");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("200000 pixels"), "{stderr}");
    assert_eq!(listing(dir.path()), before, "entries appeared: {stderr}");
}
