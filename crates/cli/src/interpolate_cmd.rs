//! `upframe interpolate`: RIFE frame interpolation of a video (`--factor`, `--fps` or
//! `--slowmo`), with scene-cut handling, the encoder/window/passthrough options of `upscale`,
//! progress and a JSON summary. Also the shared runner `enhance` uses.

use std::cell::RefCell;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use upframe_models::registry;
use upframe_pipeline::interpolate::{run_interpolate_job, InterpolateJob, OnCut};
use upframe_pipeline::rife::RifeInterpolator;
use upframe_pipeline::scene::DEFAULT_CUT_THRESHOLD;
use upframe_pipeline::timing::{parse_fps, Rate};
use upframe_pipeline::FrameProcessor;

pub use crate::job_options::JobOptions;
use crate::job_options::{job_error, peak_rss_bytes};
use crate::progress::ProgressDisplay;
use crate::upscale_cmd::resumed_note;

/// What to do between two frames across a scene cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnCutArg {
    /// Repeat the earlier frame (default: no frame mixes two shots).
    Repeat,
    /// Cross-fade linearly.
    Blend,
    /// Interpolate anyway.
    Interpolate,
}

/// Interpolation settings shared by `interpolate` and `enhance`.
#[derive(Debug, Args)]
pub struct InterpOptions {
    /// N−1 new frames between each pair (N ≥ 2); N input frames give N·factor output frames
    /// (the last frame is held for its duration, so the duration is unchanged).
    #[arg(long, value_name = "N", conflicts_with_all = ["fps", "slowmo"])]
    pub factor: Option<u32>,
    /// Target frame rate: 60, 59.94, 60000/1001, ... (output duration = input duration).
    #[arg(long, value_name = "F", conflicts_with = "slowmo")]
    pub fps: Option<String>,
    /// Slow motion: N−1 new frames per pair and time stretched by N (audio is dropped).
    #[arg(long, value_name = "N")]
    pub slowmo: Option<u32>,
    /// RIFE scale: 1.0 usually, 0.5 for 4K (coarser flow, faster).
    #[arg(long, value_name = "S", default_value_t = 1.0)]
    pub rife_scale: f64,
    /// SSIM (32×32 luma thumbnails) below which a pair counts as a scene cut.
    #[arg(long, value_name = "X", default_value_t = DEFAULT_CUT_THRESHOLD)]
    pub scene_threshold: f64,
    /// What to put between frames across a cut.
    #[arg(
        long,
        value_enum,
        value_name = "repeat|blend|interpolate",
        default_value = "repeat"
    )]
    pub on_cut: OnCutArg,
    /// Where registry models are looked up.
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

impl InterpOptions {
    pub fn rate(&self) -> Result<Rate> {
        Ok(match (self.factor, &self.fps, self.slowmo) {
            (Some(k), _, _) => Rate::Factor(k),
            (_, Some(f), _) => {
                let (num, den) = parse_fps(f).map_err(|e| anyhow!("--fps: {e}"))?;
                Rate::Fps { num, den }
            }
            (_, _, Some(k)) => Rate::Slowmo(k),
            _ => Rate::Factor(2),
        })
    }
}

/// Arguments of `upframe interpolate`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe interpolate -i in.mp4 -o out.mp4 --factor 2
  upframe interpolate -i film.mkv -o film60.mkv --fps 60
  upframe interpolate -i clip.mp4 -o slow.mp4 --slowmo 4

Scene cuts are detected and not interpolated across (--on-cut); identical frames are repeated
without running the network. Audio is copied unchanged (except with --slowmo, which drops it).

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct InterpolateArgs {
    /// Input: a video file (anything FFmpeg demuxes), a directory of frames or a printf
    /// pattern (frames/%06d.png); at least two frames.
    #[arg(short, long, value_name = "IN")]
    pub input: PathBuf,
    /// Output: a video file (container from the extension), or a pattern/directory of frames.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// RIFE model: a registry name (rife-v4.26) or a weight file (flownet.pkl). -m, -n and
    /// --model are the same option in every command.
    #[arg(
        short = 'm',
        visible_short_alias = 'n',
        long,
        value_name = "NAME|PATH",
        default_value = "rife-v4.26"
    )]
    pub model: String,
    #[command(flatten)]
    pub interp: InterpOptions,
    #[command(flatten)]
    pub job: JobOptions,
}

/// Loads the RIFE model named by `model` (registry name or path).
pub fn load_rife(
    model: &str,
    scale: f64,
    model_dir: Option<&std::path::Path>,
) -> Result<RifeInterpolator> {
    let resolved =
        registry::resolve(model, model_dir).with_context(|| format!("--model {model}"))?;
    // Only Real-ESRGAN weights are built in; RIFE always comes from a file.
    let Some(path) = resolved.path() else {
        bail!(
            "--model {model}: {} is not a RIFE model",
            resolved.describe()
        );
    };
    RifeInterpolator::load(path, scale).map_err(|e| anyhow!("{e}"))
}

/// Runs an interpolation job with optional processors before/after; prints progress and the
/// summary. `label` describes the processing for the start line and JSON.
#[allow(clippy::too_many_arguments)]
pub fn run_job(
    input: &std::path::Path,
    output: &std::path::Path,
    interp: &InterpOptions,
    opts: &JobOptions,
    rife: &mut RifeInterpolator,
    pre: Vec<Box<dyn FrameProcessor>>,
    post: Vec<Box<dyn FrameProcessor>>,
    label: &str,
) -> Result<()> {
    let rate = interp.rate()?;
    if !(interp.scene_threshold.is_finite()) {
        bail!("--scene-threshold must be a number");
    }
    let video = opts.video_job(input, output)?;
    let mut job = InterpolateJob::new(video, rate);
    job.cut_threshold = interp.scene_threshold;
    job.on_cut = match interp.on_cut {
        OnCutArg::Repeat => OnCut::Repeat,
        OnCutArg::Blend => OnCut::Blend,
        OnCutArg::Interpolate => OnCut::Interpolate,
    };

    let display = RefCell::new(ProgressDisplay::new(opts.quiet));
    let output_name = output.display().to_string();
    let result = run_interpolate_job(
        &job,
        rife,
        pre,
        post,
        &mut |info, (w, h), total| {
            let frames = total.map_or(String::new(), |t| format!(", {t} frames out"));
            display.borrow_mut().start(
                &format!(
                    "upframe: {} ({}x{}) -> {output_name} ({w}x{h}{frames}, {label})",
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
        Err(e) => return Err(job_error(e, input, &job.video.output)),
    };
    // The whole job (the encoder's flush and the join included); the frames made in it.
    let secs = summary.wall.as_secs_f64();
    let fps = if secs > 0.0 {
        summary.frames_out.saturating_sub(summary.frames_resumed) as f64 / secs
    } else {
        0.0
    };
    let peak = peak_rss_bytes();
    if !opts.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames ({} from {} input, {} interpolated, {} cuts, {} static pairs) {}x{} in {:.2} s ({:.2} fps){}",
            summary.output.path.display(),
            summary.output.frames,
            summary.frames_out,
            summary.frames_in,
            summary.interpolated,
            summary.cuts.len(),
            summary.static_pairs,
            summary.output_width,
            summary.output_height,
            secs,
            fps,
            resumed_note(summary.frames_resumed)
        );
        if matches!(rate, Rate::Slowmo(_)) && !opts.no_audio {
            eprintln!("upframe: note: --slowmo drops audio and subtitles (they cannot be stretched without re-encoding)");
        }
    }
    if opts.json {
        let out = json!({
            "input": input.display().to_string(),
            "output": summary.output.path.display().to_string(),
            "processing": label,
            "input_size": [summary.input.width, summary.input.height],
            "output_size": [summary.output_width, summary.output_height],
            "frames_in": summary.frames_in,
            "frames_out": summary.frames_out,
            "frames_resumed": summary.frames_resumed,
            "output_frames": summary.output.frames,
            "interpolated": summary.interpolated,
            "cuts": summary.cuts.iter().map(|(i, s)| json!({"after_frame": i, "ssim": s})).collect::<Vec<_>>(),
            "static_pairs": summary.static_pairs,
            "output_time_base": [summary.output_time_base.0, summary.output_time_base.1],
            "seconds": secs,
            "fps": fps,
            "peak_rss_bytes": peak,
            "peak_rss_mib": peak.map(|b| b as f64 / (1024.0 * 1024.0)),
            "codec": summary.output.codec,
            "copied_packets": summary.output.copied_packets,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("JSON summary")?
        );
    }
    Ok(())
}

pub fn run(args: InterpolateArgs) -> Result<()> {
    let rate = args.interp.rate()?;
    let mut rife = load_rife(
        &args.model,
        args.interp.rife_scale,
        args.interp.model_dir.as_deref(),
    )?;
    let label = format!(
        "{} ({rate}, RIFE scale {})",
        args.model, args.interp.rife_scale
    );
    run_job(
        &args.input,
        &args.output,
        &args.interp,
        &args.job,
        &mut rife,
        Vec::new(),
        Vec::new(),
        &label,
    )
}
