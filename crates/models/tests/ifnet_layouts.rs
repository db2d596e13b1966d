//! Every IFNet layout of the table is recognised from a state dict built with the official key
//! names and shapes of its `IFNet_HDv3.py` (random weights), whatever the file is called, and
//! runs: fast mode, `ensemble` where the layout has it (refused in one line where it has not).
//! Structures the table does not know are a one-line error saying what was found.

mod common;

use common::{pth_bytes, Entry};
use upframe_models::ifnet::layout::{BlockStyle, EncoderStyle, IfNetVariant};
use upframe_models::ifnet::VARIANTS;
use upframe_models::{
    load_model, model_from_state_dict, Architecture, IfNetOptions, ModelError, StateDict,
    WeightTensor,
};
use upframe_nn::{Tensor, Workspace};

/// Deterministic values in [-1, 1) (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Builds state dicts with PyTorch-like initial weights (uniform in ±1/√fan_in).
struct Builder {
    sd: StateDict,
    rng: Rng,
}

impl Builder {
    fn tensor(&mut self, key: &str, shape: &[usize], scale: f32) {
        let n: usize = shape.iter().product();
        let data = (0..n).map(|_| self.rng.next() * scale).collect();
        self.sd
            .insert(key, WeightTensor::new(shape.to_vec(), data).unwrap());
    }

    fn conv(&mut self, prefix: &str, cin: usize, cout: usize, k: usize) {
        let bound = 1.0 / ((cin * k * k) as f32).sqrt();
        self.tensor(&format!("{prefix}.weight"), &[cout, cin, k, k], bound);
        self.tensor(&format!("{prefix}.bias"), &[cout], bound);
    }

    fn deconv(&mut self, prefix: &str, cin: usize, cout: usize) {
        let bound = 1.0 / ((cout * 16) as f32).sqrt();
        self.tensor(&format!("{prefix}.weight"), &[cin, cout, 4, 4], bound);
        self.tensor(&format!("{prefix}.bias"), &[cout], bound);
    }

    fn prelu(&mut self, key: &str, c: usize) {
        self.sd
            .insert(key, WeightTensor::new(vec![c], vec![0.25; c]).unwrap());
    }
}

/// The official key names and shapes of `v` (random values).
fn state_dict(v: &IfNetVariant, seed: u64) -> StateDict {
    let mut b = Builder {
        sd: StateDict::new(),
        rng: Rng(seed | 1),
    };
    let enc = v.encoder_channels;
    let hidden = if enc >= 8 { 32 } else { 16 };
    match v.encoder {
        EncoderStyle::None => {}
        EncoderStyle::Pair => {
            b.conv("encode.0", 3, 16, 3);
            b.deconv("encode.1", 16, enc);
        }
        EncoderStyle::Sequential => {
            b.conv("encode.0", 3, 32, 3);
            b.conv("encode.2", 32, 32, 3);
            b.conv("encode.4", 32, 32, 3);
            b.deconv("encode.6", 32, enc);
        }
        EncoderStyle::Head => {
            b.conv("encode.cnn0", 3, hidden, 3);
            b.conv("encode.cnn1", hidden, hidden, 3);
            b.conv("encode.cnn2", hidden, hidden, 3);
            b.deconv("encode.cnn3", hidden, enc);
        }
    }
    for (i, &c) in v.block_channels.iter().enumerate() {
        let cin = if i == 0 {
            7 + 2 * enc
        } else {
            8 + 2 * enc + v.block_features + 4
        };
        let p = format!("block{i}");
        match v.block_style {
            BlockStyle::PreluPlain | BlockStyle::LeakyPlain => {
                let prelu = v.block_style == BlockStyle::PreluPlain;
                b.conv(&format!("{p}.conv0.0.0"), cin, c / 2, 3);
                b.conv(&format!("{p}.conv0.1.0"), c / 2, c, 3);
                for k in 0..8 {
                    b.conv(&format!("{p}.convblock.{k}.0"), c, c, 3);
                }
                if prelu {
                    b.prelu(&format!("{p}.conv0.0.1.weight"), c / 2);
                    b.prelu(&format!("{p}.conv0.1.1.weight"), c);
                    for k in 0..8 {
                        b.prelu(&format!("{p}.convblock.{k}.1.weight"), c);
                    }
                }
                b.deconv(&format!("{p}.lastconv"), c, v.lastconv_channels);
            }
            BlockStyle::ResConv { groups } => {
                b.conv(&format!("{p}.conv0.0.0"), cin, c / 2, 3);
                b.conv(&format!("{p}.conv0.1.0"), c / 2, c, 3);
                for k in 0..8 {
                    let bound = 1.0 / ((c / groups * 9) as f32).sqrt();
                    b.tensor(
                        &format!("{p}.convblock.{k}.conv.weight"),
                        &[c, c / groups, 3, 3],
                        bound,
                    );
                    b.tensor(&format!("{p}.convblock.{k}.conv.bias"), &[c], bound);
                    let beta = WeightTensor::new(vec![1, c, 1, 1], vec![1.0; c]).unwrap();
                    b.sd.insert(format!("{p}.convblock.{k}.beta"), beta);
                }
                b.deconv(&format!("{p}.lastconv.0"), c, v.lastconv_channels);
            }
        }
    }
    b.sd
}

fn input(seed: u64) -> Tensor {
    let mut rng = Rng(seed);
    let data = (0..128 * 128 * 3).map(|_| rng.next() * 0.5 + 0.5).collect();
    Tensor::from_vec([1, 128, 128, 3], data)
}

#[test]
fn every_layout_is_recognised_and_runs() {
    let (img0, img1) = (input(11), input(12));
    for (i, v) in VARIANTS.iter().enumerate() {
        let sd = state_dict(v, 1000 + i as u64);
        let model = model_from_state_dict(&sd).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let Architecture::IfNet(config) = &model.info.architecture else {
            panic!("{}: not an IFNet", v.name);
        };
        assert_eq!(config.version, v.name);
        assert_eq!(config.block_channels, v.block_channels);
        assert_eq!(config.encoder_channels, v.encoder_channels);
        assert!(!config.refinement);
        let upframe_models::Network::Interpolator(net) = &model.network else {
            panic!("{}: not an interpolator", v.name);
        };
        assert_eq!(net.scale_list(1.0), v.scale_list, "{}", v.name);
        assert_eq!(net.padding_multiple(1.0), 128, "{}", v.name);
        let mut ws = Workspace::new();
        for ensemble in [false, true] {
            let options = IfNetOptions {
                ensemble,
                refine: false,
            };
            let result = net.forward_with(&img0, &img1, 0.25, 1.0, options, &mut ws);
            if ensemble && !v.ensemble {
                let err = result
                    .expect_err("ensemble on a feature-passing layout")
                    .to_string();
                assert!(
                    err.contains("no ensemble mode") && !err.contains('\n'),
                    "{err}"
                );
                continue;
            }
            let r = result.unwrap_or_else(|e| panic!("{} ensemble {ensemble}: {e}", v.name));
            assert_eq!(r.frame.shape(), [1, 128, 128, 3]);
            assert_eq!(r.flow.shape(), [1, 128, 128, 4]);
            for t in [&r.frame, &r.flow, &r.mask] {
                assert!(t.data().iter().all(|x| x.is_finite()), "{}", v.name);
            }
        }
        let err = net
            .forward_with(
                &img0,
                &img1,
                0.5,
                1.0,
                IfNetOptions {
                    ensemble: false,
                    refine: true,
                },
                &mut ws,
            )
            .expect_err("no refinement net")
            .to_string();
        assert!(err.contains("no refinement net"), "{err}");
    }
}

/// The file name plays no part: a v4.6 state dict saved as `rife-v4.26/flownet.pkl` is v4.6,
/// and its `module.`-prefixed keys (DDP checkpoints) read the same.
#[test]
fn layout_comes_from_the_weights_not_the_file_name() {
    let v46 = VARIANTS.iter().find(|v| v.name == "v4.6").unwrap();
    let sd = state_dict(v46, 7);
    let entries: Vec<Entry> = sd
        .iter()
        .map(|(k, t)| Entry::f32(&format!("module.{k}"), &t.shape, t.data.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rife-v4.26")).unwrap();
    let path = dir.path().join("rife-v4.26/flownet.pkl");
    std::fs::write(&path, pth_bytes(&entries, None)).unwrap();
    let model = load_model(&path).unwrap();
    let Architecture::IfNet(config) = &model.info.architecture else {
        panic!("not an IFNet");
    };
    assert_eq!(config.version, "v4.6");
}

/// A structure the table does not have (here v4.25's blocks with one width changed, or without
/// its encoder) is refused in one line that says what was found and what is known.
#[test]
fn unknown_layouts_are_one_line_errors_saying_what_was_found() {
    let v425 = VARIANTS.iter().find(|v| v.name == "v4.25/v4.26").unwrap();
    let mut sd = state_dict(v425, 3);
    let w = sd.remove("block4.conv0.1.0.weight").unwrap();
    let mut shape = w.shape.clone();
    shape[0] = 40;
    let n: usize = shape.iter().product();
    sd.insert(
        "block4.conv0.1.0.weight",
        WeightTensor::new(shape, vec![0.0; n]).unwrap(),
    );
    let err = model_from_state_dict(&sd).unwrap_err();
    assert!(matches!(err, ModelError::UnknownArchitecture(_)), "{err:?}");
    let text = err.to_string();
    println!("{text}");
    assert!(!text.contains('\n'));
    for words in [
        "IFNet layout not recognised",
        "5 blocks of width 192/128/96/64/40",
        "Head encoder (4 channels)",
        "8 feature channels",
        "recognised layouts: v4.0/v4.1",
    ] {
        assert!(text.contains(words), "{words:?} missing from {text}");
    }

    let mut headless = state_dict(v425, 4);
    for k in ["cnn0", "cnn1", "cnn2", "cnn3"] {
        headless.remove(&format!("encode.{k}.weight"));
        headless.remove(&format!("encode.{k}.bias"));
    }
    let text = model_from_state_dict(&headless).unwrap_err().to_string();
    assert!(text.contains("IFNet layout not recognised"), "{text}");
}
