//! `upframe enhance`: upscale and interpolate in one streaming pass (`--order`), with the
//! options of both commands. The default order comes from the library's cost model
//! ([`upframe::cheaper_order`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use upframe::batch::{self, FolderRule, Shape};
use upframe::EnhanceJob;

use crate::batch_cmd::{BatchArgs, FileJob};
use crate::interpolate_cmd::{run_batch, run_single, InterpOptions};
use crate::job_options::{job_error, ChoiceParser, JobOptions};
use crate::upscale_cmd::RealEsrganArgs;

/// Arguments of `upframe enhance`.
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  upframe enhance -i in.mp4 -o out.mp4 -n realesr-animevideov3 -s 2 --factor 2
  upframe enhance -i a.mp4 -i b.mp4 -o 'hd/{stem}_hd.mkv' -n realesr-animevideov3 -s 2

Several -i make a batch, as for interpolate: each input its own job, the models loaded once,
the order chosen per input.

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct EnhanceArgs {
    /// Input: a video, a folder of frames or a frame pattern (always one sequence). Repeat -i
    /// for a batch.
    #[arg(short, long, value_name = "IN", required = true)]
    pub input: Vec<PathBuf>,
    /// Output: a video file, a frame pattern, or for a batch a folder (OUT/<name>.<ext>) or a
    /// name pattern ('OUT/{stem}_hd.mkv').
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Upscaler: a Real-ESRGAN model name or file (default realesr-animevideov3, built into
    /// upframe), or lanczos. -m, -n and --model are the same option in every command; the
    /// RIFE model is --interp-model.
    #[arg(
        short = 'm',
        visible_short_alias = 'n',
        long,
        value_name = "NAME|PATH",
        default_value = "realesr-animevideov3"
    )]
    pub model: String,
    /// Upscale factor (default: the model's own; Lanczos: 2).
    #[arg(short, long, value_name = "FACTOR")]
    pub scale: Option<f64>,
    #[command(flatten)]
    pub realesrgan: RealEsrganArgs,
    /// RIFE model: a registry name or a weight file (what `interpolate --model` takes).
    #[arg(long_help = crate::interpolate_cmd::interp_model_help())]
    #[arg(long, value_name = "NAME|PATH", default_value = "rife-v4.26")]
    pub interp_model: String,
    /// Which runs first (default: the cheaper by the cost model).
    #[arg(long, value_parser = ChoiceParser::<upframe::Order>::new())]
    pub order: Option<upframe::Order>,
    #[command(flatten)]
    pub interp: InterpOptions,
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub job: JobOptions,
}

impl EnhanceArgs {
    /// The library's options for these arguments.
    pub fn to_options(&self) -> upframe::EnhanceOptions {
        let mut upscale = upframe::UpscaleOptions {
            model: self.model.clone(),
            scale: self.scale,
            model_dir: self.interp.model_dir.clone(),
            precision: self.job.precision,
            device: self.job.device,
            ..Default::default()
        };
        self.realesrgan.apply(&mut upscale);
        upframe::EnhanceOptions {
            upscale,
            interpolate: upframe::InterpolateOptions {
                precision: self.job.precision,
                device: self.job.device,
                ..self.interp.to_options(&self.interp_model)
            },
            order: self.order,
        }
    }
}

pub fn run(args: EnhanceArgs) -> Result<()> {
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch.to_options(),
        None,
        FolderRule::AlwaysSequence,
    )?;
    let mut job = EnhanceJob::new(&args.to_options(), &args.job.to_options()).map_err(job_error)?;
    match shape {
        Shape::Single => {
            let input = &args.input[0];
            job.preflight(input, &args.output).map_err(job_error)?;
            job.load().map_err(job_error)?;
            run_single(
                &mut FileJob::Enhance(&mut job),
                input,
                &args.output,
                &args.job,
            )
        }
        Shape::Batch(naming) => run_batch(
            &args.input,
            &args.output,
            &naming,
            &args.batch,
            &args.job,
            json!({ "model": args.model, "interp_model": args.interp_model }),
            &mut FileJob::Enhance(&mut job),
        ),
    }
}
