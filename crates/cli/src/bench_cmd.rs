//! `upframe bench`: ms per forward for upframe's engine and, in the same run, for the PyTorch
//! reference harness in `scripts/`, with their ratio.

use clap::Args;

/// Arguments of `upframe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("`upframe bench` is not implemented yet")
}
