//! Short inputs end to end: a real clip cut in the middle (byte truncation of an MP4 whose
//! index comes first) makes `upscale` and `interpolate` fail with ONE line saying what the
//! container declares and what was read, exit 1, nothing under the output name, and a resumed
//! run says the same; `--on-decode-error skip` writes the frames that exist, warns in the same
//! words and cuts the audio at the video's real end. A cut MP4 whose index was at its end is a
//! one-line error too; an image sequence with a gap is refused, or read without it under skip.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    asset, audio_packets, ffmpeg, framemd5_lines, have_ff_tools, upframe, video_frame_times,
};

/// `src` remuxed with its index (moov) first, then the first `fraction` of its bytes.
fn faststart_cut(src: &Path, dir: &Path, name: &str, fraction: f64) -> PathBuf {
    let whole = dir.join(format!("whole_{name}"));
    ffmpeg(&[
        OsStr::new("-i"),
        src.as_os_str(),
        OsStr::new("-c"),
        OsStr::new("copy"),
        OsStr::new("-movflags"),
        OsStr::new("+faststart"),
        whole.as_os_str(),
    ]);
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.join(name);
    std::fs::write(&cut, &bytes[..(bytes.len() as f64 * fraction) as usize]).unwrap();
    std::fs::remove_file(&whole).unwrap();
    cut
}

fn run(command: &str, args: &[&OsStr]) -> Output {
    upframe()
        .arg(command)
        .args(args)
        .output()
        .expect("run upframe")
}

/// The one stderr line of a failed run (exit 1, `upframe: error: `), after checking that
/// nothing is under `output`.
fn one_error_line(out: &Output, output: &Path) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "not one line: {stderr}");
    assert!(line.starts_with("upframe: error: "), "{stderr}");
    assert!(!output.exists(), "{} was written", output.display());
    eprintln!("{line}");
    line.to_string()
}

/// The counts in `... ends early: R of D frames (r of d s); the file is truncated or damaged`.
fn ends_early_counts(text: &str) -> (u64, u64, f64, f64) {
    let rest = text
        .split_once("ends early: ")
        .unwrap_or_else(|| panic!("no 'ends early': {text}"))
        .1;
    assert!(
        rest.ends_with("; the file is truncated or damaged"),
        "{text}"
    );
    let words: Vec<&str> = rest
        .split([' ', '(', ')', ';'])
        .filter(|w| !w.is_empty())
        .collect();
    // R of D frames r of d s
    assert_eq!(
        (words[1], words[3], words[5], words[7]),
        ("of", "frames", "of", "s"),
        "{text}"
    );
    (
        words[0].parse().unwrap(),
        words[2].parse().unwrap(),
        words[4].parse().unwrap(),
        words[6].parse().unwrap(),
    )
}

fn lanczos_args<'a>(input: &'a Path, output: &'a Path, extra: &[&'a str]) -> Vec<&'a OsStr> {
    let mut v: Vec<&OsStr> = vec![
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        output.as_os_str(),
        OsStr::new("--model"),
        OsStr::new("lanczos"),
        OsStr::new("--scale"),
        OsStr::new("0.5"),
        OsStr::new("--preset"),
        OsStr::new("ultrafast"),
        OsStr::new("-q"),
    ];
    v.extend(extra.iter().map(|a| OsStr::new(*a)));
    v
}

#[test]
fn cut_faststart_mp4_is_an_error_with_the_counts() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = faststart_cut(&chaplin, dir.path(), "t.mp4", 0.4);
    let output = dir.path().join("out.mp4");
    let out = run("upscale", &lanczos_args(&input, &output, &[]));
    let line = one_error_line(&out, &output);
    assert!(
        line.starts_with(&format!(
            "upframe: error: {}: ends early: ",
            input.display()
        )),
        "{line}"
    );
    let (read, declared, read_s, declared_s) = ends_early_counts(&line);
    assert_eq!(declared, 241, "{line}");
    assert_eq!(declared_s, 9.6, "{line}");
    // What was read is what an independent decoder finds in the cut file (within the one
    // frame the cut falls into).
    let decodable = video_frame_times(&input, &[]).len() as u64;
    assert!(
        read.abs_diff(decodable) <= 1,
        "{read} read, ffprobe decodes {decodable}"
    );
    assert!((read_s - read as f64 / 25.0).abs() <= 0.1, "{line}");
    // Nothing else either: no temporary file, no work directory with nothing to resume.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![OsStr::new("t.mp4").to_os_string()], "{names:?}");
}

/// Runs `upscale --on-decode-error skip --json` on a short `input` into `output`; checks the
/// warning (with its counts), the frames written and the audio, which must end where the
/// video ends (within one audio frame). Returns the warning's counts, the video's end and the
/// audio's end (ffprobe, seconds).
fn upscale_skip(input: &Path, output: &Path, segments: &str) -> (String, f64, f64) {
    let out = run(
        "upscale",
        &lanczos_args(
            input,
            output,
            &[
                "--on-decode-error",
                "skip",
                "--json",
                "--segment-frames",
                segments,
            ],
        ),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.starts_with("upframe: warning: "))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    eprintln!("{warning}");
    assert!(
        warning.starts_with(&format!(
            "upframe: warning: {}: ends early: ",
            input.display()
        )),
        "{warning}"
    );
    assert!(warning.ends_with("; the file is truncated or damaged"));
    let read: u64 = warning
        .split_once("ends early: ")
        .and_then(|(_, r)| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count: {warning}"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let frames_out = json["frames_out"].as_u64().unwrap();
    assert_eq!(frames_out, read, "{json}");
    assert_eq!(
        json["short_input"].as_str(),
        warning.strip_prefix("upframe: warning: ")
    );

    let times = video_frame_times(output, &[]);
    assert_eq!(times.len() as u64, frames_out);
    let video_end = times.last().unwrap() + 1.0 / 25.0;
    let audio = audio_packets(output);
    assert!(!audio.is_empty(), "the audio was dropped");
    let (last_pts, last_dur, _, _) = *audio.last().unwrap();
    let audio_end = last_pts + last_dur;
    // No longer than the video, but for the one audio frame that starts before its end.
    assert!(
        audio_end <= video_end + last_dur + 1e-3,
        "audio ends at {audio_end}, video at {video_end}"
    );
    (warning.to_string(), video_end, audio_end)
}

#[test]
fn skip_keeps_the_frames_that_exist() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = faststart_cut(&chaplin, dir.path(), "t.mp4", 0.4);
    // Segmented output (joined at the end) and a file written directly.
    for segments in ["100", "0"] {
        let output = dir.path().join(format!("out_{segments}.mp4"));
        let (warning, _, _) = upscale_skip(&input, &output, segments);
        let (read, declared, _, _) = ends_early_counts(&warning);
        assert_eq!(declared, 241);
        let decodable = video_frame_times(&input, &[]).len() as u64;
        assert!(read.abs_diff(decodable) <= 1, "{read} vs {decodable}");
    }
}

/// An MP4 stored in 3 s fragments, audio before video in each: a cut inside a fragment's
/// video leaves its audio running seconds past the last frame. That audio is cut where the
/// video ends.
#[test]
fn skip_cuts_the_audio_at_the_videos_real_end() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("fragmented.mp4");
    ffmpeg(&[
        OsStr::new("-i"),
        chaplin.as_os_str(),
        OsStr::new("-map"),
        OsStr::new("0:a"),
        OsStr::new("-map"),
        OsStr::new("0:v"),
        OsStr::new("-c"),
        OsStr::new("copy"),
        OsStr::new("-movflags"),
        OsStr::new("+frag_keyframe+global_sidx+default_base_moof"),
        OsStr::new("-frag_duration"),
        OsStr::new("3000000"),
        whole.as_os_str(),
    ]);
    let bytes = std::fs::read(&whole).unwrap();
    let input = dir.path().join("f.mp4");
    std::fs::write(&input, &bytes[..bytes.len() * 45 / 100]).unwrap();
    // The cut file's own audio runs on well past its video.
    let in_video_end = video_frame_times(&input, &[]).last().unwrap() + 1.0 / 25.0;
    let in_audio_end = audio_packets(&input).last().map(|p| p.0 + p.1).unwrap();
    assert!(
        in_audio_end > in_video_end + 0.5,
        "audio {in_audio_end}, video {in_video_end}"
    );
    for segments in ["100", "0"] {
        let output = dir.path().join(format!("out_{segments}.mp4"));
        let (warning, video_end, audio_end) = upscale_skip(&input, &output, segments);
        assert!(warning.contains(" of 9.6 s)"), "{warning}");
        // The audio reaches the video's end: cut there, not lost before it.
        assert!(
            audio_end >= video_end - 0.03,
            "audio ends at {audio_end}, video at {video_end}"
        );
    }
}

/// The same short input read by `interpolate` (which reads its source itself) fails with the
/// same words as `upscale`.
#[test]
fn interpolate_reports_the_same_line() {
    let (Some(carphone), Some(model)) = (
        asset("media/video/carphone_pristine.mp4"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 176x144, cut after about a quarter of its 120 frames.
    let input = faststart_cut(&carphone, dir.path(), "c.mp4", 0.25);
    let up_out = dir.path().join("up.mp4");
    let up = one_error_line(
        &run("upscale", &lanczos_args(&input, &up_out, &[])),
        &up_out,
    );
    let out = dir.path().join("interp.mp4");
    let args: Vec<&OsStr> = vec![
        OsStr::new("-i"),
        input.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("-m"),
        model.as_os_str(),
        OsStr::new("--preset"),
        OsStr::new("ultrafast"),
        OsStr::new("-q"),
    ];
    let interp = one_error_line(&run("interpolate", &args), &out);
    assert_eq!(interp, up);
    let (_, declared, _, _) = ends_early_counts(&interp);
    assert_eq!(declared, 120);
}

/// A resumed run reads the frames of its complete segments with `skip_frame`: it reaches the
/// same end and says the same.
#[test]
fn a_rerun_of_a_failed_segmented_job_says_the_same() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = faststart_cut(&chaplin, dir.path(), "t.mp4", 0.4);
    let output = dir.path().join("out.mp4");
    let args = lanczos_args(&input, &output, &["--segment-frames", "20"]);
    let first = one_error_line(&run("upscale", &args), &output);
    // The rerun may say first that it resumes.
    let rerun = run("upscale", &args);
    assert_eq!(rerun.status.code(), Some(1));
    assert!(!output.exists());
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("upframe: error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let second = errors[0].to_string();
    let what = |l: &str| {
        let i = l.find(": ends early: ").expect("ends early");
        let end = l.find("truncated or damaged").expect("truncated");
        l[i..end].to_string()
    };
    assert_eq!(what(&first), what(&second), "{first}\n{second}");
    // The segments done are kept, and the line says how to finish with them.
    assert!(
        second.contains("kept in") && second.contains("--on-decode-error skip"),
        "{second}"
    );
    // Adding skip resumes after them and equals a fresh skip run frame for frame.
    let mut skip_args = args.clone();
    skip_args.extend([OsStr::new("--on-decode-error"), OsStr::new("skip")]);
    let finished = run("upscale", &skip_args);
    let stderr = String::from_utf8_lossy(&finished.stderr);
    assert!(finished.status.success(), "{stderr}");
    assert!(stderr.contains("resuming after"), "{stderr}");
    let fresh = dir.path().join("fresh.mp4");
    let mut fresh_args = lanczos_args(&input, &fresh, &["--segment-frames", "20"]);
    fresh_args.extend([OsStr::new("--on-decode-error"), OsStr::new("skip")]);
    assert!(run("upscale", &fresh_args).status.success());
    assert_eq!(framemd5_lines(&output), framemd5_lines(&fresh));
}

#[test]
fn cut_mp4_with_its_index_at_the_end_is_one_line() {
    let Some(chaplin) = asset("media/video/chaplin.mp4") else {
        return;
    };
    // chaplin.mp4 keeps its moov at the end: a cut copy has no index at all.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&chaplin).unwrap();
    let input = dir.path().join("late_moov.mp4");
    std::fs::write(&input, &bytes[..bytes.len() / 2]).unwrap();
    let output = dir.path().join("out.mp4");
    let line = one_error_line(
        &run("upscale", &lanczos_args(&input, &output, &[])),
        &output,
    );
    assert!(
        line.starts_with(&format!("upframe: error: {}: ", input.display())),
        "{line}"
    );
    assert!(line.contains("truncated or damaged"), "{line}");
}

#[test]
fn sequence_with_a_gap_is_refused_or_read_without_it() {
    if !have_ff_tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    let pattern = frames.join("%04d.png");
    ffmpeg(&[
        OsStr::new("-f"),
        OsStr::new("lavfi"),
        OsStr::new("-i"),
        OsStr::new("testsrc2=s=32x24:r=25"),
        OsStr::new("-frames:v"),
        OsStr::new("7"),
        pattern.as_os_str(),
    ]);
    std::fs::remove_file(frames.join("0004.png")).unwrap();
    for input in [&pattern, &frames] {
        let output = dir.path().join("out.mp4");
        let line = one_error_line(&run("upscale", &lanczos_args(input, &output, &[])), &output);
        assert_eq!(
            line,
            format!(
                "upframe: error: {}: frame 4 (0004.png) is missing; the sequence has a gap",
                input.display()
            )
        );
        let out = run(
            "upscale",
            &lanczos_args(input, &output, &["--on-decode-error", "skip"]),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "upframe: warning: {}: frame 4 (0004.png) is missing",
                input.display()
            )),
            "{stderr}"
        );
        assert_eq!(video_frame_times(&output, &[]).len(), 6);
        std::fs::remove_file(&output).unwrap();
    }
}
