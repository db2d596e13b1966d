//! One video on many machines with the real binary: `upframe plan`, then `run-chunk` for every
//! chunk in a shuffled order in separate processes (two at once), then `join`, gives the
//! decoded frames and audio packets of a single-machine run (Lanczos, realesr-animevideov3,
//! RIFE ×2 with chunk edges inside a pair); `join` refuses a missing, foreign or damaged
//! chunk with one line naming it and writes nothing; `run-chunk` is idempotent (a complete
//! chunk is skipped, a partial one finished) and two runs of one chunk commit it once.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::{asset, framemd5, have_ff_tools, read_json, run_upframe_ok as run_ok, show, upframe};

fn spawn(args: &[String]) -> Child {
    upframe()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn upframe")
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The chunk count of a plan file.
fn chunk_count(plan: &Path) -> usize {
    read_json(plan)["chunks"].as_array().unwrap().len()
}

/// The plan's work directory.
fn work_dir(plan: &Path) -> PathBuf {
    PathBuf::from(read_json(plan)["work_dir"].as_str().unwrap())
}

/// Runs every chunk of `plan`, two processes at a time, in a fixed shuffled order.
fn run_chunks_shuffled(plan: &Path) {
    let n = chunk_count(plan);
    // A fixed permutation (multiplication by a unit modulo n, reversed): not in order.
    let mut order: Vec<usize> = (0..n).map(|i| (i * 3 + 1) % n).collect();
    order.sort_unstable();
    order.dedup();
    if order.len() != n {
        order = (0..n).collect();
    }
    order.reverse();
    order.rotate_left(n / 2);
    for pair in order.chunks(2) {
        let children: Vec<(usize, Child)> = pair
            .iter()
            .map(|&k| {
                (
                    k,
                    spawn(&[
                        "run-chunk".into(),
                        s(plan),
                        "--chunk".into(),
                        k.to_string(),
                        "-q".into(),
                    ]),
                )
            })
            .collect();
        for (k, c) in children {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "run-chunk {k}: {}", show(&o));
        }
    }
}

/// The single-machine run of `command args` and the distributed one (`chunks` chunks) give
/// the same decoded frames and audio packets; returns (dir, plan, distributed output).
fn distributed_equals_single(
    command: &str,
    input: &Path,
    args: &[&str],
    chunks: usize,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.mkv");
    let mut a = vec![command, "-i", input.to_str().unwrap(), "-o"];
    let r = s(&reference);
    a.push(&r);
    a.extend_from_slice(args);
    a.push("-q");
    run_ok(&a);

    let out = dir.path().join("out.mkv");
    let plan = dir.path().join("plan.json");
    let (o, p) = (s(&out), s(&plan));
    let n = chunks.to_string();
    let mut a = vec!["plan", command, "-i", input.to_str().unwrap(), "-o", &o];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--plan", &p, "--chunks", &n, "-q"]);
    run_ok(&a);
    let planned = chunk_count(&plan);
    assert!(planned >= 2, "the plan has {planned} chunks");
    run_chunks_shuffled(&plan);
    assert!(!out.exists(), "run-chunk wrote the output");
    run_ok(&["join", &p, "-q"]);

    let want = framemd5(&reference, "0:v", false);
    let got = framemd5(&out, "0:v", false);
    assert_eq!(got.len(), want.len(), "{command}: frame count");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "{command}: decoded frame {i} differs from the one-machine run"
        );
    }
    let want_audio = framemd5(&reference, "0:a", true);
    assert!(!want_audio.is_empty(), "the reference has no audio");
    assert_eq!(
        framemd5(&out, "0:a", true),
        want_audio,
        "{command}: audio packets differ from the one-machine run"
    );
    // The audio packets are the input's own (their payload hashes, in order). The first
    // differs in a one-machine run too (the container's first AAC packet is rewritten when
    // copied into Matroska), so it is compared with the one-machine run only (above).
    let hash = |l: &String| l.rsplit(',').next().unwrap_or("").to_string();
    let input_audio: Vec<String> = framemd5(input, "0:a", true).iter().map(hash).collect();
    let got_audio: Vec<String> = want_audio.iter().map(hash).collect();
    assert!(got_audio.len() > 1 && input_audio.len() >= got_audio.len());
    assert_eq!(
        &input_audio[1..got_audio.len()],
        &got_audio[1..],
        "{command}: audio packets are not the input's"
    );
    // The join removed the chunks.
    assert!(!work_dir(&plan).exists(), "the work directory is left");
    (dir, plan, out)
}

fn chaplin() -> Option<PathBuf> {
    let input = asset("media/video/chaplin.mp4")?;
    have_ff_tools().then_some(input)
}

/// Megamind.avi and the RIFE v4.25/v4.26 weights (as text), with the ff tools.
fn megamind_and_rife() -> Option<(PathBuf, String)> {
    let (Some(input), Some(model)) = (
        asset("media/video/Megamind.avi"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return None;
    };
    have_ff_tools().then(|| (input, s(&model)))
}

const LANCZOS: &[&str] = &[
    "-n",
    "lanczos",
    "--scale",
    "2",
    "--duration",
    "4",
    "--preset",
    "ultrafast",
    "--segment-frames",
    "10",
];

#[test]
fn chunks_in_any_order_equal_one_machine_lanczos() {
    let Some(input) = chaplin() else { return };
    distributed_equals_single("upscale", &input, LANCZOS, 4);
}

#[test]
fn chunks_equal_one_machine_realesrgan() {
    let Some(input) = chaplin() else { return };
    if asset("models/realesr-animevideov3.pth").is_none() {
        return;
    }
    let args = [
        "-n",
        "realesr-animevideov3",
        "--scale",
        "2",
        "--frames",
        "12",
        "--preset",
        "ultrafast",
        "--segment-frames",
        "3",
    ];
    distributed_equals_single("upscale", &input, &args, 3);
}

/// RIFE ×2 with 5-frame segments: the chunk edges (output frames 15 and 30) fall on the
/// interpolated frame in the middle of a pair, so chunk 1 starts from the frame before.
#[test]
fn chunks_equal_one_machine_interpolate_across_edges() {
    let Some((input, model)) = megamind_and_rife() else {
        return;
    };
    let args = [
        "--factor",
        "2",
        "-m",
        &model,
        "--frames",
        "20",
        "--preset",
        "ultrafast",
        "--segment-frames",
        "5",
    ];
    distributed_equals_single("interpolate", &input, &args, 3);
}

/// `enhance` (Lanczos ×2 then RIFE ×2, upscale first so RIFE sees the upscaled frames) with
/// 5-frame segments: chunk edges inside a pair again.
#[test]
fn chunks_equal_one_machine_enhance_across_edges() {
    let Some((input, model)) = megamind_and_rife() else {
        return;
    };
    let args = [
        "-n",
        "lanczos",
        "--scale",
        "2",
        "--interp-model",
        &model,
        "--order",
        "upscale-first",
        "--factor",
        "2",
        "--frames",
        "12",
        "--preset",
        "ultrafast",
        "--segment-frames",
        "5",
    ];
    distributed_equals_single("enhance", &input, &args, 3);
}

/// Plans `LANCZOS` (with `extra`) into `dir/NAME.json`, work directory `dir/NAME-work`.
fn lanczos_plan(input: &Path, dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.mkv"));
    let plan = dir.join(format!("{name}.json"));
    let work = dir.join(format!("{name}-work"));
    let (o, p, w) = (s(&out), s(&plan), s(&work));
    let mut a = vec!["plan", "upscale", "-i", input.to_str().unwrap(), "-o", &o];
    a.extend_from_slice(LANCZOS);
    a.extend_from_slice(extra);
    a.extend_from_slice(&["--plan", &p, "--chunks", "3", "--work-dir", &w, "-q"]);
    run_ok(&a);
    (plan, out)
}

fn run_all(plan: &Path) {
    for k in 0..chunk_count(plan) {
        run_ok(&["run-chunk", &s(plan), "--chunk", &k.to_string(), "-q"]);
    }
}

/// `join` fails with exit 1 and one error line that names `chunk K`; nothing at the output.
fn assert_join_refused(plan: &Path, out: &Path, k: usize, words: &str) {
    let o = upframe().args(["join", &s(plan)]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "join: {}", show(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "join error is not one line: {stderr}");
    assert!(
        lines[0].starts_with("upframe: error: ") && lines[0].contains(&format!("chunk {k} ")),
        "join error does not name chunk {k}: {stderr}"
    );
    assert!(lines[0].contains(words), "{words:?} not in: {stderr}");
    assert!(!out.exists(), "join wrote the output");
    let parent = out.parent().unwrap();
    let stem = out.file_stem().unwrap().to_string_lossy().into_owned();
    for e in fs::read_dir(parent).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !(name.contains(&stem) && name.contains("partial")),
            "join left {name}"
        );
    }
}

#[test]
fn join_refuses_missing_foreign_and_damaged_chunks() {
    let Some(input) = chaplin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (plan, out) = lanczos_plan(&input, dir.path(), "a", &[]);
    let work = work_dir(&plan);
    run_all(&plan);

    // Missing: chunk 2's manifest gone.
    let manifest = |w: &Path, k: usize| w.join(format!("chunk-{k:05}.done"));
    let saved = fs::read(manifest(&work, 2)).unwrap();
    fs::remove_file(manifest(&work, 2)).unwrap();
    assert_join_refused(&plan, &out, 2, "missing");
    fs::write(manifest(&work, 2), &saved).unwrap();

    // Foreign: chunk 1 replaced by chunk 1 of another plan (another CRF).
    let (other_plan, _) = lanczos_plan(&input, dir.path(), "b", &["--crf", "30"]);
    let other_work = work_dir(&other_plan);
    run_ok(&["run-chunk", &s(&other_plan), "--chunk", "1", "-q"]);
    let chunk_dir = |w: &Path, k: usize| w.join(format!(".chunk-{k:05}.upframe-work"));
    let keep = dir.path().join("kept-chunk-1");
    fs::rename(chunk_dir(&work, 1), &keep).unwrap();
    let kept_manifest = fs::read(manifest(&work, 1)).unwrap();
    fs::rename(chunk_dir(&other_work, 1), chunk_dir(&work, 1)).unwrap();
    fs::copy(manifest(&other_work, 1), manifest(&work, 1)).unwrap();
    assert_join_refused(&plan, &out, 1, "another plan");
    fs::remove_dir_all(chunk_dir(&work, 1)).unwrap();
    fs::rename(&keep, chunk_dir(&work, 1)).unwrap();
    fs::write(manifest(&work, 1), &kept_manifest).unwrap();

    // Damaged: a segment of chunk 0 cut short.
    let seg = chunk_dir(&work, 0).join("seg-000001.upseg");
    let bytes = fs::read(&seg).unwrap();
    fs::write(&seg, &bytes[..bytes.len() / 2]).unwrap();
    assert_join_refused(&plan, &out, 0, "damaged");

    // run-chunk redoes the damaged chunk; then the join succeeds.
    let o = run_ok(&["run-chunk", &s(&plan), "--chunk", "0"]);
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("already complete"),
        "{}",
        show(&o)
    );
    run_ok(&["join", &s(&plan), "-q"]);
    assert!(out.exists());
}

#[test]
fn run_chunk_is_idempotent_and_one_chunk_commits_once() {
    let Some(input) = chaplin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (plan, out) = lanczos_plan(&input, dir.path(), "a", &[]);
    let work = work_dir(&plan);
    let p = s(&plan);

    // The same chunk twice at once: one makes it, the other is refused as busy or finds it
    // complete; never two commits.
    let args: Vec<String> = ["run-chunk", &p, "--chunk", "1"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    let (a, b) = (spawn(&args), spawn(&args));
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let made = outs
        .iter()
        .filter(|o| {
            o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("already complete")
        })
        .count();
    assert!(
        made <= 1 && outs.iter().any(|o| o.status.success()),
        "{}\n{}",
        show(&outs[0]),
        show(&outs[1])
    );
    for o in &outs {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success() || err.contains("another upframe job"),
            "{}",
            show(o)
        );
    }

    // Complete: skipped.
    let o = run_ok(&["run-chunk", &p, "--chunk", "1"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("chunk 1 is already complete"),
        "{}",
        show(&o)
    );

    // Partial (its manifest and last segment lost, as a worker killed before the commit
    // leaves it): finished, keeping its first segment.
    let chunk_dir = work.join(".chunk-00001.upframe-work");
    let first = chunk_dir.join("seg-000004.upseg");
    let first_mtime = fs::metadata(&first).unwrap().modified().unwrap();
    fs::remove_file(work.join("chunk-00001.done")).unwrap();
    fs::remove_file(chunk_dir.join("seg-000007.upseg")).unwrap();
    let o = run_ok(&["run-chunk", &p, "--chunk", "1"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("resuming after 3 complete segments"),
        "{}",
        show(&o)
    );
    assert_eq!(
        fs::metadata(&first).unwrap().modified().unwrap(),
        first_mtime
    );

    for k in [0, 2] {
        run_ok(&["run-chunk", &p, "--chunk", &k.to_string(), "-q"]);
    }
    run_ok(&["join", &p, "-q"]);
    let reference = dir.path().join("ref.mkv");
    let mut a = vec!["upscale", "-i", input.to_str().unwrap(), "-o"];
    let r = s(&reference);
    a.push(&r);
    a.extend_from_slice(LANCZOS);
    a.push("-q");
    run_ok(&a);
    assert_eq!(
        framemd5(&out, "0:v", false),
        framemd5(&reference, "0:v", false)
    );
}
