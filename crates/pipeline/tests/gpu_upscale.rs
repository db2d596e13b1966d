//! The Real-ESRGAN processor on the GPU backend (lavapipe in CI) against the same processor on
//! the CPU, on a crop of a real photo: f32 and f16, the smaller-tile retry after a failed
//! allocation, and the device choice. Skips with a printed reason without an adapter, fails
//! under `CI`.

mod common;

use upframe_media::{read_image, Frame};
use upframe_pipeline::processors::gpu::{list_adapters, Device};
use upframe_pipeline::processors::realesrgan::{RealEsrganOptions, RealEsrganUpscaler};
use upframe_pipeline::FrameProcessor;

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

/// The top-left `w`×`h` of a frame.
fn crop(f: &Frame, w: usize, h: usize) -> Frame {
    crop_at(f, 0, 0, w, h)
}

/// The `w`×`h` of a frame from `(x0, y0)`.
fn crop_at(f: &Frame, x0: usize, y0: usize, w: usize, h: usize) -> Frame {
    let mut out = Frame::new(w, h, f.channels, f.depth);
    let c = f.channels;
    for y in 0..h {
        out.data[y * w * c..(y + 1) * w * c]
            .copy_from_slice(&f.data[((y0 + y) * f.width + x0) * c..][..w * c]);
    }
    out
}

/// `frames` through `submit` and then `drain`, as the job runner streams them.
fn stream(up: &mut RealEsrganUpscaler, frames: &[Frame]) -> Vec<Frame> {
    let mut out = Vec::new();
    for f in frames {
        out.extend(up.submit(f.clone()).unwrap());
    }
    while let Some(f) = up.drain().unwrap() {
        out.push(f);
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

/// realesr-animevideov3 and the Set14 photo `name`, when an adapter and both assets are there
/// (`None` after printing why, or a panic under `CI`: see [`gpu_present`]).
fn gpu_model_and_photo(name: &str) -> Option<(std::path::PathBuf, Frame)> {
    if !gpu_present() {
        return None;
    }
    let model = common::asset("models/realesr-animevideov3.pth")?;
    let photo = common::asset(&format!("media/sr/Set14/{name}.png"))?;
    Some((model, read_image(&photo).unwrap()))
}

fn options(tile: usize) -> RealEsrganOptions {
    RealEsrganOptions {
        tile,
        memory_budget: Some(usize::MAX),
        ..RealEsrganOptions::default()
    }
}

#[test]
fn the_processor_on_the_gpu_matches_the_cpu_within_one_level() {
    let Some((model, img)) = gpu_model_and_photo("comic") else {
        return;
    };
    let img = crop(&img, 40, 32);
    let cpu = RealEsrganUpscaler::from_file(&model, options(0))
        .unwrap()
        .process(img.clone())
        .unwrap();
    for f16 in [false, true] {
        let mut up = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
        let choice = up.use_device(Device::Gpu(None), f16).unwrap();
        println!("{choice:?}");
        assert!(choice.device.starts_with("gpu:"), "{choice:?}");
        let t = std::time::Instant::now();
        let gpu = up.process(img.clone()).unwrap();
        println!(
            "{} {}x{}: {:.0} ms",
            choice.precision,
            img.width,
            img.height,
            t.elapsed().as_secs_f64() * 1e3
        );
        let max = max_level_diff(&cpu, &gpu);
        println!("{}: max diff {max} level(s)", choice.precision);
        assert!(
            max <= 1,
            "{}: GPU differs by {max} levels",
            choice.precision
        );
    }
}

/// The first large allocation fails (test hook): the processor retries the frame with half
/// the tile, says so, and produces what the CPU produces with that tile.
#[test]
fn an_allocation_failure_retries_with_a_smaller_tile_and_says_so() {
    let Some((model, img)) = gpu_model_and_photo("zebra") else {
        return;
    };
    let img = crop(&img, 64, 40);
    let mut up = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
    up.use_device(Device::Gpu(None), false).unwrap();
    // A whole 64×40 frame's 64-channel features take 640 KiB; a 32-px tile's far less.
    up.fail_next_gpu_allocation_at_least(64 * 40 * 64 * 4);
    let gpu = up.process(img.clone()).unwrap();
    let notes = up.take_notes();
    println!("{notes:?}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("out of memory") && notes[0].contains("GPU tile 32"),
        "{}",
        notes[0]
    );
    let cpu = RealEsrganUpscaler::from_file(&model, options(32))
        .unwrap()
        .process(img)
        .unwrap();
    let max = max_level_diff(&cpu, &gpu);
    assert!(
        max <= 1,
        "retried GPU output differs from CPU tile 32 by {max} levels"
    );
}

#[test]
fn device_choices_parse_and_cpu_needs_no_adapter() {
    assert_eq!("auto".parse::<Device>(), Ok(Device::Auto));
    assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
    assert_eq!("gpu".parse::<Device>(), Ok(Device::Gpu(None)));
    assert_eq!("gpu:2".parse::<Device>(), Ok(Device::Gpu(Some(2))));
    assert!("gpu:x".parse::<Device>().is_err());
    assert!("cuda".parse::<Device>().is_err());
    assert_eq!(Device::Gpu(Some(1)).to_string(), "gpu:1");
    let Some(model) = common::asset("models/realesr-animevideov3.pth") else {
        return;
    };
    let mut up = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
    let choice = up.use_device(Device::Cpu, true).unwrap();
    assert_eq!(choice.device, "cpu");
    // `auto` never picks a software adapter: on a machine with only lavapipe it stays on the
    // CPU and says why.
    let only_software = list_adapters().iter().all(|a| a.is_software());
    let choice = up.use_device(Device::Auto, true).unwrap();
    if only_software {
        assert_eq!(choice.device, "cpu", "{choice:?}");
        assert!(choice.fallback.is_some(), "{choice:?}");
    } else {
        assert!(choice.device.starts_with("gpu:"), "{choice:?}");
    }
    let past_end = list_adapters().len() + 5;
    let err = up
        .use_device(Device::Gpu(Some(past_end)), false)
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

/// Streaming (frame N computes on the GPU while N-1 is read back and finished) gives the
/// frames `process` gives, in order, whatever their sizes; one frame is held in flight, and
/// frames of one size allocate no device memory once streaming.
#[test]
fn streamed_frames_equal_frames_processed_one_by_one() {
    let Some((model, img)) = gpu_model_and_photo("comic") else {
        return;
    };
    let mut frames: Vec<Frame> = [(0, 0), (40, 16), (80, 32)]
        .iter()
        .map(|&(x, y)| crop_at(&img, x, y, 32, 24))
        .collect();
    frames.push(crop_at(&img, 8, 8, 20, 16));
    for (i, f) in frames.iter_mut().enumerate() {
        f.index = i as u64;
    }
    for f16 in [false, true] {
        let mut one_by_one = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
        one_by_one.use_device(Device::Gpu(None), f16).unwrap();
        let expected: Vec<Frame> = frames
            .iter()
            .map(|f| one_by_one.process(f.clone()).unwrap())
            .collect();
        let mut streaming = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
        streaming.use_device(Device::Gpu(None), f16).unwrap();
        assert!(
            streaming.submit(frames[0].clone()).unwrap().is_none(),
            "the first frame stays in flight"
        );
        let mut got = vec![streaming.submit(frames[1].clone()).unwrap().unwrap()];
        // Two frames in flight have made every buffer a frame of this size needs (two
        // read-back buffers among them): the third allocates nothing.
        let buffers = streaming.gpu_buffers_created();
        got.extend(streaming.submit(frames[2].clone()).unwrap());
        assert_eq!(
            streaming.gpu_buffers_created(),
            buffers,
            "steady state allocated"
        );
        got.extend(stream(&mut streaming, &frames[3..]));
        assert_eq!(got.len(), frames.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!((g.index, g.width, g.height), (e.index, e.width, e.height));
            assert!(g.data == e.data, "frame {} differs when streamed", g.index);
        }
    }
}

/// An allocation failure while another frame is in flight: the failed frame runs again with
/// half the tile, and the frame in flight (whose read-back the failure discarded) runs again
/// too; both equal the CPU's output, in order.
#[test]
fn a_failure_with_a_frame_in_flight_runs_both_frames_again() {
    let Some((model, img)) = gpu_model_and_photo("comic") else {
        return;
    };
    let small = crop_at(&img, 10, 10, 32, 24);
    let large = crop(&img, 64, 40);
    let mut up = RealEsrganUpscaler::from_file(&model, options(0)).unwrap();
    up.use_device(Device::Gpu(None), false).unwrap();
    assert!(up.submit(small.clone()).unwrap().is_none());
    // The large frame needs new buffers; the first of its 64-channel features fails.
    up.fail_next_gpu_allocation_at_least(64 * 40 * 64 * 4);
    let first = up
        .submit(large.clone())
        .unwrap()
        .expect("the small frame comes out");
    let second = up.drain().unwrap().expect("then the large one");
    assert!(up.drain().unwrap().is_none());
    let notes = up.take_notes();
    println!("{notes:?}");
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("GPU tile 32"), "{}", notes[0]);
    let cpu_small = RealEsrganUpscaler::from_file(&model, options(0))
        .unwrap()
        .process(small)
        .unwrap();
    let cpu_large = RealEsrganUpscaler::from_file(&model, options(32))
        .unwrap()
        .process(large)
        .unwrap();
    for (name, gpu, cpu) in [
        ("small", &first, &cpu_small),
        ("large", &second, &cpu_large),
    ] {
        let max = max_level_diff(cpu, gpu);
        println!("{name}: max diff {max} level(s)");
        assert!(max <= 1, "{name}: GPU differs from the CPU by {max} levels");
    }
}

/// Tiles stream on the GPU too (tile k+1 computes while tile k is read back and stitched):
/// the output equals the CPU's with the same tiles.
#[test]
fn streamed_tiles_match_the_cpu_with_the_same_tiles() {
    let Some((model, img)) = gpu_model_and_photo("comic") else {
        return;
    };
    let img = crop_at(&img, 30, 20, 40, 32);
    let cpu = RealEsrganUpscaler::from_file(&model, options(16))
        .unwrap()
        .process(img.clone())
        .unwrap();
    let mut up = RealEsrganUpscaler::from_file(&model, options(16)).unwrap();
    up.use_device(Device::Gpu(None), false).unwrap();
    let gpu = up.process(img).unwrap();
    let max = max_level_diff(&cpu, &gpu);
    println!("6 tiles of 16: max diff {max} level(s)");
    assert!(
        max <= 1,
        "tiled GPU output differs from the CPU by {max} levels"
    );
}
