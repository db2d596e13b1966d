//! Loading the real checkpoints (torch 1.x and 2.x zip layouts, `params` / `params_ema` / bare
//! dicts, `cuda:0` storages) and synthetic ones covering dtypes, offsets, strides and prefixes.

mod common;

use common::{asset, pth_bytes, Dt, Entry};
use upframe_models::{load_pth, load_weights, parse_pth_bytes, write_safetensors, ModelError};

#[test]
fn animevideov3_torch1_layout_params() {
    let Some(path) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let sd = load_pth(&path).unwrap();
    assert_eq!(sd.len(), 53);
    assert_eq!(sd.parameter_count(), 621_424);
    assert_eq!(sd.shape("body.0.weight").unwrap(), &[64, 3, 3, 3]);
    assert_eq!(sd.shape("body.1.weight").unwrap(), &[64]);
    assert_eq!(sd.shape("body.34.weight").unwrap(), &[48, 64, 3, 3]);
    assert!(sd.iter().all(|(_, t)| t.data.iter().all(|v| v.is_finite())));
}

#[test]
fn flownet_torch2_layout_cuda_storages() {
    let Some(path) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let sd = load_pth(&path).unwrap();
    assert_eq!(sd.len(), 198);
    assert_eq!(sd.parameter_count(), 6_139_325);
    assert_eq!(
        sd.shape("block0.conv0.0.0.weight").unwrap(),
        &[96, 15, 3, 3]
    );
    assert_eq!(sd.shape("encode.cnn3.weight").unwrap(), &[16, 4, 4, 4]);
}

#[test]
fn rrdb_params_ema() {
    let Some(path) =
        asset("models/derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth")
    else {
        return;
    };
    let sd = load_pth(&path).unwrap();
    assert_eq!(sd.len(), 192);
    assert_eq!(sd.parameter_count(), 4_467_779);
    assert_eq!(
        sd.shape("body.5.rdb3.conv5.weight").unwrap(),
        &[64, 192, 3, 3]
    );
}

#[test]
fn dtypes_offsets_strides_and_module_prefix() {
    let values: Vec<f32> = (0..12).map(|v| v as f32 * 0.5 - 2.0).collect();
    let mut half = Entry::f32("module.a", &[2, 3], values[..6].to_vec());
    half.dt = Dt::F16;
    let mut bf = Entry::f32("module.module.b", &[4], vec![1.0, -2.0, 0.5, 3.0]);
    bf.dt = Dt::BF16;
    // A transposed view with an offset: storage is 12 values, tensor is (3,2) reading
    // storage[2 + i + 3j]... i.e. stride (1, 3).
    let mut strided = Entry::f32("c", &[3, 2], values.clone());
    strided.stride = vec![1, 3];
    strided.offset = 2;
    let mut with_offset = Entry::f32("d", &[2, 2], values.clone());
    with_offset.offset = 5;
    let bytes = pth_bytes(&[half, bf, strided, with_offset], Some("params_ema"));
    let sd = parse_pth_bytes(&bytes).unwrap();
    assert_eq!(sd.keys().collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert_eq!(sd.get("a").unwrap().data, values[..6]);
    assert_eq!(sd.get("b").unwrap().data, [1.0, -2.0, 0.5, 3.0]);
    let c = &sd.get("c").unwrap().data;
    assert_eq!(
        c,
        &[values[2], values[5], values[3], values[6], values[4], values[7]]
    );
    assert_eq!(sd.get("d").unwrap().data, values[5..9]);
}

#[test]
fn bare_dict_and_params_wrappers() {
    for wrapper in [None, Some("params")] {
        let bytes = pth_bytes(&[Entry::f32("w", &[2], vec![1.0, 2.0])], wrapper);
        let sd = parse_pth_bytes(&bytes).unwrap();
        assert_eq!(sd.get("w").unwrap().data, [1.0, 2.0]);
    }
}

#[test]
fn view_past_the_storage_is_an_error() {
    let mut e = Entry::f32("big", &[4, 4], vec![0.0; 10]);
    e.offset = 0;
    let err = parse_pth_bytes(&pth_bytes(&[e], None)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("big") && msg.contains("storage"), "{msg}");
}

#[test]
fn legacy_and_garbage_files_are_refused_clearly() {
    // Legacy torch.save: a bare pickle stream starting with the magic number.
    let legacy = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.";
    let err = parse_pth_bytes(legacy).unwrap_err();
    assert!(matches!(err, ModelError::LegacyTorchFormat), "{err}");
    assert!(err.to_string().contains("torch>=1.6"));
    let err = parse_pth_bytes(b"hello, not a model").unwrap_err();
    assert!(matches!(err, ModelError::UnknownFormat(_)), "{err}");
}

#[test]
fn safetensors_round_trip_and_content_detection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.bin");
    let t = upframe_models::WeightTensor::new(vec![2, 2], vec![1.0, -1.5, 2.25, 0.0]).unwrap();
    write_safetensors(&path, &[("x", &t)], None).unwrap();
    let sd = load_weights(&path).unwrap();
    assert_eq!(sd.get("x").unwrap(), &t);
    // And a .pth under a misleading name loads by content too.
    let pth = dir.path().join("w.safetensors");
    std::fs::write(&pth, pth_bytes(&[Entry::f32("y", &[1], vec![3.0])], None)).unwrap();
    assert_eq!(load_weights(&pth).unwrap().get("y").unwrap().data, [3.0]);
}
