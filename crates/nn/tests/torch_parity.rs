//! Parity of the ops with PyTorch itself, on outputs written by `tests/torch/make_op_goldens.py`
//! into the directory named by env `UPFRAME_NN_OP_GOLDENS`. These files are generated on demand
//! with a local torch, not shipped, so the test is ignored by default: run it with
//! `UPFRAME_NN_OP_GOLDENS=DIR cargo test -p upframe-nn --test torch_parity -- --ignored`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use upframe_nn::{ops, Activation, Conv2d, ConvTranspose2d, Epilogue, Tensor};

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

struct Case {
    name: String,
    op: String,
    params: HashMap<String, String>,
    dir: PathBuf,
}

impl Case {
    fn shape(&self, tensor: &str) -> [usize; 4] {
        let dims: Vec<usize> = self.params[tensor]
            .split(',')
            .map(|d| d.parse().unwrap())
            .collect();
        dims.try_into().unwrap()
    }
    /// The named tensor, converted from NCHW to NHWC.
    fn tensor(&self, tensor: &str) -> Tensor {
        let data = read_f32(&self.dir.join(format!("{}.{tensor}.f32", self.name)));
        Tensor::from_nchw(self.shape(tensor), &data)
    }
    fn raw(&self, tensor: &str) -> Vec<f32> {
        read_f32(&self.dir.join(format!("{}.{tensor}.f32", self.name)))
    }
    fn param<T: std::str::FromStr>(&self, key: &str) -> T {
        self.params[key]
            .parse()
            .unwrap_or_else(|_| panic!("param {key}"))
    }
}

fn run(case: &Case) -> Tensor {
    let x = case.tensor("x");
    match case.op.as_str() {
        "resize_scale" => ops::resize_bilinear_scale(&x, case.param("sf")),
        "resize_size" => {
            let [_, _, oh, ow] = case.shape("y");
            ops::resize_bilinear_size(&x, oh, ow)
        }
        "warp" => ops::warp(&x, &case.tensor("flow")),
        "pixel_shuffle" => ops::pixel_shuffle(&x, case.param("r")),
        "pixel_unshuffle" => ops::pixel_unshuffle(&x, case.param("r")),
        "conv_transpose" | "conv" => {
            let w = case.raw("weight");
            let b = case.raw("bias");
            let shape = case.shape("weight");
            let (s, p) = (case.param("stride"), case.param("padding"));
            if case.op == "conv" {
                Conv2d::new(&w, shape, Some(&b), s, p)
                    .unwrap()
                    .forward(&x, &Epilogue::none())
            } else {
                ConvTranspose2d::new(&w, shape, Some(&b), s, p)
                    .unwrap()
                    .forward(&x, &Epilogue::none())
            }
        }
        "prelu" => ops::prelu(&x, &case.raw("weight")),
        "leaky_relu" => ops::leaky_relu(&x, case.param("slope")),
        "sigmoid" => ops::activate(&x, Activation::Sigmoid),
        "pad_reflect" => {
            let p: Vec<usize> = case.params["pad"]
                .split(',')
                .map(|v| v.parse().unwrap())
                .collect();
            ops::pad(&x, [p[0], p[1], p[2], p[3]], ops::PadMode::Reflect)
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
#[ignore = "needs op goldens made by tests/torch/make_op_goldens.py (UPFRAME_NN_OP_GOLDENS)"]
fn ops_match_pytorch() {
    let dir = std::env::var_os("UPFRAME_NN_OP_GOLDENS")
        .map(PathBuf::from)
        .expect("set UPFRAME_NN_OP_GOLDENS to the output directory of make_op_goldens.py");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let mut failures = Vec::new();
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap().to_string();
        let op = fields.next().unwrap().to_string();
        let params = fields
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap();
                (k.to_string(), v.to_string())
            })
            .collect();
        let case = Case {
            name,
            op,
            params,
            dir: dir.clone(),
        };
        let got = run(&case);
        let want = case.tensor("y");
        assert_eq!(got.shape(), want.shape(), "{}: shape", case.name);
        let max_abs = got
            .data()
            .iter()
            .zip(want.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let scale = want.data().iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // Convolutions sum hundreds of products in a different order than PyTorch's kernels.
        let tol = if case.op.starts_with("conv") {
            2e-5
        } else {
            2e-6
        } * scale.max(1.0);
        println!(
            "{:<18} max |Δ| = {max_abs:.3e} (max |y| {scale:.2})",
            case.name
        );
        if max_abs > tol {
            failures.push(format!("{}: {max_abs:e} > {tol:e}", case.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
