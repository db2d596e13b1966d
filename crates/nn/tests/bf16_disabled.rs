//! With the bf16 detection forced off (as on a CPU without AMX or AVX-512 BF16): detection
//! reports none with a reason, bf16 layers run the portable emulation and still match the bf16
//! reference, and fp32 layers are untouched. Its own test binary, because the switch is
//! process-wide.

use upframe_nn::bf16conv::Bf16Kernel;
use upframe_nn::{reference, Bf16Support, Conv2d, Epilogue, Precision, Tensor};

fn ramp(shape: [usize; 4], salt: usize) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..len)
            .map(|i| (((i * 31 + salt * 7) % 23) as f32 - 11.0) / 13.0)
            .collect(),
    )
}

#[test]
fn disabled_detection_runs_the_emulation_and_fp32_unchanged() {
    let x = ramp([1, 9, 21, 48], 1);
    let w = ramp([40, 48, 3, 3], 2).into_vec();
    let b = ramp([1, 1, 1, 40], 3).into_vec();
    let fp32 = Conv2d::new(&w, [40, 48, 3, 3], Some(&b), 1, 1).unwrap();
    let before = fp32.forward(&x, &Epilogue::none());

    upframe_nn::disable_bf16_kernels_for_testing(true);
    let cap = upframe_nn::bf16_support();
    assert_eq!(cap.support, Bf16Support::None);
    assert!(cap.reason.contains("disabled"), "{}", cap.reason);
    assert_eq!(Bf16Kernel::detect(), Bf16Kernel::Emulated);

    assert_eq!(fp32.forward(&x, &Epilogue::none()), before);
    let bf16 = fp32.clone().with_precision(Precision::Bf16);
    let got = bf16.forward(&x, &Epilogue::none());
    let want = reference::conv2d_bf16_ref(&x, &w, [40, 48, 3, 3], Some(&b), 1, 1);
    let worst = got
        .data()
        .iter()
        .zip(want.data())
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "emulated bf16 vs reference: {worst}");
    upframe_nn::disable_bf16_kernels_for_testing(false);
}
