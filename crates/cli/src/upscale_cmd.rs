//! `upframe upscale`: runs a processor chain (chosen by `--model`) over a video, an image or an
//! image sequence, with encoder settings, time windows, stream passthrough, progress, Ctrl-C /
//! SIGTERM cancellation and a JSON summary.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use upframe_models::registry;
use upframe_pipeline::realesrgan::{
    load_upscaler_with_denoise, AlphaUpsampler, RealEsrganOptions, RealEsrganUpscaler,
};
use upframe_pipeline::{
    run_video_job, run_video_job_with, FrameProcessor, LanczosKernel, LanczosResizer,
};

use crate::batch::{
    self, BatchError, BatchOptions, ExtChoice, ExtOption, FileReport, FolderRule, Naming, Shape,
};
use crate::batch_cmd::{self, BatchCommand};
use crate::job_options::{job_error, peak_rss_bytes, resumed_note, short_input_note, JobOptions};
use crate::progress::ProgressDisplay;

/// Arguments of `upframe upscale`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe upscale -i in.mp4 -o out.mp4 --scale 2
  upframe upscale -i in.mkv -o out.mkv -n lanczos --scale 1.5 --codec libx265 --crf 20 --start 60 --duration 10
  upframe upscale -i photo.png -o photo_4x.png -n RealESRGAN_x4plus
  upframe upscale -i photos/ -o results/ --suffix out --ext auto
  upframe upscale -i a.mp4 -i b.mkv -o 'up/{stem}_2x.mkv'
  upframe upscale -i frames/ -o film.mp4 --framerate 24

The default model, realesr-animevideov3, is built into upframe: no download is needed.

Folders: a folder input is a batch of files (photos, videos): each file is its own job at its
own size, alpha, bit depth and channels, written to OUT/<name><suffix>.<ext>; one failing file
is reported and the others are done (exit 1 at the end, with the list of failed files). A
folder is instead read as the frames of ONE sequence (same size, name order) when the output
is a video file or a frame pattern (DIR/%06d.png), or with --sequence. Several -i, or a single
file with a folder output, are batches too. In a name pattern, {stem} is the input's name
without extension and {ext} the extension a folder output would use.

Timing, colour tags, rotation, bit depth (10-bit stays 10-bit) and alpha of the input are kept;
audio and subtitle streams are copied unchanged. Output is written to a temporary file and
renamed at the end: an interrupted or failed run leaves nothing under the output name.

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct UpscaleArgs {
    /// Input: a video file, an image, a folder (of photos, videos or frames: see below) or a
    /// printf pattern of frames (frames/%06d.png). Repeat -i for several inputs.
    #[arg(short, long, value_name = "IN", required = true)]
    pub input: Vec<PathBuf>,
    /// Output: a video file (container from the extension), an image, a folder (DIR/, an
    /// existing folder, or a name without extension), a frame pattern (DIR/%06d.png) or a
    /// name pattern for batches ('DIR/{stem}_x2.mp4').
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
    /// Where registry models live (default: UPFRAME_MODEL_DIR, then ~/.cache/upframe/models).
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Read a folder input as the frames of one image sequence (same size, name order), even
    /// when the output is a folder.
    #[arg(long)]
    pub sequence: bool,
    #[command(flatten)]
    pub ext: ExtOption,
    #[command(flatten)]
    pub batch: BatchOptions,
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
    Ok(vec![upscaler(
        &args.model,
        args.scale,
        &args.realesrgan,
        args.model_dir.as_deref(),
    )?])
}

/// The upscaler `model` names at `scale` with the Real-ESRGAN settings `r` (what `upscale`
/// and `enhance` both build): Lanczos resizers, or a Real-ESRGAN model found in `model_dir`.
pub fn upscaler(
    model: &str,
    scale: Option<f64>,
    r: &RealEsrganArgs,
    model_dir: Option<&Path>,
) -> Result<Box<dyn FrameProcessor>> {
    if is_lanczos(model) {
        return lanczos_resizer(model, scale.unwrap_or(2.0));
    }
    let options = RealEsrganOptions {
        outscale: scale,
        tile: r.tile,
        tile_pad: r.tile_pad,
        pre_pad: r.pre_pad,
        alpha: match r.alpha {
            AlphaMode::Realesrgan => AlphaUpsampler::RealEsrgan,
            AlphaMode::Linear => AlphaUpsampler::Linear,
            AlphaMode::Lanczos => AlphaUpsampler::Lanczos,
        },
        memory_budget: None,
        ..RealEsrganOptions::default()
    };
    if let Some(s) = scale {
        if !(s.is_finite() && s > 0.0) {
            bail!("--scale {s}: must be a finite number greater than 0");
        }
    }
    let resolved =
        registry::resolve(model, model_dir).with_context(|| format!("--model {model}"))?;
    let general_file = resolved.path().filter(|_| {
        resolved
            .model
            .is_some_and(|m| m.name == "realesr-general-x4v3")
    });
    let upscaler = match (r.denoise_strength, general_file) {
        (Some(dn), Some(general_file)) => {
            let dir = general_file.parent().unwrap_or(std::path::Path::new("."));
            let wdn = registry::lookup("realesr-general-wdn-x4v3")
                .and_then(|m| registry::locate(m, &registry::model_dir(model_dir).ok()?).ok())
                .and_then(|m| m.path().map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| dir.join("realesr-general-wdn-x4v3.pth"));
            load_upscaler_with_denoise(general_file, &wdn, dn, options)?
        }
        (Some(dn), None) => {
            bail!("--denoise-strength {dn} only applies to realesr-general-x4v3 (model: {model})")
        }
        (None, _) => RealEsrganUpscaler::from_resolved(&resolved, options)?,
    };
    Ok(Box::new(upscaler))
}

/// The Lanczos resizer `model` names, if it names one rather than a network.
fn lanczos_kernel(model: &str) -> Option<LanczosKernel> {
    match model.to_ascii_lowercase().as_str() {
        "lanczos" | "lanczos3" => Some(LanczosKernel::Lanczos3),
        "lanczos4-opencv" | "lanczos4" => Some(LanczosKernel::OpenCvLanczos4),
        _ => None,
    }
}

/// Whether `model` names one of the Lanczos resizers rather than a network.
pub fn is_lanczos(model: &str) -> bool {
    lanczos_kernel(model).is_some()
}

/// The Lanczos resizer `model` names, at `scale`.
fn lanczos_resizer(model: &str, scale: f64) -> Result<Box<dyn FrameProcessor>> {
    let Some(kernel) = lanczos_kernel(model) else {
        bail!(
            "unknown model '{}' (available: lanczos, lanczos4-opencv)",
            model.to_ascii_lowercase()
        );
    };
    let resizer = LanczosResizer::new(kernel, scale).map_err(|e| anyhow!("--scale: {e}"))?;
    Ok(Box::new(resizer))
}

pub fn run(args: UpscaleArgs) -> Result<()> {
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch,
        args.ext.ext,
        folder_rule(&args),
    );
    match shape {
        Ok(Shape::Single) => run_single(&args, &args.input[0]),
        Ok(Shape::Batch(naming)) => run_batch(&args, &naming),
        Err(e @ BatchError::FolderToImage { .. }) => {
            // An image inside the folder itself is the worse mistake: say that one.
            upframe_media::check_not_input(&args.input[0], &args.output)?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One job: a video, an image or an image sequence.
fn run_single(args: &UpscaleArgs, input: &Path) -> Result<()> {
    args.job.preflight(input, &args.output)?;
    let processors = processors_for(args)?;
    let job = args.job.video_job(input, &args.output)?;

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
                    input.display(),
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
        Err(e) => return Err(job_error(e, input, &args.output)),
    };
    let short_input = short_input_note(summary.short_input.as_ref());
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
            "input": input.display().to_string(),
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
            "short_input": short_input,
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

/// A batch: every file its own job through one loaded processor chain.
fn run_batch(args: &UpscaleArgs, naming: &Naming) -> Result<()> {
    let plan = batch::plan(
        &args.input,
        naming,
        args.ext.ext.unwrap_or(ExtChoice::Auto),
        folder_rule(args),
    )?;
    let Some(first) = plan.items.first() else {
        bail!("{}: nothing to do", args.output.display());
    };
    let template = args.job.video_job(&first.input, &first.output)?;
    let cmd = BatchCommand {
        inputs: &args.input,
        output: &args.output,
        quiet: args.job.quiet,
        json: args.job.json,
        skip_existing: args.batch.skip_existing,
        json_fields: json!({ "model": args.model, "scale": args.scale }),
    };
    let quiet = args.job.quiet;
    batch_cmd::run(
        &cmd,
        &plan,
        &template.cancel,
        &mut |item| args.job.preflight(&item.input, &item.output),
        || processors_for(args),
        &mut |processors: &mut Vec<Box<dyn FrameProcessor>>, at, item| {
            let mut job = template.clone();
            job.input = item.input.clone();
            job.output = item.output.clone();
            let display = RefCell::new(ProgressDisplay::new(quiet));
            let result = run_video_job_with(
                &job,
                processors,
                &mut |info, size, frames| {
                    display.borrow_mut().start(
                        &batch_cmd::start_line(at, item, info, size, frames, &args.model),
                        frames,
                    );
                },
                &mut |p| display.borrow_mut().update(p),
            );
            display.into_inner().finish();
            let s = result.map_err(|e| batch_cmd::file_error(e, item))?;
            if s.output.alpha_dropped && !quiet {
                eprintln!(
                    "upframe: warning: {}: the encoder cannot store alpha; it was dropped",
                    item.output.display()
                );
            }
            Ok(FileReport {
                input_size: (s.input.width, s.input.height),
                output_size: (s.output_width, s.output_height),
                frames: s.report.frames_out,
                bytes: s.output.bytes,
                short_input: short_input_note(s.short_input.as_ref()),
            })
        },
    )
}

fn folder_rule(args: &UpscaleArgs) -> FolderRule {
    FolderRule::FilesUnlessSequence {
        sequence: args.sequence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_resolve() {
        assert!(lanczos_resizer("lanczos", 2.0).is_ok());
        assert!(lanczos_resizer("LANCZOS4-opencv", 1.5).is_ok());
        assert!(lanczos_resizer("nope", 2.0).is_err());
        assert!(lanczos_resizer("lanczos", 0.0).is_err());
    }
}
