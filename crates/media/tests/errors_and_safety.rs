//! Bad inputs give one-line errors naming the file; outputs are written safely (no clobbering,
//! temporary file removed when a sink is dropped unfinished, never onto the input).

mod common;

use std::path::Path;
use std::process::Command;

use upframe_media::{
    open_sink, open_source, probe, EncodeOptions, Frame, MediaError, OutputSpec, SampleDepth,
};

fn open_err(path: &Path) -> MediaError {
    match open_source(path, &Default::default()) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

fn assert_one_line(e: &MediaError, path: &Path) {
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(
        msg.starts_with(&path.display().to_string()),
        "names the file: {msg}"
    );
}

fn spec(w: usize, h: usize) -> OutputSpec {
    OutputSpec {
        width: w,
        height: h,
        channels: 3,
        depth: SampleDepth::U8,
        time_base: (1, 25),
        frame_rate: (25, 1),
        colour: Default::default(),
        rotation_deg: 0.0,
        hdr: None,
        encode: EncodeOptions {
            preset: Some("ultrafast".into()),
            ..Default::default()
        },
        overwrite: false,
        start_s: None,
        source_path: None,
        passthrough: None,
    }
}

fn grey(w: usize, h: usize, n: i64) -> Frame {
    let mut f = Frame::new(w, h, 3, SampleDepth::U8);
    f.data
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((i as i64 + n * 7) % 255) as f32 / 255.0);
    f.pts = Some(n);
    f.index = n as u64;
    f
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let e = open_err(&missing);
    assert!(matches!(e, MediaError::NotFound { .. }), "{e}");
    assert_one_line(&e, &missing);

    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = open_err(&empty);
    assert!(matches!(e, MediaError::EmptyFile { .. }), "{e}");
    assert_one_line(&e, &empty);

    let text = dir.path().join("input.mp4");
    std::fs::write(&text, "this is not a video, just some text\n".repeat(20)).unwrap();
    let e = open_err(&text);
    assert!(matches!(e, MediaError::NotMedia { .. }), "{e}");
    assert!(e.to_string().contains("not a media file"), "{e}");
    assert_one_line(&e, &text);

    let e = upframe_media::read_image(dir.path()).unwrap_err();
    assert!(matches!(e, MediaError::IsDirectory { .. }), "{e}");

    let not_png = dir.path().join("fake.png");
    std::fs::write(&not_png, "not a png").unwrap();
    let e = open_err(&not_png);
    assert_one_line(&e, &not_png);

    // A directory with no images is not a sequence.
    let e = open_err(dir.path());
    assert_one_line(&e, dir.path());
}

/// Decodes to the end; returns the frame count or the error.
fn decode_count(path: &Path) -> Result<u64, MediaError> {
    let mut s = open_source(path, &Default::default())?;
    let mut n = 0;
    while s.next_frame()?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[test]
fn truncated_mp4s_are_reported_as_damaged_or_end_early() {
    let dir = tempfile::tempdir().unwrap();
    // chaplin.mp4 keeps its index (moov) at the end: a cut copy cannot be opened.
    let Some(chaplin) = common::video("chaplin.mp4") else {
        return;
    };
    let bytes = std::fs::read(&chaplin).unwrap();
    let cut = dir.path().join("chaplin_cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = decode_count(&cut).unwrap_err();
    assert!(matches!(e, MediaError::Damaged { .. }), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_one_line(&e, &cut);
    // fire2.mp4 has its index first: it opens, and decoding stops early or fails on one line.
    let Some(fire2) = common::video("fire2.mp4") else {
        return;
    };
    let bytes = std::fs::read(&fire2).unwrap();
    let cut = dir.path().join("fire2_cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    match decode_count(&cut) {
        Ok(n) => {
            eprintln!("fire2 cut in half: {n} of 25 frames");
            assert!(n < 25, "{n}");
        }
        Err(e) => assert_one_line(&e, &cut),
    }
}

#[test]
fn audio_only_file_has_no_video_stream() {
    if !common::have_ffmpeg_cli() {
        eprintln!("skipping: ffmpeg CLI not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("tone.m4a");
    let ok = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=0.5",
            "-c:a",
            "aac",
        ])
        .arg(&audio)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let e = open_err(&audio);
    assert!(matches!(e, MediaError::NoVideoStream { .. }), "{e}");
    assert_one_line(&e, &audio);
    // probe still describes it.
    let info = probe(&audio).unwrap();
    assert!(info.video.is_none());
    assert_eq!(info.streams.len(), 1);
    assert_eq!(info.streams[0].codec, "aac");
}

#[test]
fn encoder_missing_and_odd_sizes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.mp4");
    let mut s = spec(64, 48);
    s.encode.codec = Some("no_such_encoder".into());
    let e = open_sink(&out, &s).err().expect("error");
    assert!(matches!(e, MediaError::EncoderNotFound { .. }), "{e}");
    assert_one_line(&e, &out);
    let e = open_sink(&out, &spec(63, 48)).err().expect("odd width");
    assert!(matches!(e, MediaError::InvalidOutput { .. }), "{e}");
    assert!(e.to_string().contains("odd"), "{e}");
    // yuv444p has no subsampling: odd sizes are fine.
    let mut s = spec(63, 47);
    s.encode.pix_fmt = Some("yuv444p".into());
    let mut sink = open_sink(&out, &s).unwrap();
    sink.write_frame(&grey(63, 47, 0)).unwrap();
    sink.finish().unwrap();
    assert_eq!(common::decode_all(&out).len(), 1);
    let e = open_sink(&dir.path().join("x.unknownext"), &spec(64, 48))
        .err()
        .expect("bad ext");
    assert!(matches!(e, MediaError::InvalidOutput { .. }), "{e}");
}

#[test]
fn existing_output_is_untouched_without_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exists.mp4");
    std::fs::write(&out, b"precious").unwrap();
    let e = open_sink(&out, &spec(64, 48)).err().expect("refused");
    assert!(matches!(e, MediaError::OutputExists { .. }), "{e}");
    assert_one_line(&e, &out);
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let png = dir.path().join("exists.png");
    std::fs::write(&png, b"precious").unwrap();
    assert!(upframe_media::write_image(&png, &grey(8, 8, 0), false).is_err());
    assert_eq!(std::fs::read(&png).unwrap(), b"precious");
    // With overwrite it is replaced by a real video.
    let mut s = spec(64, 48);
    s.overwrite = true;
    let mut sink = open_sink(&out, &s).unwrap();
    for n in 0..3 {
        sink.write_frame(&grey(64, 48, n)).unwrap();
    }
    sink.finish().unwrap();
    assert_eq!(common::decode_all(&out).len(), 3);
}

#[test]
fn dropped_sink_leaves_no_file_and_finish_renames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("clip.mkv");
    let mut sink = open_sink(&out, &spec(64, 48)).unwrap();
    for n in 0..5 {
        sink.write_frame(&grey(64, 48, n)).unwrap();
    }
    let partial = dir.path().join(".clip.upframe-partial.mkv");
    assert!(
        partial.exists(),
        "writes go to a temporary file beside the output"
    );
    assert!(!out.exists());
    drop(sink);
    assert!(
        !partial.exists() && !out.exists(),
        "nothing left after drop"
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(entries.is_empty(), "{entries:?}");

    let mut sink = open_sink(&out, &spec(64, 48)).unwrap();
    for n in 0..5 {
        sink.write_frame(&grey(64, 48, n)).unwrap();
    }
    let summary = sink.finish().unwrap();
    assert!(out.exists() && !partial.exists());
    assert_eq!(summary.frames, 5);
    assert_eq!(summary.bytes, std::fs::metadata(&out).unwrap().len());
}

#[test]
fn refuses_input_as_output_and_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.mkv");
    let mut sink = open_sink(&input, &spec(64, 48)).unwrap();
    sink.write_frame(&grey(64, 48, 0)).unwrap();
    sink.finish().unwrap();
    let mut s = spec(64, 48);
    s.overwrite = true;
    s.source_path = Some(input.clone());
    // Same file through a different spelling.
    let alias = dir.path().join(".").join("in.mkv");
    let e = open_sink(&alias, &s).err().expect("refused");
    assert!(matches!(e, MediaError::OutputIsInput { .. }), "{e}");
    let nowhere = dir.path().join("no/such/dir/out.mp4");
    let e = open_sink(&nowhere, &spec(64, 48)).err().expect("refused");
    assert!(matches!(e, MediaError::OutputDirNotWritable { .. }), "{e}");
    assert_one_line(&e, &nowhere);
}

#[test]
fn rotation_is_written_as_display_matrix() {
    let dir = tempfile::tempdir().unwrap();
    for deg in [90.0, -90.0, 180.0] {
        let out = dir.path().join(format!("rot{deg}.mp4"));
        let mut s = spec(64, 48);
        s.rotation_deg = deg;
        let mut sink = open_sink(&out, &s).unwrap();
        sink.write_frame(&grey(64, 48, 0)).unwrap();
        sink.finish().unwrap();
        let got = probe(&out).unwrap().video.unwrap().rotation_deg;
        assert_eq!(got.rem_euclid(360.0), f64::rem_euclid(deg, 360.0), "{deg}");
    }
}
