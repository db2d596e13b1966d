//! `upframe upscale`: runs a processor chain (chosen by `--model`) over a video, an image or an
//! image sequence, with encoder settings, time windows, stream passthrough, progress, Ctrl-C /
//! SIGTERM cancellation and a JSON summary.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use upframe::batch::{self, BatchError, ExtChoice, FolderRule, Naming, Shape};
use upframe::{Summary, UpscaleJob};

use crate::batch_cmd::{self, BatchArgs, BatchCommand, ExtOption, FileJob};
use crate::job_options::{
    job_error, peak_rss_bytes, precision_json, resume_json, resumed_note, short_input_note,
    ChoiceParser, JobOptions,
};
use crate::progress::with_display;

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
    pub batch: BatchArgs,
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
    /// `inference_realesrgan.py`'s switch: the same as --precision fp32.
    #[arg(long, conflicts_with = "precision")]
    pub fp32: bool,
    /// Alpha upscaling: through the network (`realesrgan`), OpenCV bilinear (`linear`, the
    /// official alternative) or OpenCV Lanczos-4 (`lanczos`).
    #[arg(long, value_name = "MODE", default_value = "realesrgan")]
    #[arg(value_parser = ChoiceParser::<upframe::AlphaMode>::new())]
    pub alpha: upframe::AlphaMode,
    /// Denoise strength for realesr-general-x4v3 (0 = most denoising ... 1 = none); needs
    /// realesr-general-wdn-x4v3 too unless 1. Also spelled `-dn`. Default: the model alone.
    #[arg(long, value_name = "DN")]
    pub denoise_strength: Option<f64>,
}

impl RealEsrganArgs {
    /// These settings in the library's options (checked there).
    pub fn apply(&self, o: &mut upframe::UpscaleOptions) {
        o.tile = self.tile;
        o.tile_pad = self.tile_pad;
        o.pre_pad = self.pre_pad;
        o.alpha = self.alpha;
        o.denoise_strength = self.denoise_strength;
        if self.fp32 {
            o.precision = upframe::PrecisionChoice::Fp32;
        }
    }
}

impl UpscaleArgs {
    /// The library's options for these arguments.
    pub fn to_options(&self) -> upframe::UpscaleOptions {
        let mut o = upframe::UpscaleOptions {
            model: self.model.clone(),
            scale: self.scale,
            model_dir: self.model_dir.clone(),
            precision: self.job.precision,
            device: self.job.device,
            ..Default::default()
        };
        self.realesrgan.apply(&mut o);
        o
    }
}

pub fn run(args: UpscaleArgs) -> Result<()> {
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch.to_options(),
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
    let mut job = UpscaleJob::new(&args.to_options(), &args.job.to_options()).map_err(job_error)?;
    job.preflight(input, &args.output).map_err(job_error)?;
    job.load().map_err(job_error)?;
    let summary = with_display(
        args.job.quiet,
        &|s| {
            let frames = s.frames.map_or(String::new(), |t| format!(", {t} frames"));
            format!(
                "upframe: {} ({}x{}{frames}) -> {} ({}x{}, {})",
                s.input.display(),
                s.info.width,
                s.info.height,
                s.output.display(),
                s.output_size.0,
                s.output_size.1,
                s.processing
            )
        },
        |hooks| job.run(input, &args.output, hooks),
    )
    .map_err(job_error)?;
    report(args, &summary)
}

/// The closing line and the `--json` summary of one job.
fn report(args: &UpscaleArgs, summary: &Summary) -> Result<()> {
    let short_input = short_input_note(summary.short_input.as_ref());
    let precision = precision_json(summary, args.job.quiet);
    // The whole job (the encoder's flush and the join included); the frames made in it.
    let secs = summary.wall.as_secs_f64();
    let fps = summary.fps();
    let peak = peak_rss_bytes();
    if !args.job.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames {}x{} in {:.2} s ({:.2} fps){}{}",
            summary.output.path.display(),
            summary.output.frames,
            summary.output_size.0,
            summary.output_size.1,
            secs,
            fps,
            resumed_note(summary.frames_resumed),
            if summary.frames_skipped > 0 {
                format!(", {} undecodable frames skipped", summary.frames_skipped)
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
            "input": summary.input.display().to_string(),
            "output": summary.output.path.display().to_string(),
            "model": args.model,
            "scale": args.scale,
            "input_size": [summary.input_info.width, summary.input_info.height],
            "output_size": [summary.output_size.0, summary.output_size.1],
            "frames_in": summary.frames_in,
            "frames_out": summary.frames_made,
            "frames_resumed": summary.frames_resumed,
            "resume": resume_json(summary.resume.as_ref()),
            "frames_decoded": summary.frames_decoded,
            "output_frames": summary.output.frames,
            "frames_skipped": summary.frames_skipped,
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
            "stages": crate::job_options::stages_json(summary),
            "precision": precision,
            "device": crate::job_options::device_json(summary),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("JSON summary")?
        );
    }
    Ok(())
}

/// A batch: every file its own job through one loaded model.
fn run_batch(args: &UpscaleArgs, naming: &Naming) -> Result<()> {
    let plan = batch::plan(
        &args.input,
        naming,
        args.ext.ext.unwrap_or(ExtChoice::Auto),
        folder_rule(args),
    )?;
    let mut job = UpscaleJob::new(&args.to_options(), &args.job.to_options()).map_err(job_error)?;
    let cmd = BatchCommand {
        inputs: &args.input,
        output: &args.output,
        quiet: args.job.quiet,
        json: args.job.json,
        skip_existing: args.batch.skip_existing,
        json_fields: json!({ "model": args.model, "scale": args.scale }),
    };
    batch_cmd::run(&cmd, &plan, &mut FileJob::Upscale(&mut job))
}

fn folder_rule(args: &UpscaleArgs) -> FolderRule {
    FolderRule::FilesUnlessSequence {
        sequence: args.sequence,
    }
}
