//! `upframe devices`: lists the adapters as text and JSON (in CI: Mesa's lavapipe, which
//! scripts/setup.sh installs; an empty list there is a failure).

use std::process::Command;

fn devices(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_upframe"))
        .arg("devices")
        .args(args)
        .output()
        .expect("run upframe");
    assert!(
        out.status.success(),
        "upframe devices failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

#[test]
fn devices_lists_the_cpu_and_every_adapter_in_text_and_json() {
    let json: serde_json::Value = serde_json::from_str(&devices(&["--json"])).expect("JSON");
    assert_eq!(json["cpu"], true);
    let gpus = json["gpus"].as_array().expect("gpus array");
    if gpus.is_empty() && std::env::var_os("CI").is_some() {
        panic!("CI is set but `upframe devices` found no adapter (lavapipe is installed there)");
    }
    let text = devices(&[]);
    assert!(text.starts_with("cpu "), "{text}");
    for (i, g) in gpus.iter().enumerate() {
        assert_eq!(g["index"], i);
        assert_eq!(g["device"], format!("gpu:{i}"));
        for key in ["name", "vendor", "backend", "type", "driver"] {
            assert!(g[key].is_string(), "{key} in {g}");
        }
        assert!(g["f16"].is_boolean() && g["max_storage_binding"].as_u64().unwrap() > 0);
        let name = g["name"].as_str().unwrap();
        assert!(text.contains(&format!("gpu:{i}  {name}")), "{text}");
    }
    if gpus.is_empty() {
        assert!(text.contains("no GPU adapter found"), "{text}");
    }
}
