//! The interpolation job end to end on real footage: Megamind (23.976 fps, AC-3 audio) around
//! the hard cut after frame 97, retimed to 60 fps. Checks the frame count, that every output
//! timestamp is on the exact 1/60 s grid, the duration, the copied audio, and that frames in
//! the cut interval are copies of the earlier shot, not blends of both shots.

mod common;

use upframe_media::{open_source, DecodeOptions, Frame};
use upframe_pipeline::jobs::interpolate::{run_interpolate_job, InterpolateJob};
use upframe_pipeline::jobs::timing::Rate;
use upframe_pipeline::processors::rife::RifeInterpolator;
use upframe_pipeline::VideoJob;

fn mse(a: &Frame, b: &[f32]) -> f64 {
    a.data
        .iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x - y).powi(2))
        .sum::<f64>()
        / a.data.len() as f64
}

#[test]
fn megamind_to_60fps_around_a_cut() {
    let (Some(input), Some(weights)) = (
        common::asset("media/video/Megamind.avi"),
        common::asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.mkv");
    // Frames 0, 1, 2: the pair 0→1 is a hard cut (SSIM 0.01), 1→2 is motion.
    let decode = DecodeOptions {
        max_frames: Some(3),
        ..DecodeOptions::default()
    };
    let mut video = VideoJob::new(&input, &output);
    video.decode = decode.clone();
    let job = InterpolateJob::new(video, Rate::Fps { num: 60, den: 1 });
    let mut rife = RifeInterpolator::load(&weights, 1.0).unwrap();
    let summary = run_interpolate_job(
        &job,
        &mut rife,
        Vec::new(),
        Vec::new(),
        &mut |_, _, _| {},
        &mut |_| {},
    )
    .unwrap();
    // 3 frames last 3·1001/24000 s = 0.125125 s → ceil(7.5075) = 8 frames at 60 fps.
    assert_eq!(summary.frames_in, 3);
    assert_eq!(summary.frames_out, 8);
    assert_eq!(summary.cuts.len(), 1, "{:?}", summary.cuts);
    assert!(summary.output.copied_packets > 0, "audio was not copied");

    // Source frames, and the output decoded back.
    let mut src = open_source(&input, &decode).unwrap();
    let mut source_frames = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        source_frames.push(f);
    }
    let mut out = open_source(&output, &DecodeOptions::default()).unwrap();
    let tb = out.info().time_base;
    let mut frames = Vec::new();
    while let Some(f) = out.next_frame().unwrap() {
        frames.push(f);
    }
    assert_eq!(frames.len(), 8);
    let t0 = frames[0].pts.unwrap() as f64 * f64::from(tb.0) / f64::from(tb.1);
    for (m, f) in frames.iter().enumerate() {
        let t = f.pts.unwrap() as f64 * f64::from(tb.0) / f64::from(tb.1);
        assert!(
            (t - t0 - m as f64 / 60.0).abs() < 1.5e-3,
            "frame {m} at {t}, expected {}",
            t0 + m as f64 / 60.0
        );
    }
    // Output times m/60 s in source frames (×1.001 of 0.4 each): 0, 0.4, 0.8 (cut pair 0→1:
    // copies of frame 0, which is black), 1.2, 1.6, 1.998 (pair 1→2, interpolated), 2.4, 2.8
    // (last frame held).
    let blend: Vec<f32> = source_frames[0]
        .data
        .iter()
        .zip(&source_frames[1].data)
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    for m in [1, 2] {
        let to_earlier = mse(&frames[m], &source_frames[0].data);
        let to_blend = mse(&frames[m], &blend);
        let to_later = mse(&frames[m], &source_frames[1].data);
        eprintln!(
            "cut interval frame {m}: MSE to frame 0 {to_earlier:.2e}, to a 50/50 blend {to_blend:.2e}, to frame 1 {to_later:.2e}"
        );
        assert!(to_earlier * 20.0 < to_blend, "frame {m} looks blended");
    }
    for m in [5, 6, 7] {
        assert!(mse(&frames[m], &source_frames[2].data) < 1e-3);
    }
    // The interpolated frames lie between their neighbours, not on either.
    for m in [3, 4] {
        let a = mse(&frames[m], &source_frames[1].data);
        let b = mse(&frames[m], &source_frames[2].data);
        eprintln!("interpolated frame {m}: MSE to frame 1 {a:.2e}, to frame 2 {b:.2e}");
    }
    assert_eq!(summary.interpolated, 3);
}

/// The other three hard cuts of Megamind (after frames 98, 154 and 200, as MEDIA.md says):
/// a 4-frame window around each, retimed to 60 fps. Exactly one cut must be found in it, and
/// every output frame inside the cut interval must be the earlier shot (MSE to it far below
/// the MSE to a 50/50 blend of both shots), never a mix.
#[test]
fn megamind_to_60fps_no_blend_across_any_cut() {
    let (Some(input), Some(weights)) = (
        common::asset("media/video/Megamind.avi"),
        common::asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    let interval = 1001.0 / 24000.0;
    let mut rife = RifeInterpolator::load(&weights, 1.0).unwrap();
    for near_cut in [97u32, 153, 199] {
        // Frame n is on screen for [n·interval, (n+1)·interval); a window starting halfway
        // through frame n−1 begins with it.
        let start = (f64::from(near_cut) - 0.5) * interval;
        let decode = DecodeOptions {
            start_s: Some(start),
            max_frames: Some(4),
            ..DecodeOptions::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("out.mkv");
        let mut video = VideoJob::new(&input, &output);
        video.decode = decode.clone();
        let job = InterpolateJob::new(video, Rate::Fps { num: 60, den: 1 });
        let summary = run_interpolate_job(
            &job,
            &mut rife,
            Vec::new(),
            Vec::new(),
            &mut |_, _, _| {},
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(summary.frames_in, 4);
        assert_eq!(
            summary.cuts.len(),
            1,
            "near frame {near_cut}: {:?}",
            summary.cuts
        );
        let cut = summary.cuts[0].0 as usize;

        let mut src = open_source(&input, &decode).unwrap();
        let mut source = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            source.push(f);
        }
        let (a, b) = (&source[cut], &source[cut + 1]);
        let blend: Vec<f32> = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| 0.5 * (x + y))
            .collect();
        let mut out = open_source(&output, &DecodeOptions::default()).unwrap();
        let tb = out.info().time_base;
        let mut frames = Vec::new();
        while let Some(f) = out.next_frame().unwrap() {
            frames.push(f);
        }
        let t0 = frames[0].pts.unwrap() as f64 * f64::from(tb.0) / f64::from(tb.1);
        let mut checked = 0;
        for (m, f) in frames.iter().enumerate() {
            let t = f.pts.unwrap() as f64 * f64::from(tb.0) / f64::from(tb.1) - t0;
            let inside = t - cut as f64 * interval;
            if !(1e-3..interval - 1e-3).contains(&inside) {
                continue;
            }
            let to_earlier = mse(f, &a.data);
            let to_blend = mse(f, &blend);
            let to_later = mse(f, &b.data);
            eprintln!(
                "cut after window frame {cut} (near {near_cut}), output {m} at +{t:.4} s: MSE to \
                 the earlier shot {to_earlier:.2e}, to a blend {to_blend:.2e}, to the later shot \
                 {to_later:.2e}"
            );
            assert!(
                to_earlier * 20.0 < to_blend,
                "near frame {near_cut}: output frame {m} looks blended"
            );
            checked += 1;
        }
        assert!(
            checked >= 2,
            "near frame {near_cut}: no output frame fell inside the cut"
        );
    }
}
