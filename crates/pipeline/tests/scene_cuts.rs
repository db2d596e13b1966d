//! Scene-cut detection on real footage with known hard cuts: prints the SSIM at each cut and
//! the lowest SSIM among the other pairs, and checks that the default threshold separates them.

mod common;

use upframe_media::{open_source, DecodeOptions};
use upframe_pipeline::jobs::scene::{ssim, thumbnail, DEFAULT_CUT_THRESHOLD};

fn pair_ssims(relative: &str, frames: u64) -> Option<Vec<f64>> {
    let path = common::asset(relative)?;
    let options = DecodeOptions {
        max_frames: Some(frames),
        ..DecodeOptions::default()
    };
    let mut source = open_source(&path, &options).unwrap();
    let mut prev: Option<Vec<f32>> = None;
    let mut out = Vec::new();
    while let Some(f) = source.next_frame().unwrap() {
        let t = thumbnail(&f.data, f.width, f.height, f.channels);
        if let Some(p) = &prev {
            out.push(ssim(p, &t));
        }
        prev = Some(t);
    }
    Some(out)
}

fn check(relative: &str, frames: u64, cuts: &[usize]) {
    let Some(s) = pair_ssims(relative, frames) else {
        return;
    };
    // s[i] is the pair (i, i+1); known cuts are "about" there: take the lowest SSIM within ±1.
    let mut near_cut = vec![false; s.len()];
    for &c in cuts {
        let lo = c.saturating_sub(1);
        let hi = (c + 1).min(s.len() - 1);
        let at = (lo..=hi).min_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
        eprintln!(
            "{relative}: cut near {c}: lowest SSIM {:.3} at pair {at}->{}",
            s[at],
            at + 1
        );
        assert!(
            s[at] < DEFAULT_CUT_THRESHOLD,
            "cut at {at} not detected: {:.3}",
            s[at]
        );
        for flag in &mut near_cut[lo..=hi] {
            *flag = true;
        }
    }
    let (worst_i, worst) = s
        .iter()
        .enumerate()
        .filter(|(i, _)| !near_cut[*i])
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &v)| (i, v))
        .unwrap();
    eprintln!("{relative}: lowest SSIM away from cuts: {worst:.3} at pair {worst_i}");
    let detected: Vec<usize> = (0..s.len())
        .filter(|&i| s[i] < DEFAULT_CUT_THRESHOLD)
        .collect();
    eprintln!("{relative}: pairs below {DEFAULT_CUT_THRESHOLD}: {detected:?}");
    assert!(
        worst >= DEFAULT_CUT_THRESHOLD,
        "false cut at pair {worst_i}: {worst:.3}"
    );
}

#[test]
fn megamind_cuts_are_found_and_nothing_else() {
    check("media/video/Megamind.avi", 210, &[1, 98, 154, 200]);
}

#[test]
fn big_buck_bunny_cuts_are_found_and_nothing_else() {
    check(
        "media/video/big_buck_bunny_0_30.webm",
        560,
        &[283, 376, 551],
    );
}
