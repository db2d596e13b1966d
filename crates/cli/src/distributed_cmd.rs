//! `upframe plan`, `upframe run-chunk` and `upframe join`: one video on many machines, as
//! building blocks any scheduler can drive (Slurm array jobs, Kubernetes indexed jobs, Ray).
//! Parsing and printing only: the library's [`upframe::distributed`] plans, runs, checks and
//! joins; `plan` takes the job's usual options (the `upscale`, `interpolate` and `enhance`
//! argument sets, validated by the library once).

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use upframe::distributed::{self, ChunkOutcome, JobSpec, Plan, PlanOptions};

use crate::enhance_cmd::EnhanceArgs;
use crate::interpolate_cmd::InterpolateArgs;
use crate::job_options::{cancel_token, job_error};
use crate::progress::with_display;
use crate::upscale_cmd::UpscaleArgs;

/// Arguments of `upframe plan`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe plan upscale -i film.mkv -o /nfs/out/film_x2.mkv -n realesr-animevideov3 -s 2 --plan /nfs/film.plan.json --chunks 16
  upframe run-chunk /nfs/film.plan.json --chunk 3      # on any machine, once per chunk
  upframe join /nfs/film.plan.json                     # once every chunk is done

The plan cuts the output into chunks of whole segments (--segment-frames, default about 10 s);
chunk K is the same job restricted to its segments, so the joined file equals a one-machine
run frame for frame. Every machine must see the input, the output's folder and the work
directory (default .NAME.chunks.upframe-work beside the output) under the same paths.")]
pub struct PlanArgs {
    #[command(subcommand)]
    pub job: PlanJob,
}

/// The job to plan, with its usual options.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum PlanJob {
    /// Plan an `upscale` job.
    Upscale {
        #[command(flatten)]
        args: UpscaleArgs,
        #[command(flatten)]
        how: HowArgs,
    },
    /// Plan an `interpolate` job.
    Interpolate {
        #[command(flatten)]
        args: InterpolateArgs,
        #[command(flatten)]
        how: HowArgs,
    },
    /// Plan an `enhance` job.
    Enhance {
        #[command(flatten)]
        args: EnhanceArgs,
        #[command(flatten)]
        how: HowArgs,
    },
}

/// Where the plan goes and how the job is cut.
#[derive(Debug, Args)]
pub struct HowArgs {
    /// The plan file to write (JSON).
    #[arg(long, value_name = "PLAN.json")]
    pub plan: PathBuf,
    /// Cut the job into N chunks (of whole segments).
    #[arg(long, value_name = "N", conflicts_with = "chunk_seconds")]
    pub chunks: Option<usize>,
    /// Cut the job into chunks of about S seconds of output (default 60).
    #[arg(long, value_name = "S")]
    pub chunk_seconds: Option<f64>,
    /// The shared work directory for the chunks' segments (default:
    /// .NAME.chunks.upframe-work beside the output).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// Arguments of `upframe run-chunk`.
#[derive(Debug, Args)]
pub struct RunChunkArgs {
    /// The plan file (`upframe plan`).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Which chunk (0 to the plan's count − 1). A committed chunk is skipped; a partial one
    /// is finished.
    #[arg(long, value_name = "K")]
    pub chunk: usize,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `upframe join`.
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The plan file (`upframe plan`).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// No closing line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a JSON summary on stdout at the end.
    #[arg(long)]
    pub json: bool,
}

fn one_input(inputs: &[PathBuf]) -> Result<&PathBuf> {
    match inputs {
        [one] => Ok(one),
        _ => Err(anyhow!(
            "a plan is for one input video; {} inputs were given",
            inputs.len()
        )),
    }
}

pub fn plan(args: PlanArgs) -> Result<()> {
    // The job's own arguments (input, output, --quiet, --json) are read once, below.
    let (spec, job, inputs, output, how) = match &args.job {
        PlanJob::Upscale { args, how } => (
            JobSpec::Upscale(args.to_options()),
            &args.job,
            &args.input,
            &args.output,
            how,
        ),
        PlanJob::Interpolate { args, how } => (
            JobSpec::Interpolate(args.to_options()),
            &args.job,
            &args.input,
            &args.output,
            how,
        ),
        PlanJob::Enhance { args, how } => (
            JobSpec::Enhance(args.to_options()),
            &args.job,
            &args.input,
            &args.output,
            how,
        ),
    };
    let input = one_input(inputs)?;
    let (quiet, json_out) = (job.quiet, job.json);
    let options = PlanOptions {
        chunks: how.chunks,
        chunk_seconds: how.chunk_seconds,
        work_dir: how.work_dir.clone(),
    };
    let plan =
        distributed::plan(input, output, &spec, &job.to_options(), &options).map_err(job_error)?;
    plan.write(&how.plan).map_err(job_error)?;
    if !quiet {
        eprintln!(
            "upframe: wrote {}: {} {} chunk{} of {} segment{} of {} frames{} (work directory {})",
            how.plan.display(),
            plan.chunks.len(),
            spec.command(),
            if plan.chunks.len() == 1 { "" } else { "s" },
            per_chunk(&plan),
            if per_chunk(&plan) == 1 { "" } else { "s" },
            plan.segment_frames,
            plan.output_frames
                .map_or(String::new(), |n| format!(", {n} output frames")),
            plan.work_dir.display()
        );
    }
    if json_out {
        let out = json!({
            "plan": how.plan.display().to_string(),
            "plan_id": plan.plan_id,
            "chunks": plan.chunks.len(),
            "segment_frames": plan.segment_frames,
            "output_frames": plan.output_frames,
            "work_dir": plan.work_dir.display().to_string(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn per_chunk(plan: &Plan) -> u64 {
    plan.chunks
        .first()
        .and_then(|c| c.end_segment.map(|e| e - c.first_segment))
        .unwrap_or(1)
}

pub fn run_chunk(args: RunChunkArgs) -> Result<()> {
    let plan = Plan::read(&args.plan).map_err(job_error)?;
    let index = args.chunk;
    let outcome = with_display(
        args.quiet,
        &|s| {
            format!(
                "upframe: chunk {index} of {}: {} -> {} ({})",
                plan.chunks.len(),
                s.input.display(),
                plan.work_dir.display(),
                s.processing
            )
        },
        |hooks| distributed::run_chunk(&plan, index, hooks),
    )
    .map_err(job_error)
    .with_context(|| format!("chunk {index}"))?;
    let (frames, made, seconds, complete) = match &outcome {
        ChunkOutcome::Done(s) => (s.output.frames, s.frames_made, s.wall.as_secs_f64(), false),
        ChunkOutcome::AlreadyComplete => (0, 0, 0.0, true),
    };
    if !args.quiet {
        if complete {
            eprintln!("upframe: chunk {index} is already complete; nothing to do");
        } else {
            eprintln!(
                "upframe: chunk {index}: {frames} frames ({made} made now) in {seconds:.2} s"
            );
        }
    }
    if args.json {
        let out = json!({
            "chunk": index,
            "already_complete": complete,
            "frames": frames,
            "frames_made": made,
            "seconds": seconds,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

pub fn join(args: JoinArgs) -> Result<()> {
    let plan = Plan::read(&args.plan).map_err(job_error)?;
    let mut hooks = upframe::Hooks {
        cancel: cancel_token(),
        notice: upframe::Notice::new(|m| eprintln!("upframe: {m}")),
        ..Default::default()
    };
    let summary = distributed::join(&plan, &mut hooks).map_err(job_error)?;
    if !args.quiet {
        eprintln!(
            "upframe: wrote {}: {} frames from {} chunks in {:.2} s",
            summary.output.path.display(),
            summary.output.frames,
            summary.chunks,
            summary.wall.as_secs_f64()
        );
    }
    if args.json {
        let out = json!({
            "output": summary.output.path.display().to_string(),
            "frames": summary.output.frames,
            "chunks": summary.chunks,
            "bytes": summary.output.bytes,
            "copied_streams": summary.output.copied_streams,
            "copied_packets": summary.output.copied_packets,
            "seconds": summary.wall.as_secs_f64(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
