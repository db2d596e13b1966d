//! The GPU backend against the CPU engine, on whatever adapter `--device gpu` would pick (in CI:
//! Mesa's lavapipe, a software Vulkan driver running at about 1 GFLOP/s, hence the small
//! shapes). Without an adapter these tests skip with a printed reason, and fail when `CI` is set.

mod common;

use common::{asset, context, max_diff, nhwc, psnr_8bit, Lcg};

use upframe_gpu::{GpuBackend, GpuError, Precision};
use upframe_models::{load_model, load_safetensors, Upscaler};
use upframe_nn::{ops, Activation, Backend, Conv2d, Cpu, Fused, Tensor, Workspace};

/// `x` through `net` on the GPU, read back.
fn gpu_forward(b: &mut GpuBackend, net: &Upscaler, x: &Tensor) -> Result<Tensor, GpuError> {
    let xg = b.upload(x);
    let yg = net.forward_on(&xg, b).expect("valid input");
    b.recycle(xg);
    let out = b.download(&yg);
    b.recycle(yg);
    out
}

/// The top-left `h`×`w` of `x`.
fn crop(x: &Tensor, h: usize, w: usize) -> Tensor {
    ops::crop(x, 0, 0, h, w)
}

#[test]
fn every_op_matches_the_cpu_on_random_shapes() {
    let Some(ctx) = context(false) else { return };
    let mut gpu = GpuBackend::new(ctx);
    let mut ws = Workspace::new();
    let mut rng = Lcg(7);
    // (cin, cout, k, stride, pad, h, w): 3×3 like the nets, odd channel counts (padding of
    // the output-channel groups), strided and 1×1 / 4×4 kernels. `conv` computes blocks of
    // 4 output pixels along x × 8 output channels: output widths of every remainder mod 4
    // (7, 4, 9, 6, 10 wide), partial channel blocks (cout 3, 5, 6, 9, 12: odd and even vec4
    // group counts), several blocks per row with stride 2, and cin = 3 like the nets' input.
    let convs = [
        (3, 8, 3, 1, 1, 5, 7),
        (5, 3, 3, 1, 1, 6, 4),
        (4, 6, 1, 1, 0, 3, 9),
        (6, 5, 4, 2, 1, 8, 6),
        (7, 9, 3, 2, 1, 7, 5),
        (3, 12, 3, 2, 1, 5, 11),
        (16, 16, 3, 1, 1, 3, 10),
    ];
    for (i, &(cin, cout, k, stride, pad, h, w)) in convs.iter().enumerate() {
        let weight = rng.vec(cout * cin * k * k);
        let bias = rng.vec(cout);
        let conv = Conv2d::new(&weight, [cout, cin, k, k], Some(&bias), stride, pad).unwrap();
        let x = rng.tensor([2, h, w, cin], 1.0);
        let oshape = conv.output_shape(x.shape());
        let res = rng.tensor(oshape, 1.0);
        let post = rng.tensor(oshape, 1.0);
        let scale = rng.vec(cout);
        let slopes = rng.vec(cout);
        let acts = [
            Activation::None,
            Activation::Relu,
            Activation::LeakyRelu(0.2),
            Activation::PRelu(&slopes),
            Activation::PRelu(&slopes[..1]),
            Activation::Sigmoid,
        ];
        let xg = gpu.upload(&x);
        let resg = gpu.upload(&res);
        let postg = gpu.upload(&post);
        for (j, act) in acts.iter().enumerate() {
            let mut cpu_ep = Fused::<Tensor>::act(*act);
            let mut gpu_ep = Fused::act(*act);
            if j % 2 == 1 {
                cpu_ep = cpu_ep.with_residual(&res);
                gpu_ep = gpu_ep.with_residual(&resg);
            }
            if j % 3 == 1 {
                cpu_ep = cpu_ep.with_channel_scale(&scale);
                gpu_ep = gpu_ep.with_channel_scale(&scale);
            }
            if j % 3 == 2 {
                cpu_ep = cpu_ep.with_post(0.2, &post);
                gpu_ep = gpu_ep.with_post(0.2, &postg);
            }
            let want = Cpu::new(&mut ws).conv2d(&conv, &x, &cpu_ep);
            let got_g = gpu.conv2d(&conv, &xg, &gpu_ep);
            let got = gpu.download(&got_g).unwrap();
            gpu.recycle(got_g);
            let d = max_diff(&want, &got);
            assert!(d <= 1e-4, "conv {i} activation {j}: max |Δ| {d:e}");
        }
    }

    let x = rng.tensor([1, 6, 4, 8], 1.0);
    let y = rng.tensor([1, 6, 4, 3], 1.0);
    let xg = gpu.upload(&x);
    let yg = gpu.upload(&y);
    let mut cpu = Cpu::new(&mut ws);
    let cases: Vec<(&str, Tensor, GpuTensorOp)> = vec![
        (
            "repeat_channels",
            cpu.repeat_channels(&x, 4),
            GpuTensorOp::Repeat(4),
        ),
        (
            "pixel_shuffle",
            cpu.pixel_shuffle(&x, 2),
            GpuTensorOp::Shuffle(2),
        ),
        (
            "pixel_unshuffle",
            cpu.pixel_unshuffle(&x, 2),
            GpuTensorOp::Unshuffle(2),
        ),
        (
            "upsample_nearest",
            cpu.upsample_nearest(&x, 3),
            GpuTensorOp::Upsample(3),
        ),
        (
            "concat_channels",
            cpu.concat_channels(&[&x, &y, &x]),
            GpuTensorOp::Concat,
        ),
        ("copy", cpu.copy(&x), GpuTensorOp::Copy),
    ];
    for (name, want, op) in cases {
        let got_g = match op {
            GpuTensorOp::Repeat(r) => gpu.repeat_channels(&xg, r),
            GpuTensorOp::Shuffle(r) => gpu.pixel_shuffle(&xg, r),
            GpuTensorOp::Unshuffle(r) => gpu.pixel_unshuffle(&xg, r),
            GpuTensorOp::Upsample(r) => gpu.upsample_nearest(&xg, r),
            GpuTensorOp::Concat => gpu.concat_channels(&[&xg, &yg, &xg]),
            GpuTensorOp::Copy => gpu.copy(&xg),
        };
        let got = gpu.download(&got_g).unwrap();
        assert_eq!(max_diff(&want, &got), 0.0, "{name}");
    }
    let mut a = x.clone();
    ops::scale_add_inplace(&mut a, 0.2, &x);
    let mut ag = gpu.copy(&xg);
    gpu.scale_add_inplace(&mut ag, 0.2, &xg);
    let d = max_diff(&a, &gpu.download(&ag).unwrap());
    assert!(d <= 1e-6, "scale_add: {d:e}");
}

enum GpuTensorOp {
    Repeat(usize),
    Shuffle(usize),
    Unshuffle(usize),
    Upsample(usize),
    Concat,
    Copy,
}

/// SRVGGNetCompact (realesr-animevideov3) on the 37×53 golden: f32 on the GPU equals the CPU
/// engine within 1e-4 and the PyTorch golden within the CPU's own 1e-3.
#[test]
fn srvgg_f32_matches_the_cpu_engine_and_the_golden() {
    let Some(ctx) = context(false) else { return };
    let (Some(golden), Some(weights)) = (
        asset("goldens/realesr-animevideov3_37x53.safetensors"),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    let golden = load_safetensors(&golden).unwrap();
    let net = load_model(&weights).unwrap().into_upscaler().unwrap();
    let x = nhwc(golden.tensors.get("input").unwrap());
    let expected = nhwc(golden.tensors.get("output").unwrap());
    let cpu = net.forward(&x, &mut Workspace::new()).unwrap();
    let mut gpu = GpuBackend::new(ctx);
    let t = std::time::Instant::now();
    let out = gpu_forward(&mut gpu, &net, &x).unwrap();
    println!("gpu forward {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let d_cpu = max_diff(&cpu, &out);
    let d_golden = max_diff(&expected, &out);
    println!("max |Δ| vs CPU {d_cpu:.3e}, vs golden {d_golden:.3e}");
    assert!(d_cpu <= 1e-4, "vs CPU: {d_cpu:e}");
    assert!(d_golden <= 1e-3, "vs golden: {d_golden:e}");

    // A second frame of the same size reuses every buffer.
    let allocated = gpu.allocations();
    let again = gpu_forward(&mut gpu, &net, &x).unwrap();
    assert_eq!(gpu.allocations(), allocated, "steady state allocated");
    assert_eq!(max_diff(&out, &again), 0.0);
}

/// f16 storage (f32 sums) against f32: ≥ 50 dB PSNR (8-bit) on a real crop, on a saturated and
/// on a dark frame, with no NaN and no black output.
#[test]
fn srvgg_f16_stays_within_50_db_of_f32_on_real_saturated_and_dark_frames() {
    let Some(ctx16) = context(true) else { return };
    if ctx16.precision() != Precision::F16 {
        eprintln!("SKIP: adapter {} has no shader-f16", ctx16.adapter().name);
        return;
    }
    let Some(ctx32) = context(false) else { return };
    let (Some(golden), Some(weights)) = (
        asset("goldens/realesr-animevideov3_37x53.safetensors"),
        asset("models/realesr-animevideov3.pth"),
    ) else {
        return;
    };
    let golden = load_safetensors(&golden).unwrap();
    let net = load_model(&weights).unwrap().into_upscaler().unwrap();
    let photo = crop(&nhwc(golden.tensors.get("input").unwrap()), 24, 32);
    let white = Tensor::from_vec([1, 16, 16, 3], vec![1.0; 16 * 16 * 3]);
    let black = Tensor::from_vec([1, 16, 16, 3], vec![0.0; 16 * 16 * 3]);
    let mut g16 = GpuBackend::new(ctx16);
    let mut g32 = GpuBackend::new(ctx32);
    for (name, x) in [("photo", &photo), ("saturated", &white), ("dark", &black)] {
        let a = gpu_forward(&mut g16, &net, x).unwrap();
        let b = gpu_forward(&mut g32, &net, x).unwrap();
        assert!(
            a.data().iter().all(|v| v.is_finite()),
            "{name}: NaN/inf in f16"
        );
        let psnr = psnr_8bit(&a, &b);
        let mean = a.data().iter().sum::<f32>() / a.len() as f32;
        println!("{name}: f16 vs f32 PSNR {psnr:.1} dB, f16 mean {mean:.3}");
        assert!(psnr >= 50.0, "{name}: {psnr:.1} dB");
        if name != "dark" {
            assert!(mean > 0.2, "{name}: f16 output is black (mean {mean})");
        }
    }
}

/// RRDBNet (x4plus anime 6B) on a 12×12 crop of its golden input: the GPU equals the CPU.
#[test]
fn rrdb_f32_matches_the_cpu_engine() {
    let Some(ctx) = context(false) else { return };
    let (Some(golden), Some(weights)) = (
        asset("goldens/RealESRGAN_x4plus_anime_6B_37x53.safetensors"),
        asset("models/derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth"),
    ) else {
        return;
    };
    let golden = load_safetensors(&golden).unwrap();
    let net = load_model(&weights).unwrap().into_upscaler().unwrap();
    let x = crop(&nhwc(golden.tensors.get("input").unwrap()), 12, 12);
    let cpu = net.forward(&x, &mut Workspace::new()).unwrap();
    let mut gpu = GpuBackend::new(ctx);
    let t = std::time::Instant::now();
    let out = gpu_forward(&mut gpu, &net, &x).unwrap();
    println!("gpu forward {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let d = max_diff(&cpu, &out);
    println!("max |Δ| vs CPU {d:.3e}");
    assert!(d <= 1e-4, "vs CPU: {d:e}");
}

/// The test hook fails the first large allocation: the error is an out-of-memory one (which
/// callers answer with a smaller tile), and the same backend then runs the frame correctly.
#[test]
fn a_failed_allocation_is_reported_and_the_backend_recovers() {
    let Some(ctx) = context(false) else { return };
    let Some(weights) = asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let net = load_model(&weights).unwrap().into_upscaler().unwrap();
    let x = Lcg(3).tensor([1, 8, 8, 3], 1.0).clone();
    let x = Tensor::from_vec(x.shape(), x.data().iter().map(|v| v.abs()).collect());
    let cpu = net.forward(&x, &mut Workspace::new()).unwrap();
    let mut gpu = GpuBackend::new(ctx.clone());
    // The 64-channel features of an 8×8 input are 16 KiB: fail the first such buffer.
    ctx.fail_next_allocation_at_least(8 * 8 * 64 * 4);
    let err = gpu_forward(&mut gpu, &net, &x).unwrap_err();
    assert!(err.is_memory(), "{err}");
    println!("reported: {err}");
    let out = gpu_forward(&mut gpu, &net, &x).unwrap();
    let d = max_diff(&cpu, &out);
    assert!(d <= 1e-4, "after recovery: {d:e}");
}

#[test]
fn a_tensor_past_the_adapter_binding_limit_is_an_out_of_memory_error() {
    let Some(ctx) = context(false) else { return };
    let mut gpu = GpuBackend::new(ctx.clone());
    let side = ((ctx.max_binding_bytes() / 4 / 64) as f64).sqrt() as usize + 2;
    let conv = Conv2d::new(&[0.5; 64 * 3], [64, 3, 1, 1], None, 1, 0).unwrap();
    let x = Tensor::zeros([1, 1, 1, 3]);
    let xg = gpu.upload(&x);
    let up = gpu.upsample_nearest(&xg, side);
    let y = gpu.conv2d(&conv, &up, &Fused::none());
    let err = gpu.download(&y).unwrap_err();
    assert!(err.is_memory(), "{err}");
}
