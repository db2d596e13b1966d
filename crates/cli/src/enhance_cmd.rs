//! `upframe enhance`: upscale and interpolate in one streaming pass (`--order`), with the
//! options of both commands.
//!
//! Default order: the cheaper one by a pixel-count cost model. With `n_in` input frames,
//! `n_out` output frames, `p_lo`/`p_hi` pixels per frame before/after upscaling, per-pixel
//! costs `c_up` (upscaler, per input pixel) and `c_rife` (RIFE, per pixel it runs at):
//! interpolate-first = `c_up·p_lo·n_out + c_rife·p_lo·(n_out − n_in)`,
//! upscale-first = `c_up·p_lo·n_in + c_rife·p_hi·(n_out − n_in)`.
//! `c_up / c_rife` is [`UPSCALER_TO_RIFE_COST`] for Real-ESRGAN models (an estimate from
//! their FLOPs per pixel, not a measurement) and ~0 for Lanczos.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
use upframe_pipeline::timing::Rate;
use upframe_pipeline::FrameProcessor;

use serde_json::json;
use upframe_pipeline::rife::RifeInterpolator;

use crate::batch::{self, BatchItem, BatchOptions, FolderRule, Shape};
use crate::interpolate_cmd::{load_rife, run_batch, run_job, InterpOptions, Parts};
use crate::job_options::JobOptions;
use crate::upscale_cmd::{self, is_lanczos, RealEsrganArgs};

/// Real-ESRGAN cost per input pixel relative to RIFE's cost per pixel (estimate:
/// SRVGG-compact ≈ 1.2 MFLOP per input pixel; IFNet v4.26 ≈ 0.3 MFLOP per pixel).
pub const UPSCALER_TO_RIFE_COST: f64 = 4.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Order {
    /// Interpolate at the input size, then upscale every output frame.
    InterpolateFirst,
    /// Upscale every input frame, then interpolate at the output size.
    UpscaleFirst,
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Order::InterpolateFirst => "interpolate first",
            Order::UpscaleFirst => "upscale first",
        })
    }
}

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
    #[arg(long, value_enum)]
    pub order: Option<Order>,
    #[command(flatten)]
    pub interp: InterpOptions,
    #[command(flatten)]
    pub batch: BatchOptions,
    #[command(flatten)]
    pub job: JobOptions,
}

/// The cheaper order for `ratio` output frames per input frame and `area_scale` output
/// pixels per input pixel, given the upscaler's relative cost.
pub fn cheaper_order(upscaler_cost: f64, ratio: f64, area_scale: f64) -> Order {
    let new = (ratio - 1.0).max(0.0);
    let interpolate_first = upscaler_cost * ratio + new;
    let upscale_first = upscaler_cost + area_scale * new;
    if interpolate_first <= upscale_first {
        Order::InterpolateFirst
    } else {
        Order::UpscaleFirst
    }
}

/// The upscaler with its cost relative to RIFE: the same chain `upscale` builds from the same
/// options.
fn upscaler(args: &EnhanceArgs) -> Result<(Box<dyn FrameProcessor>, f64)> {
    let up = upscale_cmd::upscaler(
        &args.model,
        args.scale,
        &args.realesrgan,
        args.interp.model_dir.as_deref(),
    )?;
    let cost = if is_lanczos(&args.model) {
        0.0
    } else {
        UPSCALER_TO_RIFE_COST
    };
    Ok((up, cost))
}

/// The loaded models of an `enhance` run: the upscaler with its relative cost, and RIFE.
struct Models {
    up: Box<dyn FrameProcessor>,
    cost: f64,
    rife: RifeInterpolator,
}

fn load(args: &EnhanceArgs) -> Result<Models> {
    let (up, cost) = upscaler(args)?;
    let rife = load_rife(
        &args.interp_model,
        args.interp.rife_scale,
        args.interp.ifnet_options(),
        args.interp.model_dir.as_deref(),
    )?;
    Ok(Models { up, cost, rife })
}

/// `--order`, or the cheaper order for `input` by the cost model.
fn order_for(args: &EnhanceArgs, rate: Rate, models: &Models, input: &Path) -> Order {
    let (w, h) = models.up.output_size(1000, 1000);
    let area_scale = (w * h) as f64 / 1e6;
    let ratio = match rate {
        Rate::Factor(k) | Rate::Slowmo(k) => f64::from(k),
        Rate::Fps { num, den } => {
            let info = upframe_media::probe(input)
                .ok()
                .and_then(|m| m.video.map(|v| v.fps()))
                .filter(|f| *f > 0.0)
                .unwrap_or(num as f64 / den as f64);
            num as f64 / den as f64 / info
        }
    };
    args.order
        .unwrap_or_else(|| cheaper_order(models.cost, ratio, area_scale))
}

/// The models lent to one file, in `order`.
fn parts(models: &mut Models, order: Order, label: String) -> Parts<'_> {
    let up = std::slice::from_mut(&mut models.up);
    let none: &mut [Box<dyn FrameProcessor>] = &mut [];
    let (pre, post) = match order {
        Order::UpscaleFirst => (up, none),
        Order::InterpolateFirst => (none, up),
    };
    Parts {
        rife: &mut models.rife,
        pre,
        post,
        label,
    }
}

pub fn run(args: EnhanceArgs) -> Result<()> {
    let rate = args.interp.rate()?;
    let label = |order: Order| format!("{} + {} ({rate}, {order})", args.model, args.interp_model);
    let shape = batch::shape(
        &args.input,
        &args.output,
        &args.batch,
        None,
        FolderRule::AlwaysSequence,
    )?;
    match shape {
        Shape::Single => {
            let input = &args.input[0];
            args.job.preflight(input, &args.output)?;
            let mut models = load(&args)?;
            let order = order_for(&args, rate, &models, input);
            let p = parts(&mut models, order, label(order));
            run_job(
                input,
                &args.output,
                &args.interp,
                &args.job,
                p.rife,
                p.pre,
                p.post,
                &p.label,
            )
        }
        Shape::Batch(naming) => run_batch(
            &args.input,
            &args.output,
            &naming,
            &args.interp,
            &args.batch,
            &args.job,
            json!({ "model": args.model, "interp_model": args.interp_model }),
            || load(&args),
            &mut |models: &mut Models, item: &BatchItem| {
                let order = order_for(&args, rate, models, &item.input);
                parts(models, order, label(order))
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_follows_the_cost_model() {
        // Lanczos costs nothing: interpolate at low resolution.
        assert_eq!(cheaper_order(0.0, 2.0, 4.0), Order::InterpolateFirst);
        // Real-ESRGAN ×2, factor 2: 4·2 + 1 = 9 vs 4 + 4 = 8 → upscale first.
        assert_eq!(cheaper_order(4.0, 2.0, 4.0), Order::UpscaleFirst);
        // ×4 upscale: 4·2 + 1 = 9 vs 4 + 16 = 20 → interpolate first.
        assert_eq!(cheaper_order(4.0, 2.0, 16.0), Order::InterpolateFirst);
    }
}
