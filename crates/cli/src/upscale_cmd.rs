//! `upframe upscale`: runs a processor chain (chosen by `--model`) over a video, an image or an
//! image sequence, with encoder settings, time windows, stream passthrough, progress, Ctrl-C /
//! SIGTERM cancellation and a JSON summary.

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use upframe_models::registry;
use upframe_pipeline::realesrgan::{
    load_upscaler_with_denoise, AlphaUpsampler, RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::{run_video_job, FrameProcessor, LanczosKernel, LanczosResizer};

use crate::job_options::{job_error, peak_rss_bytes, JobOptions};
use crate::progress::ProgressDisplay;

/// Arguments of `upframe upscale`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe upscale -i in.mp4 -o out.mp4 --scale 2
  upframe upscale -i in.mkv -o out.mkv -n lanczos --scale 1.5 --codec libx265 --crf 20 --start 60 --duration 10
  upframe upscale -i photo.png -o photo_4x.png -n RealESRGAN_x4plus

The default model, realesr-animevideov3, is built into upframe: no download is needed.

Timing, colour tags, rotation, bit depth (10-bit stays 10-bit) and alpha of the input are kept;
audio and subtitle streams are copied unchanged. Output is written to a temporary file and
renamed at the end: an interrupted or failed run leaves nothing under the output name.

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct UpscaleArgs {
    /// Input: a video file, an image, a directory of frames or a printf pattern (frames/%06d.png).
    #[arg(short, long, value_name = "IN")]
    pub input: PathBuf,
    /// Output: a video file (container from the extension), an image, or a pattern/directory.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Upscaler (-m, -n and --model are the same option in every command): a Real-ESRGAN
    /// model name (realesr-animevideov3, the default, built into upframe; RealESRGAN_x4plus,
    /// ... see `upframe models list`), a weight file path, `lanczos` (Lanczos-3, antialiased
    /// when shrinking) or `lanczos4-opencv` (OpenCV's INTER_LANCZOS4).
    #[arg(
        short = 'm',
        visible_short_alias = 'n',
        long,
        value_name = "NAME|PATH",
        default_value = "realesr-animevideov3"
    )]
    pub model: String,
    /// Scale factor (any positive number). Real-ESRGAN: `outscale`, default the model's own
    /// scale (4 for realesr-animevideov3), size `int(w·s)` as Real-ESRGAN does. Lanczos:
    /// default 2, size rounded.
    #[arg(short, long, value_name = "FACTOR")]
    pub scale: Option<f64>,
    #[command(flatten)]
    pub realesrgan: RealEsrganArgs,
    #[command(flatten)]
    pub job: JobOptions,
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
    let general_file = resolved.path().filter(|_| {
        resolved
            .model
            .is_some_and(|m| m.name == "realesr-general-x4v3")
    });
    let upscaler = match (r.denoise_strength, general_file) {
        (Some(dn), Some(general_file)) => {
            let dir = general_file.parent().unwrap_or(std::path::Path::new("."));
            let wdn = registry::lookup("realesr-general-wdn-x4v3")
                .and_then(|m| {
                    registry::locate(m, &registry::model_dir(r.model_dir.as_deref()).ok()?).ok()
                })
                .and_then(|m| m.path().map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| dir.join("realesr-general-wdn-x4v3.pth"));
            load_upscaler_with_denoise(general_file, &wdn, dn, options)?
        }
        (Some(dn), None) => bail!(
            "--denoise-strength {dn} only applies to realesr-general-x4v3 (model: {})",
            args.model
        ),
        (None, _) => RealEsrganUpscaler::from_resolved(&resolved, options)?,
    };
    Ok(vec![Box::new(upscaler)])
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

pub fn run(args: UpscaleArgs) -> Result<()> {
    let processors = processors_for(&args)?;
    let job = args.job.video_job(&args.input, &args.output)?;

    let display = RefCell::new(ProgressDisplay::new(args.job.quiet));
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
        Err(e) => return Err(job_error(e, &args.input, &args.output)),
    };
    let r = &summary.report;
    // The whole job (the encoder's flush and the join included); the frames made in it.
    let secs = summary.wall.as_secs_f64();
    let fps = if secs > 0.0 {
        r.frames_out as f64 / secs
    } else {
        0.0
    };
    let peak = peak_rss_bytes();
    if !args.job.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames {}x{} in {:.2} s ({:.2} fps){}{}",
            summary.output.path.display(),
            summary.output.frames,
            summary.output_width,
            summary.output_height,
            secs,
            fps,
            resumed_note(summary.frames_resumed),
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
    if args.job.json {
        let out = json!({
            "input": args.input.display().to_string(),
            "output": summary.output.path.display().to_string(),
            "model": args.model,
            "scale": args.scale,
            "input_size": [summary.input.width, summary.input.height],
            "output_size": [summary.output_width, summary.output_height],
            "frames_in": r.frames_in,
            "frames_out": r.frames_out,
            "frames_resumed": summary.frames_resumed,
            "output_frames": summary.output.frames,
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

/// `, N of them from the interrupted run` for a resumed job's final line.
pub fn resumed_note(frames_resumed: u64) -> String {
    if frames_resumed > 0 {
        format!(", {frames_resumed} of them from the interrupted run")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_resolve() {
        assert!(build_processors("lanczos", 2.0).is_ok());
        assert!(build_processors("LANCZOS4-opencv", 1.5).is_ok());
        assert!(build_processors("nope", 2.0).is_err());
        assert!(build_processors("lanczos", 0.0).is_err());
    }
}
