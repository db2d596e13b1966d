//! `upframe devices`: the GPU adapters this machine offers (what `--device gpu:N` picks from),
//! as text or JSON.

use anyhow::Result;
use clap::Args;
use serde_json::json;
use upframe_gpu::{list_adapters, AdapterSummary};

/// Arguments of `upframe devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn to_json(adapters: &[AdapterSummary]) -> serde_json::Value {
    let list: Vec<_> = adapters
        .iter()
        .map(|a| {
            json!({
                "index": a.index,
                "device": format!("gpu:{}", a.index),
                "name": a.name,
                "vendor": a.vendor_name(),
                "vendor_id": a.vendor,
                "backend": a.backend,
                "type": a.device_type,
                "software": a.is_software(),
                "f16": a.f16,
                "driver": a.driver,
                "max_buffer_size": a.max_buffer_size,
                "max_storage_binding": a.max_storage_binding,
                "max_workgroups_per_dimension": a.max_workgroups_per_dimension,
            })
        })
        .collect();
    json!({ "cpu": true, "gpus": list })
}

pub fn run(args: DevicesArgs) -> Result<()> {
    let adapters = list_adapters();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&adapters))?);
        return Ok(());
    }
    println!("cpu     this machine's CPU (--device cpu)");
    if adapters.is_empty() {
        println!("no GPU adapter found (no Vulkan, Metal or DX12 driver answered)");
    }
    for a in &adapters {
        let note = if a.is_software() {
            "  [software: --device auto skips it]"
        } else {
            ""
        };
        println!("{a}{note}");
    }
    Ok(())
}
