//! `upframe probe`: describes a media file (streams, frame count, frame rate / VFR, pixel format,
//! colour tags, rotation), as text or JSON.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use upframe_media::{probe, MediaInfo, StreamKind};

/// Arguments of `upframe probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The file to describe (video, image, directory of frames or printf pattern).
    pub input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn rate(r: (i32, i32)) -> String {
    if r.1 == 0 {
        "unknown".into()
    } else if r.1 == 1 {
        format!("{}", r.0)
    } else {
        format!("{}/{} ({:.3})", r.0, r.1, r.0 as f64 / r.1 as f64)
    }
}

pub fn to_json(info: &MediaInfo) -> serde_json::Value {
    let streams: Vec<_> = info
        .streams
        .iter()
        .map(|s| {
            json!({
                "index": s.index,
                "kind": s.kind.to_string(),
                "codec": s.codec,
                "language": s.language,
                "time_base": [s.time_base.0, s.time_base.1],
                "duration_s": s.duration_s,
                "sample_rate": s.sample_rate,
                "channels": s.channels,
                "bit_rate": s.bit_rate,
            })
        })
        .collect();
    let video = info.video.as_ref().map(|v| {
        json!({
            "stream_index": v.stream_index,
            "codec": v.codec,
            "width": v.width,
            "height": v.height,
            "pix_fmt": v.pix_fmt,
            "bit_depth": v.bit_depth,
            "has_alpha": v.has_alpha,
            "channels": v.channels,
            "time_base": [v.time_base.0, v.time_base.1],
            "avg_frame_rate": [v.avg_frame_rate.0, v.avg_frame_rate.1],
            "r_frame_rate": [v.r_frame_rate.0, v.r_frame_rate.1],
            "fps": v.fps(),
            "vfr": v.vfr,
            "frame_count": v.frame_count,
            "duration_s": v.duration_s,
            "rotation_deg": v.rotation_deg,
            "colour": {
                "primaries": v.colour.primaries_name(),
                "transfer": v.colour.transfer_name(),
                "matrix": v.colour.matrix_name(),
                "range": v.colour.range_name(),
                "hdr": v.colour.is_hdr(),
            },
        })
    });
    json!({
        "path": info.path.display().to_string(),
        "format": info.format_name,
        "kind": info.kind.as_str(),
        "duration_s": info.duration_s,
        "streams": streams,
        "video": video,
        "chapters": info.chapters,
    })
}

pub fn run(args: ProbeArgs) -> Result<()> {
    let info = probe(&args.input)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&info))?);
        return Ok(());
    }
    println!("{}", info.path.display());
    println!("  format: {}", info.format_name);
    if let Some(d) = info.duration_s {
        println!("  duration: {d:.3} s");
    }
    if let Some(v) = &info.video {
        println!(
            "  video: stream {}, {} {}x{}, {} ({}-bit{})",
            v.stream_index,
            v.codec,
            v.width,
            v.height,
            v.pix_fmt,
            v.bit_depth,
            if v.has_alpha { ", alpha" } else { "" }
        );
        let frames = v
            .frame_count
            .map_or("unknown".to_string(), |n| n.to_string());
        println!(
            "  frames: {frames}; frame rate: {} avg, {} r_frame_rate{}",
            rate(v.avg_frame_rate),
            rate(v.r_frame_rate),
            if v.vfr {
                "; variable frame rate (VFR)"
            } else {
                "; constant frame rate"
            }
        );
        println!("  time base: {}/{}", v.time_base.0, v.time_base.1);
        println!(
            "  colour: primaries {}, transfer {}, matrix {}, range {}{}",
            v.colour.primaries_name(),
            v.colour.transfer_name(),
            v.colour.matrix_name(),
            v.colour.range_name(),
            if v.colour.is_hdr() { " (HDR)" } else { "" }
        );
        println!("  rotation: {} degrees", v.rotation_deg);
    }
    for s in &info.streams {
        if s.kind == StreamKind::Video
            && info.video.as_ref().map(|v| v.stream_index) == Some(s.index)
        {
            continue;
        }
        let mut line = format!("  stream {}: {} {}", s.index, s.kind, s.codec);
        if let Some(r) = s.sample_rate {
            line += &format!(", {r} Hz");
        }
        if let Some(c) = s.channels {
            line += &format!(", {c} ch");
        }
        if let Some(l) = &s.language {
            line += &format!(", language {l}");
        }
        println!("{line}");
    }
    if info.chapters > 0 {
        println!("  chapters: {}", info.chapters);
    }
    Ok(())
}
