//! `upframe model run|info`: run a raw network on tensors (the goldens' convention) and describe
//! a weight file. Owned by the models work; wired into `main.rs` as the `model` subcommand.

use clap::Args;

/// Arguments of `upframe model`.
#[derive(Debug, Args)]
pub struct ModelArgs {}

pub fn run(_args: ModelArgs) -> anyhow::Result<()> {
    anyhow::bail!("`upframe model` is not implemented yet")
}
