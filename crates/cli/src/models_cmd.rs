//! `upframe models list|fetch|verify|path`: the registry of known models and the local model
//! cache. Owned by the registry work; wired into `main.rs` as the `models` subcommand.

use clap::Args;

/// Arguments of `upframe models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {}

pub fn run(_args: ModelsArgs) -> anyhow::Result<()> {
    anyhow::bail!("`upframe models` is not implemented yet")
}
