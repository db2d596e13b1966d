//! The RIFE processor on the GPU backend (lavapipe in CI) against the same processor on the
//! CPU, on a 64×48 crop of the Vimeo-90K eggs triplet (padded to 128×128 as Practical-RIFE
//! does): f32 and f16 within one 8-bit level, and a GPU memory failure running the pair on the
//! CPU and saying so. Skips with a printed reason without an adapter, fails under `CI`.

mod common;

use upframe_media::{read_image, Frame};
use upframe_pipeline::processors::gpu::{list_adapters, Device};
use upframe_pipeline::processors::rife::RifeInterpolator;
use upframe_pipeline::FrameInterpolator;

fn gpu_present() -> bool {
    if list_adapters().is_empty() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but no GPU adapter was found (scripts/setup.sh installs lavapipe)");
        }
        eprintln!("SKIP: no GPU adapter (install mesa-vulkan-drivers for Mesa's lavapipe)");
        return false;
    }
    true
}

/// `w`×`h` of a frame from (`x0`, `y0`).
fn crop(f: &Frame, x0: usize, y0: usize, w: usize, h: usize) -> Frame {
    let mut out = Frame::new(w, h, f.channels, f.depth);
    let c = f.channels;
    for y in 0..h {
        out.data[y * w * c..(y + 1) * w * c]
            .copy_from_slice(&f.data[((y0 + y) * f.width + x0) * c..][..w * c]);
    }
    out
}

fn max_level_diff(a: &Frame, b: &Frame) -> i64 {
    assert_eq!(
        (a.width, a.height, a.channels),
        (b.width, b.height, b.channels)
    );
    a.data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| ((x * 255.0).round() as i64 - (y * 255.0).round() as i64).abs())
        .max()
        .unwrap_or(0)
}

fn eggs() -> Option<(std::path::PathBuf, Frame, Frame)> {
    let model = common::asset("models/rife-v4.25-or-v4.26/flownet.pkl")?;
    let dir = common::asset("media/interp/vimeo90k_triplet_eggs")?;
    let im1 = read_image(&dir.join("im1.png")).unwrap();
    let im3 = read_image(&dir.join("im3.png")).unwrap();
    Some((
        model,
        crop(&im1, 160, 100, 64, 48),
        crop(&im3, 160, 100, 64, 48),
    ))
}

#[test]
fn rife_on_the_gpu_matches_the_cpu_within_one_level() {
    if !gpu_present() {
        return;
    }
    let Some((model, a, b)) = eggs() else { return };
    let mut cpu_rife = RifeInterpolator::load(&model, 1.0).unwrap();
    let start = std::time::Instant::now();
    let cpu = cpu_rife.interpolate(&a, &b, 0.5).unwrap();
    println!(
        "cpu 64x48 (128x128 padded): {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    for f16 in [false, true] {
        let mut rife = RifeInterpolator::load(&model, 1.0).unwrap();
        let choice = rife.use_device(Device::Gpu(None), f16).unwrap();
        println!("{choice:?}");
        assert!(choice.device.starts_with("gpu:"), "{choice:?}");
        assert!(rife.device_choice().is_some());
        assert!(
            rife.job_key().iter().any(|(k, _)| k == "device"),
            "the device is in the resume key"
        );
        let _ = rife.interpolate(&a, &b, 0.5).unwrap();
        let start = std::time::Instant::now();
        let gpu = rife.interpolate(&a, &b, 0.5).unwrap();
        println!(
            "{} 64x48 (128x128 padded): {:.0} ms",
            choice.precision,
            start.elapsed().as_secs_f64() * 1e3
        );
        assert!(gpu.data.iter().all(|v| v.is_finite()));
        let max = max_level_diff(&cpu, &gpu);
        println!("{}: max diff {max} level(s)", choice.precision);
        assert!(
            max <= 1,
            "{}: GPU differs by {max} levels",
            choice.precision
        );
        assert!(rife.take_notes().is_empty());
    }
}

/// The first large allocation fails (test hook): that pair runs on the CPU, with a note, and
/// the next pair runs on the GPU again.
#[test]
fn a_gpu_memory_failure_runs_the_pair_on_the_cpu_and_says_so() {
    if !gpu_present() {
        return;
    }
    let Some((model, a, b)) = eggs() else { return };
    let cpu = RifeInterpolator::load(&model, 1.0)
        .unwrap()
        .interpolate(&a, &b, 0.5)
        .unwrap();
    let mut rife = RifeInterpolator::load(&model, 1.0).unwrap();
    rife.use_device(Device::Gpu(None), false).unwrap();
    // The 128×128 padded pair's 3-channel inputs take 192 KiB.
    rife.fail_next_gpu_allocation_at_least(128 * 128 * 3 * 4);
    let first = rife.interpolate(&a, &b, 0.5).unwrap();
    let notes = rife.take_notes();
    println!("{notes:?}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("out of memory") && notes[0].contains("ran on the CPU"),
        "{}",
        notes[0]
    );
    assert_eq!(max_level_diff(&cpu, &first), 0);
    let second = rife.interpolate(&a, &b, 0.5).unwrap();
    assert!(rife.take_notes().is_empty());
    assert!(max_level_diff(&cpu, &second) <= 1);
}

/// Streaming (pair N's IFNet runs on the GPU while pair N-1's frame is read back and
/// finished) gives the frames `interpolate` gives, in order; one pair is held in flight. The
/// last pair has another size with the same padded size, and is gray with alpha.
#[test]
fn streamed_pairs_equal_pairs_interpolated_one_by_one() {
    if !gpu_present() {
        return;
    }
    let Some((model, a, b)) = eggs() else { return };
    let (small_a, small_b) = (crop(&a, 4, 4, 40, 30), crop(&b, 4, 4, 40, 30));
    let gray_alpha = |f: &Frame| {
        let mut g = Frame::new(f.width, f.height, 2, f.depth);
        for (o, p) in g.data.chunks_exact_mut(2).zip(f.data.chunks_exact(3)) {
            o[0] = p[1];
            o[1] = p[0];
        }
        g
    };
    let pairs = [
        (a.clone(), b.clone(), 0.5),
        (b.clone(), a.clone(), 0.25),
        (gray_alpha(&small_a), gray_alpha(&small_b), 0.75),
    ];
    let mut one_by_one = RifeInterpolator::load(&model, 1.0).unwrap();
    one_by_one.use_device(Device::Gpu(None), false).unwrap();
    let expected: Vec<Frame> = pairs
        .iter()
        .map(|(x, y, t)| one_by_one.interpolate(x, y, *t).unwrap())
        .collect();
    let mut streaming = RifeInterpolator::load(&model, 1.0).unwrap();
    streaming.use_device(Device::Gpu(None), false).unwrap();
    let mut got = Vec::new();
    for (i, (x, y, t)) in pairs.iter().enumerate() {
        let out = streaming.submit(x, y, *t).unwrap();
        assert_eq!(out.is_none(), i == 0, "pair {i}: one pair stays in flight");
        got.extend(out);
    }
    while let Some(f) = streaming.drain().unwrap() {
        got.push(f);
    }
    assert_eq!(got.len(), pairs.len());
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(
            (g.width, g.height, g.channels),
            (e.width, e.height, e.channels)
        );
        assert!(g.data == e.data, "pair {i} differs when streamed");
    }
}

/// An allocation failure with a pair in flight: the failing pair runs on the CPU (noted), and
/// the pair in flight, whose read-back the failure discarded, runs again; both equal the CPU.
#[test]
fn a_failure_with_a_pair_in_flight_runs_both_pairs_again() {
    if !gpu_present() {
        return;
    }
    let Some((model, a, b)) = eggs() else { return };
    let (small_a, small_b) = (crop(&a, 0, 0, 32, 32), crop(&b, 0, 0, 32, 32));
    let mut cpu_rife = RifeInterpolator::load(&model, 1.0).unwrap();
    let cpu_small = cpu_rife.interpolate(&small_a, &small_b, 0.5).unwrap();
    let cpu_large = cpu_rife.interpolate(&a, &b, 0.5).unwrap();
    let mut rife = RifeInterpolator::load(&model, 1.0).unwrap();
    rife.use_device(Device::Gpu(None), false).unwrap();
    assert!(rife.submit(&small_a, &small_b, 0.5).unwrap().is_none());
    // Both pairs pad to 128×128, so the large one reuses the small one's pooled buffers; its
    // only new buffer is a second read-back buffer (the first is the small pair's, in
    // flight): that allocation fails.
    rife.fail_next_gpu_allocation_at_least(1);
    let first = rife
        .submit(&a, &b, 0.5)
        .unwrap()
        .expect("the small pair comes out");
    let second = rife.drain().unwrap().expect("then the large one");
    let notes = rife.take_notes();
    println!("{notes:?}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("ran on the CPU"), "{}", notes[0]);
    assert!(max_level_diff(&cpu_small, &first) <= 1);
    assert_eq!(
        max_level_diff(&cpu_large, &second),
        0,
        "the large pair ran on the CPU"
    );
}
