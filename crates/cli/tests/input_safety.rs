//! The input is sacred: every way an output can be, or write over, the input is refused before
//! anything is read, whatever `--overwrite` says (same file, symlink, hard link, a folder onto
//! itself, one of the files a folder or pattern input reads, a new image inside the folder the
//! job reads), and outputs that are devices or FIFOs are refused. Each case checks exit 1, one
//! error line, and that every input file's bytes are unchanged (SHA-256 before and after).
//! Also: checks that can be made up front fail before any model is loaded, image outputs in
//! TIFF and BMP work, and a job that fails before its first segment leaves no work directory.

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{asset, ffmpeg, have_ff_tools, upframe};
use sha2::{Digest, Sha256};

/// SHA-256 of every file under `dir` (recursively), by path relative to it.
fn tree_hashes(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let ft = entry.file_type().unwrap();
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
            } else if ft.is_symlink() {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                let target = std::fs::read_link(&path).unwrap();
                out.insert(rel, format!("symlink -> {}", target.display()));
            }
        }
    }
    out
}

fn run(args: &[&OsStr]) -> Output {
    upframe().args(args).output().expect("run upframe")
}

/// Runs `upframe args` in a folder whose every file must come out unchanged; expects exit 1
/// with one `upframe: error:` line containing every `mentions` entry. Returns the line.
fn expect_refused(args: &[&OsStr], watched: &Path, mentions: &[&str]) -> String {
    let before = tree_hashes(watched);
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "not one line: {stderr}");
    assert!(line.starts_with("upframe: error: "), "{stderr}");
    for m in mentions {
        assert!(
            line.to_lowercase().contains(&m.to_lowercase()),
            "error lacks {m:?}: {line}"
        );
    }
    assert_eq!(
        tree_hashes(watched),
        before,
        "{args:?} changed the files in {}",
        watched.display()
    );
    line.to_string()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// A folder with a photo, a short clip and three numbered frames, all from the shared media.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    photo: PathBuf,
    clip: PathBuf,
    frames: PathBuf,
}

fn fixture() -> Option<Fixture> {
    let photo_src = asset("media/sr/realesrgan_tests_set14_pairs/comic_lq.png")?;
    let clip_src = asset("media/video/chaplin.mp4")?;
    if !have_ff_tools() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let photo = root.join("b.png");
    std::fs::copy(&photo_src, &photo).unwrap();
    let clip = root.join("clip.mp4");
    ffmpeg(&[
        "-i",
        clip_src.to_str().unwrap(),
        "-t",
        "0.5",
        "-c",
        "copy",
        clip.to_str().unwrap(),
    ]);
    let frames = root.join("sq");
    std::fs::create_dir(&frames).unwrap();
    ffmpeg(&[
        "-i",
        clip_src.to_str().unwrap(),
        "-frames:v",
        "3",
        "-vf",
        "scale=64:36",
        frames.join("%04d.png").to_str().unwrap(),
    ]);
    Some(Fixture {
        _tmp: tmp,
        root,
        photo,
        clip,
        frames,
    })
}

fn p(path: &Path) -> &OsStr {
    path.as_os_str()
}

#[test]
fn output_equal_to_the_input_file_is_refused_even_with_overwrite() {
    let Some(f) = fixture() else { return };
    for model in ["lanczos", "realesr-animevideov3"] {
        let args = [
            os("upscale"),
            os("-i"),
            p(&f.photo),
            os("-o"),
            p(&f.photo),
            os("--overwrite"),
            os("-n"),
            os(model),
        ];
        expect_refused(&args, &f.root, &["b.png", "same file as the input"]);
    }
    // The video path (segmented output) too.
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.clip),
        os("-o"),
        p(&f.clip),
        os("--overwrite"),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["clip.mp4", "same file as the input"]);
    // Spelled differently: ./dir/../dir/b.png.
    let odd = f.root.join("sq").join("..").join("b.png");
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.photo),
        os("-o"),
        p(&odd),
        os("--overwrite"),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["same file as the input"]);
}

#[test]
fn symlink_and_hard_link_to_the_input_are_refused() {
    let Some(f) = fixture() else { return };
    let link = f.root.join("link.png");
    std::os::unix::fs::symlink(&f.photo, &link).unwrap();
    let hard = f.root.join("hard.png");
    std::fs::hard_link(&f.photo, &hard).unwrap();
    let hard_video = f.root.join("hard.mp4");
    std::fs::hard_link(&f.clip, &hard_video).unwrap();
    for (input, output, what) in [
        (&f.photo, &link, "symbolic link"),
        (&f.photo, &hard, "hard link"),
        (&f.clip, &hard_video, "hard link"),
        // The input given through the link, the output by its real name.
        (&link, &f.photo, "same file as the input"),
    ] {
        let args = [
            os("upscale"),
            os("-i"),
            p(input),
            os("-o"),
            p(output),
            os("--overwrite"),
            os("-n"),
            os("lanczos"),
        ];
        expect_refused(&args, &f.root, &[what]);
    }
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn a_folder_written_onto_itself_or_into_its_own_frames_is_refused() {
    let Some(f) = fixture() else { return };
    let dir = f.frames.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        // The folder onto itself, with and without a trailing slash on either side.
        (
            vec![dir.clone(), format!("{dir}/")],
            "output folder is the input folder",
        ),
        (
            vec![format!("{dir}/"), dir.clone()],
            "output folder is the input folder",
        ),
        // The pattern onto itself.
        (
            vec![format!("{dir}/%04d.png"), format!("{dir}/%04d.png")],
            "named like the input frames",
        ),
        // One of the files the folder input reads.
        (
            vec![dir.clone(), format!("{dir}/0002.png")],
            "same file as the input",
        ),
        // A new image inside the folder the job reads (a later run would read it).
        (
            vec![dir.clone(), format!("{dir}/new.png")],
            "files the job reads",
        ),
        // A single input frame, and an output pattern that numbers onto it.
        (
            vec![format!("{dir}/0001.png"), format!("{dir}/%04d.png")],
            "input file",
        ),
    ];
    for (io, what) in cases {
        let args = [
            os("upscale"),
            os("-i"),
            os(&io[0]),
            os("-o"),
            os(&io[1]),
            os("--overwrite"),
            os("-n"),
            os("lanczos"),
        ];
        expect_refused(&args, &f.root, &[what]);
    }
    // Writing the frames into a subfolder of the input folder is fine: nothing collides.
    let sub = f.frames.join("x2");
    let out = run(&[
        os("upscale"),
        os("-i"),
        p(&f.frames),
        os("-o"),
        os(&format!("{}/%04d.png", sub.display())),
        os("-n"),
        os("lanczos"),
        os("-q"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 3);
}

#[test]
fn devices_fifos_and_directories_are_not_outputs() {
    let Some(f) = fixture() else { return };
    let fifo = f.root.join("pipe.mp4");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    for (output, what) in [
        (Path::new("/dev/null"), "character device"),
        (fifo.as_path(), "fifo"),
    ] {
        let t = Instant::now();
        let args = [
            os("upscale"),
            os("-i"),
            p(&f.clip),
            os("-o"),
            p(output),
            os("--overwrite"),
            os("-n"),
            os("lanczos"),
        ];
        expect_refused(&args, &f.root, &[what]);
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    // /dev/null is still the device it was.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

/// What can be told up front is told before the model loads: a refused output with a model name
/// that does not exist reports the output, not the model; an unknown container fails in well
/// under a second.
#[test]
fn refusals_come_before_the_model_is_loaded() {
    let Some(f) = fixture() else { return };
    let t = Instant::now();
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.photo),
        os("-o"),
        p(&f.photo),
        os("--overwrite"),
        os("-n"),
        os("no-such-model-anywhere"),
    ];
    expect_refused(&args, &f.root, &["same file as the input"]);
    for (name, what) in [
        ("out.xyz", "unknown output container"),
        ("out.wav", "cannot hold"),
    ] {
        let output = f.root.join(name);
        let args = [
            os("upscale"),
            os("-i"),
            p(&f.clip),
            os("-o"),
            p(&output),
            os("-n"),
            os("no-such-model-anywhere"),
        ];
        expect_refused(&args, &f.root, &[what, name]);
        assert!(!output.exists());
    }
    // A video to one image: refused up front (the image holds one frame), unless a window
    // picks the frames.
    let still = f.root.join("still.png");
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.clip),
        os("-o"),
        p(&still),
        os("-n"),
        os("no-such-model-anywhere"),
    ];
    expect_refused(&args, &f.root, &["an image holds one frame", "--frames 1"]);
    assert!(!still.exists());
    assert!(
        t.elapsed() < Duration::from_secs(4),
        "four up-front refusals took {:?}",
        t.elapsed()
    );
    let out = run(&[
        os("upscale"),
        os("-i"),
        p(&f.clip),
        os("-o"),
        p(&still),
        os("-n"),
        os("lanczos"),
        os("--frames"),
        os("1"),
        os("-q"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(common::video_stream(&still)["width"], 1280);
}

/// `.tif`, `.tiff` and `.bmp` are image outputs (not video muxers); TIFF keeps 16 bits.
#[test]
fn tiff_and_bmp_outputs_are_images() {
    let Some(f) = fixture() else { return };
    let Some(deep) = asset("media/sr/realesrgan_inputs/tree_alpha_16bit.png") else {
        return;
    };
    for name in ["x.tif", "x.tiff", "x.bmp"] {
        let output = f.root.join(name);
        let out = run(&[
            os("upscale"),
            os("-i"),
            p(&f.photo),
            os("-o"),
            p(&output),
            os("-n"),
            os("lanczos"),
            os("-q"),
        ]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = common::video_stream(&output);
        assert_eq!(v["width"], 120, "{name}: {v}");
        assert_eq!(v["height"], 180, "{name}: {v}");
    }
    let output = f.root.join("deep.tiff");
    let out = run(&[
        os("upscale"),
        os("-i"),
        p(&deep),
        os("-o"),
        p(&output),
        os("-n"),
        os("lanczos"),
        os("-q"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = common::video_stream(&output);
    let pix = v["pix_fmt"].as_str().unwrap_or_default();
    assert!(pix.starts_with("rgba64"), "16-bit RGBA expected, got {v}");
    assert_eq!(v["width"], 684);
}

/// A job that fails before its first complete segment leaves no work directory, and the
/// corrected command then runs (it is not refused as a changed job).
#[test]
fn a_failure_before_the_first_segment_leaves_no_work_directory() {
    let Some(f) = fixture() else { return };
    let output = f.root.join("odd.mp4");
    let work = f.root.join(".odd.mp4.upframe-work");
    // 640x360 x 1.003 = 642x361: yuv420p cannot store an odd height.
    let out = run(&[
        os("upscale"),
        os("-i"),
        p(&f.clip),
        os("-o"),
        p(&output),
        os("-n"),
        os("lanczos"),
        os("-s"),
        os("1.003"),
        os("-q"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("odd"), "{stderr}");
    assert!(!output.exists());
    assert!(!work.exists(), "work directory left: {stderr}");
    let out = run(&[
        os("upscale"),
        os("-i"),
        p(&f.clip),
        os("-o"),
        p(&output),
        os("-n"),
        os("lanczos"),
        os("-s"),
        os("1.5"),
        os("-q"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(output.exists());
    assert!(!work.exists());
}

/// Paths that only resolve to the input once folders exist, upframe's own temporary and work
/// names, and outputs that are links: each refused with the input unchanged.
#[test]
fn indirect_names_of_the_input_are_refused() {
    let Some(f) = fixture() else { return };
    let root = f.root.to_str().unwrap().to_string();
    let sq_pattern = format!("{root}/sq/%04d.png");
    let via_new = format!("{root}/new/../sq/%04d.png");
    let out_png = f.root.join("out.png");
    let w_mp4 = f.root.join("w.mp4");
    let folder_named_like_a_file = format!("{}/", f.photo.display());
    // `new/../sq` is `sq` once `new` exists: the output frames would replace the input's.
    let args = [
        os("upscale"),
        os("-i"),
        os(&sq_pattern),
        os("-o"),
        os(&via_new),
        os("--overwrite"),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["named like the input frames"]);
    assert!(!f.root.join("new").exists(), "a folder was created");

    // The input has the name of the output's temporary file.
    let partial = f.root.join(".out.upframe-partial.png");
    std::fs::copy(&f.photo, &partial).unwrap();
    let args = [
        os("upscale"),
        os("-i"),
        p(&partial),
        os("-o"),
        p(&out_png),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["temporary file"]);

    // The input inside the work directory the output's job would use.
    let work = f.root.join(".w.mp4.upframe-work");
    std::fs::create_dir(&work).unwrap();
    let in_work = work.join("in.mp4");
    std::fs::copy(&f.clip, &in_work).unwrap();
    let args = [
        os("upscale"),
        os("-i"),
        p(&in_work),
        os("-o"),
        p(&w_mp4),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["work directory"]);

    // A dangling symbolic link under the output name is the user's: refused without
    // --overwrite, and left as it was.
    let link = f.root.join("dangling.png");
    std::os::unix::fs::symlink(f.root.join("gone.png"), &link).unwrap();
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.photo),
        os("-o"),
        p(&link),
        os("-n"),
        os("lanczos"),
    ];
    expect_refused(&args, &f.root, &["already exists"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // A sequence into a folder whose name is a file: refused before any work.
    let args = [
        os("upscale"),
        os("-i"),
        p(&f.frames),
        os("-o"),
        os(&folder_named_like_a_file),
        os("--sequence"),
        os("-n"),
        os("no-such-model-anywhere"),
    ];
    expect_refused(&args, &f.root, &["not a directory"]);
}
