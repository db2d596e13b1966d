//! `upframe upscale`: runs a processor chain (chosen by `--model`) over a video, an image or an
//! image sequence, with encoder settings, time windows, stream passthrough, progress, Ctrl-C /
//! SIGTERM cancellation and a JSON summary.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use upframe_media::{DecodeErrorPolicy, DecodeOptions, EncodeOptions};
use upframe_models::registry;
use upframe_pipeline::realesrgan::{
    load_upscaler_with_denoise, AlphaUpsampler, RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::{
    run_video_job, FrameProcessor, JobError, LanczosKernel, LanczosResizer, VideoJob,
};

use crate::progress::ProgressDisplay;
use crate::Interrupted;

/// What to do when a frame cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnDecodeError {
    /// Stop with an error naming the frame.
    Abort,
    /// Drop the frame, count it, and go on.
    Skip,
}

/// Arguments of `upframe upscale`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe upscale -i in.mp4 -o out.mp4 --model lanczos --scale 2
  upframe upscale -i in.mkv -o out.mkv --scale 1.5 --codec libx265 --crf 20 --start 60 --duration 10
  upframe upscale -i photo.png -o photo_2x.png

Timing, colour tags, rotation, bit depth (10-bit stays 10-bit) and alpha of the input are kept;
audio and subtitle streams are copied unchanged. Output is written to a temporary file and
renamed at the end: an interrupted or failed run leaves nothing under the output name.")]
pub struct UpscaleArgs {
    /// Input: a video file, an image, a directory of frames or a printf pattern (frames/%06d.png).
    #[arg(short, long, value_name = "IN")]
    pub input: PathBuf,
    /// Output: a video file (container from the extension), an image, or a pattern/directory.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Upscaler: `lanczos` (Lanczos-3, antialiased when shrinking), `lanczos4-opencv`
    /// (OpenCV's INTER_LANCZOS4), a Real-ESRGAN model name (realesr-animevideov3,
    /// RealESRGAN_x4plus, ... see `upframe models list`) or a weight file path.
    #[arg(short = 'n', long, value_name = "NAME|PATH", default_value = "lanczos")]
    pub model: String,
    /// Scale factor (any positive number). Lanczos: default 2, size rounded. Real-ESRGAN:
    /// `outscale`, default the model's own scale, size `int(w·s)` as Real-ESRGAN does.
    #[arg(short, long, value_name = "FACTOR")]
    pub scale: Option<f64>,
    #[command(flatten)]
    pub realesrgan: RealEsrganArgs,
    /// Video encoder (FFmpeg name: libx264, libx265, libvpx-vp9, ffv1, prores_ks, ...).
    /// Default: from the output extension (.mp4/.mkv → libx264, 10-bit → libx265, .webm → VP9).
    #[arg(long, value_name = "C")]
    pub codec: Option<String>,
    /// Constant rate factor (quality; lower is better). Default 18 for x264/x265.
    #[arg(long, value_name = "N")]
    pub crf: Option<f32>,
    /// Target bit rate instead of CRF, e.g. 8M or 2500k.
    #[arg(long, value_name = "B", value_parser = parse_bitrate)]
    pub bitrate: Option<u64>,
    /// Encoder preset (x264/x265: ultrafast ... veryslow). Default medium.
    #[arg(long, value_name = "P")]
    pub preset: Option<String>,
    /// Output pixel format (yuv420p, yuv444p, yuv420p10le, ...). Default: from the input.
    #[arg(long, value_name = "F")]
    pub pix_fmt: Option<String>,
    /// Start at this time: seconds (12.5) or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub start: Option<f64>,
    /// Process this long: seconds or [HH:]MM:SS[.ms].
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub duration: Option<f64>,
    /// Process at most N frames.
    #[arg(long, value_name = "N")]
    pub frames: Option<u64>,
    /// Do not copy audio streams.
    #[arg(long)]
    pub no_audio: bool,
    /// Do not copy subtitle streams.
    #[arg(long)]
    pub no_subtitles: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// What to do with frames that cannot be decoded.
    #[arg(long, value_enum, value_name = "abort|skip", default_value = "abort")]
    pub on_decode_error: OnDecodeError,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

/// Real-ESRGAN settings (`inference_realesrgan.py` vocabulary).
#[derive(Debug, Args)]
pub struct RealEsrganArgs {
    /// Tile size in input pixels; 0 = whole frames unless they would not fit in memory, then
    /// the largest tile that fits (logged).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    pub tile: usize,
    /// Context pixels read around each tile.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub tile_pad: usize,
    /// Reflect padding on the right/bottom before the network (inference_realesrgan.py's
    /// default 0).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub pre_pad: usize,
    /// Accepted for compatibility: the CPU engine always computes in fp32.
    #[arg(long)]
    pub fp32: bool,
    /// Alpha upscaling: through the network (`realesrgan`), OpenCV bilinear (`linear`, the
    /// official alternative) or OpenCV Lanczos-4 (`lanczos`).
    #[arg(long, value_enum, value_name = "MODE", default_value = "realesrgan")]
    pub alpha: AlphaMode,
    /// Denoise strength for realesr-general-x4v3 (0 = most denoising ... 1 = none); needs
    /// realesr-general-wdn-x4v3 too unless 1. Also spelled `-dn`. Default: the model alone.
    #[arg(long, value_name = "DN")]
    pub denoise_strength: Option<f64>,
    /// Where registry models live (default: UPFRAME_MODEL_DIR, then ~/.cache/upframe/models).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

/// `--alpha` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlphaMode {
    Realesrgan,
    Linear,
    Lanczos,
}

/// The processor chain for the whole argument set: Lanczos resizers or a Real-ESRGAN model.
pub fn processors_for(args: &UpscaleArgs) -> Result<Vec<Box<dyn FrameProcessor>>> {
    if matches!(
        args.model.to_ascii_lowercase().as_str(),
        "lanczos" | "lanczos3" | "lanczos4-opencv" | "lanczos4"
    ) {
        return build_processors(&args.model, args.scale.unwrap_or(2.0));
    }
    let r = &args.realesrgan;
    let options = RealEsrganOptions {
        outscale: args.scale,
        tile: r.tile,
        tile_pad: r.tile_pad,
        pre_pad: r.pre_pad,
        alpha: match r.alpha {
            AlphaMode::Realesrgan => AlphaUpsampler::RealEsrgan,
            AlphaMode::Linear => AlphaUpsampler::Linear,
            AlphaMode::Lanczos => AlphaUpsampler::Lanczos,
        },
        memory_budget: None,
    };
    if let Some(s) = args.scale {
        if !(s.is_finite() && s > 0.0) {
            bail!("--scale {s}: must be a finite number greater than 0");
        }
    }
    let resolved = registry::resolve(&args.model, r.model_dir.as_deref())
        .with_context(|| format!("--model {}", args.model))?;
    let is_general = resolved
        .model
        .is_some_and(|m| m.name == "realesr-general-x4v3");
    let upscaler = match r.denoise_strength {
        Some(dn) if is_general => {
            let dir = resolved.path.parent().unwrap_or(std::path::Path::new("."));
            let wdn = registry::lookup("realesr-general-wdn-x4v3")
                .and_then(|m| {
                    registry::locate(m, &registry::model_dir(r.model_dir.as_deref()).ok()?).ok()
                })
                .map(|m| m.path)
                .unwrap_or_else(|| dir.join("realesr-general-wdn-x4v3.pth"));
            load_upscaler_with_denoise(&resolved.path, &wdn, dn, options)?
        }
        Some(dn) => bail!(
            "--denoise-strength {dn} only applies to realesr-general-x4v3 (model: {})",
            args.model
        ),
        None => RealEsrganUpscaler::from_file(&resolved.path, options)?,
    };
    Ok(vec![Box::new(upscaler)])
}

/// Seconds from `12.5`, `1:02.5` or `01:01:02.5`.
pub fn parse_time(s: &str) -> Result<f64, String> {
    let bad = || format!("invalid time '{s}': use seconds (12.5) or [HH:]MM:SS[.ms]");
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let mut total = 0.0;
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let v: f64 = if last {
            p.parse().map_err(|_| bad())?
        } else {
            p.parse::<u32>().map_err(|_| bad())? as f64
        };
        total = total * 60.0 + v;
    }
    if !total.is_finite() || total < 0.0 {
        return Err(bad());
    }
    Ok(total)
}

/// Bits per second from `8M`, `2500k` or `1500000`.
pub fn parse_bitrate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k') | Some('K') => (&t[..t.len() - 1], 1e3),
        Some('m') | Some('M') => (&t[..t.len() - 1], 1e6),
        Some('g') | Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok((v * mult).round() as u64),
        _ => Err(format!(
            "invalid bit rate '{s}': use e.g. 8M, 2500k or 1500000"
        )),
    }
}

/// The processor chain for `--model`. New upscalers (Real-ESRGAN models, files) plug in here.
pub fn build_processors(model: &str, scale: f64) -> Result<Vec<Box<dyn FrameProcessor>>> {
    let kernel = match model.to_ascii_lowercase().as_str() {
        "lanczos" | "lanczos3" => LanczosKernel::Lanczos3,
        "lanczos4-opencv" | "lanczos4" => LanczosKernel::OpenCvLanczos4,
        other => bail!("unknown model '{other}' (available: lanczos, lanczos4-opencv)"),
    };
    let resizer = LanczosResizer::new(kernel, scale).map_err(|e| anyhow!("--scale: {e}"))?;
    Ok(vec![Box::new(resizer)])
}

/// Peak resident memory of this process in bytes (`VmHWM` of /proc/self/status).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn install_signal_handler(cancel: Arc<AtomicBool>) {
    // Second signal: the user insists; leave now (the temp file stays, under its temp name).
    let result = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    if let Err(e) = result {
        tracing::warn!("cannot install the Ctrl-C handler: {e}");
    }
}

pub fn run(args: UpscaleArgs) -> Result<()> {
    let processors = processors_for(&args)?;
    if let Some(0) = args.frames {
        bail!("--frames must be at least 1");
    }
    if let Some(d) = args.duration {
        if d <= 0.0 {
            bail!("--duration must be greater than 0");
        }
    }
    let cancel = Arc::new(AtomicBool::new(false));
    install_signal_handler(cancel.clone());

    let mut job = VideoJob::new(&args.input, &args.output);
    job.decode = DecodeOptions {
        start_s: args.start,
        duration_s: args.duration,
        max_frames: args.frames,
        on_decode_error: match args.on_decode_error {
            OnDecodeError::Abort => DecodeErrorPolicy::Abort,
            OnDecodeError::Skip => DecodeErrorPolicy::Skip,
        },
        ..DecodeOptions::default()
    };
    job.encode = EncodeOptions {
        codec: args.codec.clone(),
        crf: args.crf,
        bitrate: args.bitrate,
        preset: args.preset.clone(),
        pix_fmt: args.pix_fmt.clone(),
        options: Vec::new(),
    };
    job.overwrite = args.overwrite;
    job.audio = !args.no_audio;
    job.subtitles = !args.no_subtitles;
    job.cancel = cancel;

    let display = RefCell::new(ProgressDisplay::new(args.quiet));
    let model = args.model.clone();
    let output_name = args.output.display().to_string();
    let result = run_video_job(
        &job,
        processors,
        &mut |info, (w, h), total| {
            let frames = total.map_or(String::new(), |t| format!(", {t} frames"));
            display.borrow_mut().start(
                &format!(
                    "upframe: {} ({}x{}{frames}) -> {output_name} ({w}x{h}, {model})",
                    args.input.display(),
                    info.width,
                    info.height
                ),
                total,
            );
        },
        &mut |p| display.borrow_mut().update(p),
    );
    display.into_inner().finish();
    let summary = match result {
        Ok(s) => s,
        Err(e) if e.is_cancelled() => return Err(Interrupted.into()),
        Err(JobError::Media(e)) => return Err(e.into()),
        Err(JobError::Pipeline(e)) => {
            return Err(anyhow!("{}: {e}", args.input.display()));
        }
    };
    let r = &summary.report;
    let secs = r.wall.as_secs_f64();
    let fps = if secs > 0.0 {
        r.frames_out as f64 / secs
    } else {
        0.0
    };
    let peak = peak_rss_bytes();
    if !args.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames {}x{} in {:.2} s ({:.2} fps){}",
            summary.output.path.display(),
            r.frames_out,
            summary.output_width,
            summary.output_height,
            secs,
            fps,
            if summary.skipped_frames > 0 {
                format!(", {} undecodable frames skipped", summary.skipped_frames)
            } else {
                String::new()
            }
        );
        if summary.output.alpha_dropped {
            eprintln!(
                "upframe: warning: the encoder cannot store alpha; it was dropped (use .webm, .mov or .mkv to keep it)"
            );
        }
    }
    if args.json {
        let out = json!({
            "input": args.input.display().to_string(),
            "output": summary.output.path.display().to_string(),
            "model": args.model,
            "scale": args.scale,
            "input_size": [summary.input.width, summary.input.height],
            "output_size": [summary.output_width, summary.output_height],
            "frames_in": r.frames_in,
            "frames_out": r.frames_out,
            "frames_skipped": summary.skipped_frames,
            "seconds": secs,
            "fps": fps,
            "peak_rss_bytes": peak,
            "peak_rss_mib": peak.map(|b| b as f64 / (1024.0 * 1024.0)),
            "codec": summary.output.codec,
            "pix_fmt": summary.output.pix_fmt,
            "bytes": summary.output.bytes,
            "copied_streams": summary.output.copied_streams,
            "copied_packets": summary.output.copied_packets,
            "stages": {
                "decode_busy_s": r.decode_busy.as_secs_f64(),
                "process_busy_s": r.process_busy.as_secs_f64(),
                "encode_busy_s": r.encode_busy.as_secs_f64(),
                "overlap": r.overlap_factor(),
            },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("JSON summary")?
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        assert_eq!(parse_time("12.5"), Ok(12.5));
        assert_eq!(parse_time("1:02.5"), Ok(62.5));
        assert_eq!(parse_time("01:01:02"), Ok(3662.0));
        assert!(parse_time("").is_err());
        assert!(parse_time("-3").is_err());
        assert!(parse_time("1::2").is_err());
        assert!(parse_time("abc").is_err());
    }

    #[test]
    fn bitrates_parse() {
        assert_eq!(parse_bitrate("8M"), Ok(8_000_000));
        assert_eq!(parse_bitrate("2500k"), Ok(2_500_000));
        assert_eq!(parse_bitrate("1500000"), Ok(1_500_000));
        assert!(parse_bitrate("0").is_err());
        assert!(parse_bitrate("fast").is_err());
    }

    #[test]
    fn models_resolve() {
        assert!(build_processors("lanczos", 2.0).is_ok());
        assert!(build_processors("LANCZOS4-opencv", 1.5).is_ok());
        assert!(build_processors("nope", 2.0).is_err());
        assert!(build_processors("lanczos", 0.0).is_err());
    }
}
