//! `upframe model run|info`: run a raw network on tensors (the goldens' convention) and describe
//! a weight file. Owned by the models work; wired into `main.rs` as the `model` subcommand.
//!
//! Tensor files are safetensors, NCHW `f32`: upscalers read `input` and write `output`; RIFE
//! reads `img0`, `img1` and writes `output`, `flow` and `mask` (the raw mask logit, as the
//! official forward returns it) plus `mask_sigmoid`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use upframe_models::{
    load_safetensors, model_from_state_dict, registry, write_safetensors, IfNetOptions, Model,
    Network, WeightTensor,
};
use upframe_nn::{Tensor, Workspace};

/// Arguments of `upframe model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Run a network on NCHW f32 tensors from a safetensors file (`input`, or `img0`/`img1` for
    /// RIFE) and write its raw outputs (`output`, and RIFE's `flow`, `mask`).
    Run {
        /// A registry name (e.g. realesr-animevideov3, rife-v4.25) or a weight file path (also
        /// spelled -m or -n, as in every command).
        #[arg(short = 'm', visible_short_alias = 'n', long)]
        model: String,
        /// Safetensors file with the input tensors.
        #[arg(long)]
        input: PathBuf,
        /// Safetensors file to write.
        #[arg(long)]
        output: PathBuf,
        /// RIFE: the time of the interpolated frame, in [0, 1].
        #[arg(long, default_value_t = 0.5)]
        timestep: f32,
        /// RIFE: the flow scale (Practical-RIFE's `--scale`; 0.5 for 4K).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// RIFE: the official `ensemble` (layouts up to v4.20).
        #[arg(long)]
        ensemble: bool,
        /// RIFE: the v4.0 refinement net (`fastmode=False`).
        #[arg(long)]
        refine: bool,
        /// Where registry models are cached (default: $UPFRAME_MODEL_DIR, then the XDG cache).
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
    /// Print a weight file's detected architecture and hyperparameters.
    Info {
        /// A registry name or a weight file path.
        model: String,
        #[arg(long)]
        model_dir: Option<PathBuf>,
    },
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Run {
            model,
            input,
            output,
            timestep,
            scale,
            ensemble,
            refine,
            model_dir,
        } => run_model(
            &model,
            model_dir.as_deref(),
            &input,
            &output,
            timestep,
            scale,
            IfNetOptions { ensemble, refine },
        ),
        ModelCommand::Info { model, model_dir } => info(&model, model_dir.as_deref()),
    }
}

fn resolve(
    model: &str,
    model_dir: Option<&Path>,
) -> anyhow::Result<(registry::ResolvedModel, Model)> {
    let resolved = registry::resolve(model, model_dir)?;
    let weights = resolved.load_weights()?;
    let loaded = model_from_state_dict(&weights).map_err(|e| e.in_file(resolved.describe()))?;
    Ok((resolved, loaded))
}

fn info(model: &str, model_dir: Option<&Path>) -> anyhow::Result<()> {
    let (resolved, loaded) = resolve(model, model_dir)?;
    println!("file: {}", resolved.describe());
    let known = match resolved.path() {
        Some(path) => registry::identify_file(path),
        None => resolved.model,
    };
    if let Some(known) = known {
        println!("registry name: {}", known.name);
    }
    println!("{}", loaded.info);
    Ok(())
}

/// An NCHW tensor from the input file as NHWC.
fn input_tensor(
    file: &upframe_models::TensorFile,
    name: &str,
    path: &Path,
) -> anyhow::Result<Tensor> {
    let t = file
        .tensors
        .get(name)
        .with_context(|| format!("{}: no tensor `{name}`", path.display()))?;
    let Ok([n, c, h, w]) = <[usize; 4]>::try_from(t.shape.as_slice()) else {
        bail!(
            "{}: tensor `{name}` has shape {}, expected NCHW (4-D)",
            path.display(),
            upframe_nn::shape_text(&t.shape)
        );
    };
    Ok(Tensor::from_nchw([n, c, h, w], &t.data))
}

fn nchw(t: &Tensor) -> anyhow::Result<WeightTensor> {
    let [n, h, w, c] = t.shape();
    Ok(WeightTensor::new(vec![n, c, h, w], t.to_nchw())?)
}

fn run_model(
    model: &str,
    model_dir: Option<&Path>,
    input: &Path,
    output: &Path,
    timestep: f32,
    scale: f64,
    options: IfNetOptions,
) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&timestep) {
        bail!("--timestep must be in [0, 1], got {timestep}");
    }
    if !(scale.is_finite() && scale > 0.0) {
        bail!("--scale must be positive, got {scale}");
    }
    let (weights, loaded) = resolve(model, model_dir)?;
    let file = load_safetensors(input)?;
    let mut ws = Workspace::new();
    let mut metadata = HashMap::from([
        ("model".to_string(), weights.describe()),
        (
            "architecture".to_string(),
            loaded.info.arch_name().to_string(),
        ),
    ]);
    let started = Instant::now();
    let outputs: Vec<(&str, WeightTensor)> = match &loaded.network {
        Network::Upscaler(net) => {
            let x = input_tensor(&file, "input", input)?;
            let y = net.forward(&x, &mut ws)?;
            vec![("output", nchw(&y)?)]
        }
        Network::Interpolator(net) => {
            let img0 = input_tensor(&file, "img0", input)?;
            let img1 = input_tensor(&file, "img1", input)?;
            let r = net
                .forward_with(&img0, &img1, timestep, scale, options, &mut ws)
                .map_err(|e| e.in_file(weights.describe()))?;
            metadata.insert("timestep".into(), timestep.to_string());
            metadata.insert("scale".into(), scale.to_string());
            metadata.insert("layout".into(), net.config().version.clone());
            metadata.insert("ensemble".into(), options.ensemble.to_string());
            metadata.insert("refine".into(), options.refine.to_string());
            vec![
                ("output", nchw(&r.frame)?),
                ("flow", nchw(&r.flow)?),
                ("mask", nchw(&r.mask_logits)?),
                ("mask_sigmoid", nchw(&r.mask)?),
            ]
        }
    };
    let elapsed = started.elapsed();
    let refs: Vec<(&str, &WeightTensor)> = outputs.iter().map(|(n, t)| (*n, t)).collect();
    write_safetensors(output, &refs, Some(metadata))?;
    eprintln!(
        "{}: {} forward in {:.1} ms → {}",
        weights.describe(),
        loaded.info.arch_name(),
        elapsed.as_secs_f64() * 1e3,
        output.display()
    );
    Ok(())
}
