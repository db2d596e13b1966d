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

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use upframe_models::registry;
use upframe_pipeline::realesrgan::{RealEsrganOptions, RealEsrganUpscaler};
use upframe_pipeline::timing::Rate;
use upframe_pipeline::FrameProcessor;

use crate::interpolate_cmd::{load_rife, run_job, InterpOptions};
use crate::job_options::JobOptions;
use crate::upscale_cmd::build_processors;

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

/// Arguments of `upframe enhance`.
#[derive(Debug, Args)]
#[command(after_help = "\
Example:
  upframe enhance -i in.mp4 -o out.mp4 -n realesr-animevideov3 -s 2 --factor 2

Resume: video output is written in segments in .NAME.upframe-work/ beside the output. If a run
is interrupted (Ctrl-C, kill, crash, full disk), run the same command again: it resumes after
the last complete segment and gives the same file an uninterrupted run would. A changed input,
option or model is refused; --restart starts over.")]
pub struct EnhanceArgs {
    #[arg(short, long, value_name = "IN")]
    pub input: PathBuf,
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Upscaler: a Real-ESRGAN model name or file, or lanczos.
    #[arg(
        short = 'n',
        long,
        value_name = "NAME|PATH",
        default_value = "realesr-animevideov3"
    )]
    pub model: String,
    /// Upscale factor (default: the model's own; Lanczos: 2).
    #[arg(short, long, value_name = "FACTOR")]
    pub scale: Option<f64>,
    /// RIFE model: a registry name or a weight file.
    #[arg(long_help = crate::interpolate_cmd::rife_model_help())]
    #[arg(long, value_name = "NAME|PATH", default_value = "rife-v4.26")]
    pub interp_model: String,
    /// Which runs first (default: the cheaper by the cost model).
    #[arg(long, value_enum)]
    pub order: Option<Order>,
    #[command(flatten)]
    pub interp: InterpOptions,
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

fn upscaler(args: &EnhanceArgs) -> Result<(Box<dyn FrameProcessor>, f64)> {
    let lower = args.model.to_ascii_lowercase();
    if lower.starts_with("lanczos") {
        let mut p = build_processors(&args.model, args.scale.unwrap_or(2.0))?;
        return Ok((p.remove(0), 0.0));
    }
    let resolved = registry::resolve(&args.model, args.interp.model_dir.as_deref())
        .with_context(|| format!("--model {}", args.model))?;
    let options = RealEsrganOptions {
        outscale: args.scale,
        ..RealEsrganOptions::default()
    };
    let up = RealEsrganUpscaler::from_file(&resolved.path, options)
        .with_context(|| resolved.path.display().to_string())?;
    Ok((Box::new(up), UPSCALER_TO_RIFE_COST))
}

pub fn run(args: EnhanceArgs) -> Result<()> {
    args.job.preflight(&args.input, &args.output)?;
    let rate = args.interp.rate()?;
    let (up, cost) = upscaler(&args)?;
    let mut rife = load_rife(
        &args.interp_model,
        args.interp.rife_scale,
        args.interp.ifnet_options(),
        args.interp.model_dir.as_deref(),
    )?;
    let (w, h) = up.output_size(1000, 1000);
    let area_scale = (w * h) as f64 / 1e6;
    let ratio = match rate {
        Rate::Factor(k) | Rate::Slowmo(k) => f64::from(k),
        Rate::Fps { num, den } => {
            let info = upframe_media::probe(&args.input)
                .ok()
                .and_then(|m| m.video.map(|v| v.fps()))
                .filter(|f| *f > 0.0)
                .unwrap_or(num as f64 / den as f64);
            num as f64 / den as f64 / info
        }
    };
    let order = args
        .order
        .unwrap_or_else(|| cheaper_order(cost, ratio, area_scale));
    let label = format!(
        "{} + {} ({rate:?}, {order:?})",
        args.model, args.interp_model
    );
    let (pre, post) = match order {
        Order::UpscaleFirst => (vec![up], Vec::new()),
        Order::InterpolateFirst => (Vec::new(), vec![up]),
    };
    run_job(
        &args.input,
        &args.output,
        &args.interp,
        &args.job,
        &mut rife,
        pre,
        post,
        &label,
    )
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
