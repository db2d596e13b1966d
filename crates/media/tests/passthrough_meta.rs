//! Passthrough of subtitles, chapters, language tags and container metadata, on a file made
//! with the ffmpeg CLI (the corpus has no clip with subtitles or chapters).

mod common;

use std::process::Command;

use ffmpeg_next::media::Type;
use upframe_media::{
    open_sink, open_source, probe, DecodeOptions, EncodeOptions, OutputSpec, Passthrough,
    StreamKind,
};

#[test]
fn subtitles_chapters_and_tags_are_copied() {
    if !common::have_ffmpeg_cli() {
        eprintln!("skipping: ffmpeg CLI not installed");
        return;
    }
    let Some(chaplin) = common::video("chaplin.mp4") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let srt = dir.path().join("subs.srt");
    std::fs::write(
        &srt,
        "1\n00:00:00,500 --> 00:00:01,500\nHello\n\n2\n00:00:02,000 --> 00:00:03,000\nWorld\n\n",
    )
    .unwrap();
    let meta = dir.path().join("chapters.txt");
    std::fs::write(&meta, ";FFMETADATA1\ntitle=Sidewalk\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=4000\ntitle=Two\n").unwrap();
    let input = dir.path().join("in.mkv");
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-t", "4", "-i"])
        .arg(&chaplin)
        .arg("-i")
        .arg(&srt)
        .arg("-i")
        .arg(&meta)
        .args([
            "-map",
            "0:v",
            "-map",
            "0:a",
            "-map",
            "1:s",
            "-map_metadata",
            "2",
            "-map_chapters",
            "2",
            "-c",
            "copy",
            "-c:s",
            "srt",
            "-metadata:s:a:0",
            "language=fra",
            "-metadata:s:s:0",
            "language=eng",
        ])
        .arg(&input)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = dir.path().join("out.mkv");
    let mut src = open_source(&input, &DecodeOptions::default()).unwrap();
    let mut spec = OutputSpec::like_source(src.info());
    spec.encode = EncodeOptions {
        crf: Some(30.0),
        preset: Some("ultrafast".into()),
        ..Default::default()
    };
    spec.passthrough = Some(Passthrough::all(&input));
    let mut sink = open_sink(&out, &spec).unwrap();
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        sink.write_frame(&f).unwrap();
        n += 1;
    }
    let summary = sink.finish().unwrap();
    assert_eq!(summary.copied_streams, 2);
    let info = probe(&out).unwrap();
    eprintln!("{info}");
    assert_eq!(info.chapters, 2);
    assert!(
        info.metadata
            .iter()
            .any(|(k, v)| k == "title" && v == "Sidewalk"),
        "{:?}",
        info.metadata
    );
    let audio = info
        .streams
        .iter()
        .find(|s| s.kind == StreamKind::Audio)
        .unwrap();
    assert_eq!(audio.language.as_deref(), Some("fra"));
    let subs = info
        .streams
        .iter()
        .find(|s| s.kind == StreamKind::Subtitle)
        .unwrap();
    assert_eq!(subs.language.as_deref(), Some("eng"));
    let sin = common::stream_packets(&input, Type::Subtitle);
    let sout = common::stream_packets(&out, Type::Subtitle);
    assert_eq!(sin.len(), 2);
    assert_eq!(sin.len(), sout.len());
    for (a, b) in sin.iter().zip(&sout) {
        assert_eq!(a.data, b.data);
        assert!((a.pts_s.unwrap() - b.pts_s.unwrap()).abs() < 1e-3);
        assert!((a.dur_s - b.dur_s).abs() < 1e-3);
    }
    assert_eq!(common::decode_all(&out).len(), n);
}
