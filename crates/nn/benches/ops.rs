//! Criterion benchmarks of the general (non-Winograd) kernels at the sizes the models use.
//! Throughput is reported in FLOP (2 per multiply-add) for convolutions, in elements otherwise.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use upframe_nn::{ops, Activation, Conv2d, ConvTranspose2d, Epilogue, Tensor};

fn filled(shape: [usize; 4], seed: u32) -> Tensor {
    let len = shape.iter().product();
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    let data = (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        })
        .collect();
    Tensor::from_vec(shape, data)
}

fn conv_case(
    c: &mut Criterion,
    name: &str,
    input: [usize; 4],
    cout: usize,
    k: usize,
    stride: usize,
) {
    let cin = input[3];
    let w = filled([cout, cin, k, k], 1).into_vec();
    let b = vec![0.01; cout];
    let conv = Conv2d::new(&w, [cout, cin, k, k], Some(&b), stride, k / 2).unwrap();
    let x = filled(input, 2);
    let mut out = Tensor::zeros(conv.output_shape(input));
    let [n, oh, ow, _] = out.shape();
    let flops = 2 * n * oh * ow * cout * cin * k * k;
    let ep = Epilogue::leaky_relu(0.2);
    let mut g = c.benchmark_group("conv2d_gemm");
    g.throughput(Throughput::Elements(flops as u64));
    g.sample_size(10);
    g.bench_function(name, |bench| {
        bench.iter(|| conv.forward_gemm(&x, &ep, &mut out));
    });
    g.finish();
}

fn convs(c: &mut Criterion) {
    conv_case(c, "64to64_k3s1_270x480", [1, 270, 480, 64], 64, 3, 1);
    conv_case(c, "3to64_k3s1_270x480", [1, 270, 480, 3], 64, 3, 1);
    conv_case(c, "192to192_k3s1_34x60", [1, 34, 60, 192], 192, 3, 1);
    conv_case(c, "23to96_k3s2_544x960", [1, 544, 960, 23], 96, 3, 2);
    conv_case(c, "96to192_k3s2_272x480", [1, 272, 480, 96], 192, 3, 2);
    conv_case(c, "64to3_k3s1_540x960", [1, 540, 960, 64], 3, 3, 1);
    conv_case(c, "3to16_k3s2_1088x1920", [1, 1088, 1920, 3], 16, 3, 2);
}

fn conv_transposes(c: &mut Criterion) {
    let mut g = c.benchmark_group("conv_transpose2d");
    g.sample_size(10);
    for (name, input, cout) in [
        ("192to52_17x30", [1, 17, 30, 192], 52),
        ("64to52_136x240", [1, 136, 240, 64], 52),
        ("16to4_544x960", [1, 544, 960, 16], 4),
    ] {
        let cin = input[3];
        let w = filled([cin, cout, 4, 4], 3).into_vec();
        let conv = ConvTranspose2d::new(&w, [cin, cout, 4, 4], None, 2, 1).unwrap();
        let x = filled(input, 4);
        let mut out = Tensor::zeros(conv.output_shape(input));
        // Each input pixel contributes to 4×4 outputs per (cin, cout) pair.
        let flops = 2 * input[1] * input[2] * cin * cout * 16;
        g.throughput(Throughput::Elements(flops as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| conv.forward_into(&x, &Epilogue::none(), &mut out));
        });
    }
    g.finish();
}

fn resampling(c: &mut Criterion) {
    let mut g = c.benchmark_group("resample");
    g.sample_size(10);
    let img = filled([1, 1088, 1920, 3], 5);
    let flow = filled([1, 1088, 1920, 4], 6);
    let mut out = Tensor::zeros(img.shape());
    g.throughput(Throughput::Elements(img.len() as u64));
    g.bench_function("warp_1088x1920x3", |bench| {
        bench.iter(|| ops::warp_into(&img, &flow, 2, &mut out));
    });
    let feat = filled([1, 1088, 1920, 8], 7);
    let mut out8 = Tensor::zeros(feat.shape());
    g.throughput(Throughput::Elements(feat.len() as u64));
    g.bench_function("warp_1088x1920x8", |bench| {
        bench.iter(|| ops::warp_into(&feat, &flow, 0, &mut out8));
    });
    let mut small = Tensor::zeros([1, 68, 120, 3]);
    g.throughput(Throughput::Elements(small.len() as u64));
    g.bench_function("bilinear_down16_1088x1920x3", |bench| {
        bench.iter(|| ops::resize_bilinear_into(&img, Some(1.0 / 16.0), &mut small));
    });
    let tmp = filled([1, 68, 120, 13], 8);
    let mut up = Tensor::zeros([1, 1088, 1920, 13]);
    g.throughput(Throughput::Elements(up.len() as u64));
    g.bench_function("bilinear_up16_68x120x13", |bench| {
        bench.iter(|| ops::resize_bilinear_into(&tmp, Some(16.0), &mut up));
    });
    let mut act = filled([1, 270, 480, 64], 9);
    g.throughput(Throughput::Elements(act.len() as u64));
    g.bench_function("sigmoid_270x480x64", |bench| {
        bench.iter(|| ops::activate_inplace(&mut act, Activation::Sigmoid));
    });
    g.finish();
}

criterion_group!(benches, convs, conv_transposes, resampling);
criterion_main!(benches);
