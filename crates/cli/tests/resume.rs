//! Resumable segmented output, end to end with the real binary: a job killed (SIGKILL) at
//! several points and re-run each time ends with the same decoded video frames and audio
//! packets as an uninterrupted run (lanczos and RIFE); SIGINT/SIGTERM keep the complete segments
//! and say how to resume; a changed option or input refuses to resume until `--restart`; a write
//! error (RLIMIT_FSIZE) stops the job cleanly and a re-run completes it.
//!
//! Every wait is bounded (a hung run fails the test instead of blocking CI), and every kill
//! point is a journal state (N complete segments) or a delay drawn from a fixed seed.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{asset, files_named_like, framemd5, have_ff_tools, stdout_json, upframe};

/// Longest any single upframe run may take before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);
/// Poll interval while waiting for a kill point.
const POLL: Duration = Duration::from_millis(2);

// ---------------------------------------------------------------------------------------------
// Work directory and journal
// ---------------------------------------------------------------------------------------------

/// `.NAME.upframe-work` beside `output`.
fn work_dir(output: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(output.file_name().unwrap());
    name.push(".upframe-work");
    output.parent().unwrap().join(name)
}

/// The journal file in `output`'s work directory.
fn journal_path(output: &Path) -> PathBuf {
    work_dir(output).join("journal.txt")
}

/// A complete segment as the journal lists it, with a hash of its file's bytes.
#[derive(Clone, Debug, PartialEq)]
struct Segment {
    index: u64,
    frames: u64,
    bytes: u64,
    file: String,
}

/// Complete segments listed in `output`'s journal (lines `segment INDEX FRAMES BYTES FILE`
/// ending with `\n`; a last line still being written does not count). No journal: none.
fn segments(output: &Path) -> Vec<Segment> {
    let Ok(text) = fs::read_to_string(journal_path(output)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(nl) = rest.find('\n') {
        let line = &rest[..nl];
        rest = &rest[nl + 1..];
        let Some(fields) = line.strip_prefix("segment ") else {
            continue;
        };
        let f: Vec<&str> = fields.split(' ').collect();
        assert_eq!(f.len(), 4, "bad journal line {line:?}");
        out.push(Segment {
            index: f[0].parse().expect("segment index"),
            frames: f[1].parse().expect("segment frames"),
            bytes: f[2].parse().expect("segment bytes"),
            file: f[3].to_string(),
        });
    }
    out
}

/// FNV-1a of a file's bytes (to see that a resumed run left earlier segments alone).
fn file_hash(path: &Path) -> u64 {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The complete segments of `output` with the hash of each file, checking that each file
/// exists with the size the journal gives and that indices run 0, 1, 2…
fn segment_snapshot(output: &Path) -> Vec<(Segment, u64)> {
    let dir = work_dir(output);
    segments(output)
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            assert_eq!(s.index, i as u64, "journal indices out of order: {s:?}");
            let path = dir.join(&s.file);
            let len = fs::metadata(&path)
                .unwrap_or_else(|e| panic!("segment file {} listed but: {e}", path.display()))
                .len();
            assert_eq!(len, s.bytes, "{} size vs journal", path.display());
            let h = file_hash(&path);
            (s, h)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running upframe
// ---------------------------------------------------------------------------------------------

/// One upframe command line writing `output`; runs log stderr to files in `logs`.
#[derive(Clone)]
struct Job {
    args: Vec<OsString>,
    output: PathBuf,
    logs: PathBuf,
}

/// Numbers the log files of all runs.
static RUNS: AtomicU32 = AtomicU32::new(0);

impl Job {
    /// `upframe SUB -i input ARGS -o output`; `logs` must not be the output's directory (the
    /// tests look for stray files there).
    fn new(sub: &str, input: &Path, args: &[&str], output: &Path, logs: &Path) -> Job {
        fs::create_dir_all(logs).unwrap();
        let mut a: Vec<OsString> = vec![sub.into(), "-i".into(), input.into()];
        a.extend(args.iter().map(OsString::from));
        a.push("-o".into());
        a.push(output.into());
        Job {
            args: a,
            output: output.to_path_buf(),
            logs: logs.to_path_buf(),
        }
    }

    /// The same job with `flag`'s value replaced by `value` (appended when absent: clap
    /// refuses a repeated option).
    fn with_option(&self, flag: &str, value: &str) -> Job {
        let mut job = self.clone();
        match job.args.iter().position(|a| a == flag) {
            Some(i) => job.args[i + 1] = value.into(),
            None => {
                let at = job.args.len() - 2; // before "-o OUTPUT"
                job.args.insert(at, flag.into());
                job.args.insert(at + 1, value.into());
            }
        }
        job
    }

    /// A command for this job with `extra` arguments appended, stdout/stderr to new log files.
    fn command(&self, extra: &[&str]) -> (Command, PathBuf) {
        let n = RUNS.fetch_add(1, Ordering::SeqCst);
        let stem = self
            .output
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let err_path = self.logs.join(format!("{stem}.run{n}.stderr"));
        let out_path = self.logs.join(format!("{stem}.run{n}.stdout"));
        let mut c = upframe();
        c.args(&self.args)
            .args(extra.iter().map(OsStr::new))
            .stdin(Stdio::null())
            .stdout(File::create(&out_path).unwrap())
            .stderr(File::create(&err_path).unwrap());
        (c, err_path)
    }

    fn spawn(&self, extra: &[&str]) -> Running {
        let (mut c, stderr) = self.command(extra);
        Running::start(&mut c, stderr, self.describe(extra))
    }

    /// Runs to the end (bounded) and returns how it ended.
    fn run(&self, extra: &[&str]) -> Finished {
        self.spawn(extra).wait(RUN_TIMEOUT)
    }

    /// Runs to the end and checks that it succeeded.
    fn run_ok(&self, extra: &[&str]) -> Finished {
        let f = self.run(extra);
        assert!(
            f.status.success(),
            "{} failed ({:?}): {}",
            f.what,
            f.status,
            f.stderr
        );
        f
    }

    fn describe(&self, extra: &[&str]) -> String {
        let mut s = String::from("upframe");
        for a in self.args.iter().map(|a| a.to_string_lossy().to_string()) {
            s.push(' ');
            s.push_str(&a);
        }
        for a in extra {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// A spawned upframe process.
struct Running {
    child: Child,
    stderr: PathBuf,
    what: String,
    started: Instant,
}

/// How a run ended.
struct Finished {
    status: ExitStatus,
    stderr: String,
    what: String,
    elapsed: Duration,
}

impl Running {
    fn start(c: &mut Command, stderr: PathBuf, what: String) -> Running {
        let child = c.spawn().expect("spawn upframe");
        Running {
            child,
            stderr,
            what,
            started: Instant::now(),
        }
    }

    fn finished(&self, status: ExitStatus) -> Finished {
        Finished {
            status,
            stderr: fs::read_to_string(&self.stderr).unwrap_or_default(),
            what: self.what.clone(),
            elapsed: self.started.elapsed(),
        }
    }

    /// Waits for the process to end, at most `timeout` (then kills it and panics).
    fn wait(mut self, timeout: Duration) -> Finished {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return self.finished(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} still running after {timeout:?}; stderr: {}",
                    self.what,
                    fs::read_to_string(&self.stderr).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls `ready` until it holds (`Ok`), or the process ends first (`Err` with how it
    /// ended). Panics after `RUN_TIMEOUT`.
    fn until(&mut self, mut ready: impl FnMut() -> bool) -> Result<(), Finished> {
        let deadline = Instant::now() + RUN_TIMEOUT;
        loop {
            if ready() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Err(self.finished(status));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: kill point not reached in {RUN_TIMEOUT:?}", self.what);
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGKILL, then reap.
    fn kill(mut self) -> Finished {
        self.child.kill().expect("SIGKILL upframe");
        let status = self.child.wait().expect("wait upframe");
        self.finished(status)
    }

    /// Sends each of `signals` (SIGINT/SIGTERM), 5 ms apart, and waits (bounded) for the
    /// process to end.
    fn signal(self, signals: &[libc::c_int]) -> Finished {
        let pid = self.child.id() as libc::pid_t;
        for (i, &signal) in signals.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            // SAFETY: kill(2) on our own child, which has not been reaped yet (its pid is
            // still ours).
            let rc = unsafe { libc::kill(pid, signal) };
            assert_eq!(rc, 0, "kill({pid}, {signal})");
        }
        self.wait(Duration::from_secs(60))
    }
}

/// What a run printed, with its status, for assertion messages.
fn show(f: &Finished) -> String {
    format!(
        "{} ({:?}, {:.1} s); stderr:\n{}",
        f.what,
        f.status,
        f.elapsed.as_secs_f64(),
        f.stderr
    )
}

// ---------------------------------------------------------------------------------------------
// Comparing outputs
// ---------------------------------------------------------------------------------------------

/// The decoded video frames and the audio packets of a finished output.
#[derive(Clone, Debug, PartialEq)]
struct Fingerprint {
    video: Vec<String>,
    audio: Vec<String>,
}

impl Fingerprint {
    fn of(file: &Path, audio: bool) -> Fingerprint {
        Fingerprint {
            video: framemd5(file, "0:v", false),
            audio: if audio {
                framemd5(file, "0:a", true)
            } else {
                Vec::new()
            },
        }
    }
}

/// `got` has the reference's decoded frames and audio packets, line for line.
fn assert_same(got: &Fingerprint, reference: &Fingerprint, what: &str) {
    assert_eq!(
        got.video.len(),
        reference.video.len(),
        "{what}: video frame count differs from the uninterrupted run"
    );
    for (i, (g, r)) in got.video.iter().zip(&reference.video).enumerate() {
        assert_eq!(
            g, r,
            "{what}: decoded video frame {i} differs from the uninterrupted run"
        );
    }
    assert_eq!(
        got.audio.len(),
        reference.audio.len(),
        "{what}: audio packet count differs from the uninterrupted run"
    );
    for (i, (g, r)) in got.audio.iter().zip(&reference.audio).enumerate() {
        assert_eq!(
            g, r,
            "{what}: audio packet {i} differs from the uninterrupted run"
        );
    }
}

/// Nothing is under the output name and no other file named after it appears in its
/// directory (the work directory `.NAME.upframe-work` and a partial `.STEM.upframe-partial.EXT`
/// are allowed when `allow_partial`).
fn assert_no_output(output: &Path, allow_partial: bool, context: &str) {
    assert!(
        !output.exists(),
        "{} exists after {context}",
        output.display()
    );
    let dir = output.parent().unwrap();
    let name = output.file_name().unwrap().to_string_lossy().to_string();
    let stem = output.file_stem().unwrap().to_string_lossy().to_string();
    let named = files_named_like(dir, &stem);
    assert!(named.is_empty(), "{named:?} appeared after {context}");
    let work = format!(".{name}.upframe-work");
    let partial = format!(".{stem}.upframe-partial");
    for p in files_named_like(dir, &format!(".{stem}")) {
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if n == work || (allow_partial && n.starts_with(&partial)) {
            continue;
        }
        panic!("unexpected {} after {context}", p.display());
    }
}

/// After a successful final run: the output, and nothing else of the job, is in its directory
/// (no work directory, no partial file).
fn assert_committed(output: &Path, context: &str) {
    assert!(
        output.is_file(),
        "{} missing after {context}",
        output.display()
    );
    let work = work_dir(output);
    assert!(
        !work.exists(),
        "{} still there after {context}",
        work.display()
    );
    let dir = output.parent().unwrap();
    let stem = output.file_stem().unwrap().to_string_lossy().to_string();
    let left: Vec<_> = files_named_like(dir, &format!(".{stem}"));
    assert!(left.is_empty(), "left behind after {context}: {left:?}");
}

fn mentions_resume(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    s.contains("resum")
}

/// The lines of `stderr` that carry an error (the rest would be progress lines).
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.to_lowercase().contains("error"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Kill schedule
// ---------------------------------------------------------------------------------------------

/// Small deterministic generator (SplitMix64) for reproducible kill delays.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// As soon as the process runs, before its first segment can be complete (the journal
    /// must be empty at that moment).
    BeforeFirstSegment,
    /// Once the journal lists this many more segments than when the run started.
    AfterNewSegments(usize),
    /// After the next new segment, plus this fraction of one segment's time (measured on the
    /// uninterrupted run): mid-way through the segment after it.
    MidSegment(f64),
}

/// Runs `job` once per kill point, killing it with SIGKILL there, and checks after each kill:
/// nothing under the output name; earlier complete segments still listed with the same bytes
/// (a re-run resumes, it does not redo them); a run that started with complete segments says
/// it resumes. Returns how many segments were complete after each kill.
fn kill_at(job: &Job, points: &[KillPoint], segment_time: Duration) -> Vec<usize> {
    let mut counts = Vec::new();
    for (k, &point) in points.iter().enumerate() {
        let before = segment_snapshot(&job.output);
        let mut run = job.spawn(&[]);
        let n0 = before.len();
        let reached = match point {
            KillPoint::BeforeFirstSegment => {
                assert_eq!(n0, 0, "kill point {k} {point:?} needs an empty journal");
                // Kill as soon as the work directory is there, before a segment can be done.
                let work = work_dir(&job.output);
                let r = run.until(|| work.exists());
                if r.is_ok() {
                    assert_eq!(
                        segments(&job.output).len(),
                        0,
                        "a segment was complete when the work directory appeared"
                    );
                }
                r
            }
            KillPoint::AfterNewSegments(m) => run.until(|| segments(&job.output).len() >= n0 + m),
            KillPoint::MidSegment(frac) => {
                let r = run.until(|| segments(&job.output).len() > n0);
                r.and_then(|()| {
                    let delay = segment_time.mul_f64(frac);
                    let until = Instant::now() + delay;
                    run.until(|| Instant::now() >= until)
                })
            }
        };
        if let Err(f) = reached {
            panic!(
                "kill point {k} {point:?} not reached: the run ended first: {}",
                show(&f)
            );
        }
        let f = run.kill();
        let after = segment_snapshot(&job.output);
        eprintln!(
            "kill {k} ({point:?}) after {:.2} s: {} -> {} complete segments",
            f.elapsed.as_secs_f64(),
            n0,
            after.len()
        );
        assert_no_output(&job.output, true, &format!("SIGKILL at {point:?}"));
        assert!(
            after.len() >= n0,
            "kill {k}: the journal lost segments ({n0} -> {}): a re-run restarted instead of resuming; {}",
            after.len(),
            show(&f)
        );
        for ((s0, h0), (s1, h1)) in before.iter().zip(&after) {
            assert_eq!(s0, s1, "kill {k}: journal entry changed by the re-run");
            assert_eq!(
                h0, h1,
                "kill {k}: segment file {} rewritten by the re-run",
                s0.file
            );
        }
        if n0 > 0 && after.len() > n0 {
            assert!(
                mentions_resume(&f.stderr),
                "kill {k}: the run started with {n0} complete segments but did not say it resumes: {}",
                show(&f)
            );
        }
        counts.push(after.len());
    }
    counts
}

/// The final, uninterrupted re-run: succeeds, says it resumes when segments were kept, leaves
/// only the output.
fn finish(job: &Job) -> Finished {
    let kept = segments(&job.output).len();
    let f = job.run_ok(&[]);
    if kept > 0 {
        assert!(
            mentions_resume(&f.stderr),
            "{kept} segments were kept but the final run did not say it resumes: {}",
            show(&f)
        );
    }
    assert_committed(&job.output, "the final run");
    f
}

// ---------------------------------------------------------------------------------------------
// Lanczos reference (shared by several tests)
// ---------------------------------------------------------------------------------------------

/// 4 s of chaplin (100 frames, MP3 audio), lanczos ×2, 12-frame segments (9 segments).
const LANCZOS_ARGS: &[&str] = &[
    "--duration",
    "4",
    "--model",
    "lanczos",
    "--scale",
    "2",
    "--preset",
    "ultrafast",
    "--segment-frames",
    "12",
];
const LANCZOS_FRAMES: usize = 100;
const LANCZOS_SEGMENTS: usize = 9;

struct Reference {
    print: Fingerprint,
    elapsed: Duration,
    bytes: u64,
}

/// The uninterrupted run of [`LANCZOS_ARGS`] on chaplin, computed once.
fn lanczos_reference(chaplin: &Path) -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ref.mp4");
        let job = Job::new(
            "upscale",
            chaplin,
            LANCZOS_ARGS,
            &out,
            &dir.path().join("logs"),
        );
        let f = job.run_ok(&[]);
        assert_committed(&out, "the reference run");
        let print = Fingerprint::of(&out, true);
        assert_eq!(print.video.len(), LANCZOS_FRAMES, "reference frame count");
        assert!(!print.audio.is_empty(), "reference has no audio");
        eprintln!(
            "lanczos reference: {:.2} s, {} bytes",
            f.elapsed.as_secs_f64(),
            fs::metadata(&out).unwrap().len()
        );
        Reference {
            print,
            elapsed: f.elapsed,
            bytes: fs::metadata(&out).unwrap().len(),
        }
    })
}

fn chaplin() -> Option<PathBuf> {
    let input = asset("media/video/chaplin.mp4")?;
    have_ff_tools().then_some(input)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Upscale killed before any segment, after 1 and 3 segments and twice mid-segment (seeded
/// delays), re-run each time; a stale partial final file (a join killed half-way) is there for
/// the last run: the final output equals the uninterrupted run.
#[test]
fn sigkill_resume_lanczos_identical() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let reference = lanczos_reference(&input);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let job = Job::new(
        "upscale",
        &input,
        LANCZOS_ARGS,
        &out,
        &dir.path().join("logs"),
    );
    let segment_time = reference.elapsed / LANCZOS_SEGMENTS as u32;
    let mut rng = SplitMix(0x5eed_0001);
    let points = [
        KillPoint::BeforeFirstSegment,
        KillPoint::AfterNewSegments(1),
        KillPoint::AfterNewSegments(2),
        KillPoint::MidSegment(rng.unit()),
        KillPoint::MidSegment(rng.unit()),
    ];
    let counts = kill_at(&job, &points, segment_time);
    assert!(
        *counts.last().unwrap() < LANCZOS_SEGMENTS,
        "every segment was complete before the last kill: {counts:?}"
    );
    // What a SIGKILL during the join (about 10 ms, too short to hit reliably) leaves: a
    // half-written final file under its temporary name. The re-run must not trip over it.
    let stale = dir.path().join(".out.upframe-partial.mp4");
    fs::write(&stale, b"half a file from a killed join").unwrap();
    finish(&job);
    let got = Fingerprint::of(&out, true);
    assert_eq!(got.video.len(), LANCZOS_FRAMES);
    assert!(!got.audio.is_empty(), "no audio in the resumed output");
    assert_same(&got, &reference.print, "resumed lanczos upscale");
    eprintln!(
        "sigkill_resume_lanczos_identical: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// RIFE ×2 on 30 frames of Megamind (hard cuts, AC-3) with 7-frame segments, so boundaries
/// fall both after a source frame and after an interpolated one; killed at several points and
/// re-run: the output equals the uninterrupted run and has 2× the frames.
#[test]
fn sigkill_resume_rife_identical() {
    let (Some(input), Some(model)) = (
        asset("media/video/Megamind.avi"),
        asset("models/rife-v4.25-or-v4.26/flownet.pkl"),
    ) else {
        return;
    };
    if !have_ff_tools() {
        return;
    }
    let t = Instant::now();
    let model = model.to_string_lossy().to_string();
    let args = [
        "--factor",
        "2",
        "-m",
        &model,
        "--frames",
        "30",
        "--preset",
        "ultrafast",
        "--segment-frames",
        "7",
    ];
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let ref_out = dir.path().join("ref.mkv");
    let reference = Job::new("interpolate", &input, &args, &ref_out, &logs);
    let r = reference.run_ok(&[]);
    assert_committed(&ref_out, "the reference run");
    let ref_print = Fingerprint::of(&ref_out, true);
    assert_eq!(ref_print.video.len(), 60, "30 frames ×2");
    assert!(!ref_print.audio.is_empty(), "reference has no audio");
    let segment_time = r.elapsed / 9;

    let out = dir.path().join("out.mkv");
    let job = Job::new("interpolate", &input, &args, &out, &logs);
    let mut rng = SplitMix(0x5eed_0002);
    let points = [
        KillPoint::BeforeFirstSegment,
        KillPoint::AfterNewSegments(1),
        KillPoint::MidSegment(rng.unit()),
        KillPoint::AfterNewSegments(2),
        KillPoint::MidSegment(rng.unit()),
    ];
    let counts = kill_at(&job, &points, segment_time);
    assert!(
        *counts.last().unwrap() < 9,
        "every segment was complete before the last kill: {counts:?}"
    );
    let f = finish(&job);
    let got = Fingerprint::of(&out, true);
    assert_eq!(got.video.len(), 60, "resumed run: 30 frames ×2");
    // The final line counts the whole file, not only this run's frames.
    assert!(
        f.stderr
            .contains(&format!("upframe: wrote {}: 60 frames ", out.display())),
        "{}",
        show(&f)
    );
    assert_same(&got, &ref_print, "resumed RIFE interpolation");
    eprintln!(
        "sigkill_resume_rife_identical: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// SIGINT after a segment: exit 130, says how to resume, no output, the work directory and
/// its journal stay; then SIGTERM on the re-run after another segment, then two SIGINTs 5 ms
/// apart (stop at once): the same each time; the next re-run completes and equals the
/// uninterrupted run.
#[test]
fn sigint_keeps_segments_and_says_how_to_resume() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let reference = lanczos_reference(&input);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let job = Job::new(
        "upscale",
        &input,
        LANCZOS_ARGS,
        &out,
        &dir.path().join("logs"),
    );
    let mut kept = 0;
    let signals: [(&[libc::c_int], &str); 3] = [
        (&[libc::SIGINT], "SIGINT"),
        (&[libc::SIGTERM], "SIGTERM"),
        (&[libc::SIGINT, libc::SIGINT], "SIGINT twice (stop at once)"),
    ];
    for (signal, name) in signals {
        let before = segment_snapshot(&out);
        let mut run = job.spawn(&[]);
        if let Err(f) = run.until(|| segments(&out).len() > kept) {
            panic!(
                "the run ended before a new segment was complete: {}",
                show(&f)
            );
        }
        let f = run.signal(signal);
        assert_eq!(f.status.code(), Some(130), "{name}: {}", show(&f));
        let lower = f.stderr.to_lowercase();
        assert!(
            lower.contains("resum") || lower.contains("same command") || lower.contains("re-run"),
            "{name}: stderr does not say how to resume: {}",
            show(&f)
        );
        assert!(
            !f.stderr.contains("panicked"),
            "{name}: panic: {}",
            show(&f)
        );
        // A single signal stops cleanly (the temporary output is deleted); a second one
        // leaves at once.
        assert_no_output(&out, signal.len() > 1, name);
        assert!(
            journal_path(&out).is_file(),
            "{name}: no journal left in {}",
            work_dir(&out).display()
        );
        let snapshot = segment_snapshot(&out);
        assert!(
            snapshot.len() > kept && snapshot.len() < LANCZOS_SEGMENTS,
            "{name}: {} complete segments kept (had {kept}): {}",
            snapshot.len(),
            show(&f)
        );
        for ((s0, h0), (s1, h1)) in before.iter().zip(&snapshot) {
            assert_eq!(s0, s1, "{name}: journal entry changed by the re-run");
            assert_eq!(h0, h1, "{name}: segment file {} rewritten", s0.file);
        }
        kept = snapshot.len();
        eprintln!(
            "{name} after {:.2} s: {kept} segments kept",
            f.elapsed.as_secs_f64()
        );
    }
    finish(&job);
    let got = Fingerprint::of(&out, true);
    assert_same(
        &got,
        &reference.print,
        "upscale resumed after SIGINT/SIGTERM",
    );
    eprintln!(
        "sigint_keeps_segments_and_says_how_to_resume: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// 48 frames of chaplin, lanczos ×2, 12-frame segments (4 segments).
const SHORT_ARGS: &[&str] = &[
    "--frames",
    "48",
    "--model",
    "lanczos",
    "--scale",
    "2",
    "--preset",
    "ultrafast",
    "--segment-frames",
    "12",
];

/// Runs `job` until one segment is complete, then SIGKILL.
fn kill_after_first_segment(job: &Job) {
    let mut run = job.spawn(&[]);
    if let Err(f) = run.until(|| !segments(&job.output).is_empty()) {
        panic!("the run ended before its first segment: {}", show(&f));
    }
    run.kill();
    assert_no_output(&job.output, true, "SIGKILL after one segment");
}

/// Running `changed` (the killed job with something changed) is refused: non-zero exit, one
/// error line naming `what` and `--restart`, nothing under the output, the kept segments
/// untouched.
fn assert_refused(changed: &Job, what: &str) {
    let before = segment_snapshot(&changed.output);
    assert!(!before.is_empty());
    let f = changed.run(&[]);
    assert!(
        !f.status.success() && f.status.code().is_some_and(|c| c != 130 && c != 101),
        "a changed {what} was not refused: {}",
        show(&f)
    );
    let errors = error_lines(&f.stderr);
    assert_eq!(errors.len(), 1, "expected one error line: {}", show(&f));
    let line = errors[0].to_lowercase();
    assert!(
        line.contains(what) && line.contains("--restart"),
        "the error does not name {what:?} and --restart: {}",
        show(&f)
    );
    // The exact command that starts over: this run's arguments and --restart.
    let command = errors[0]
        .split_once("to start over, run: ")
        .map(|(_, c)| c.trim())
        .unwrap_or_else(|| panic!("no command to start over: {}", show(&f)));
    assert!(
        command.ends_with(" --restart")
            && command.contains(" upscale ")
            && command.contains(" -o "),
        "not the command that starts over: {command}"
    );
    eprintln!("refused ({what}): {}", errors[0]);
    assert_no_output(
        &changed.output,
        true,
        &format!("a refused re-run ({what} changed)"),
    );
    assert_eq!(
        segment_snapshot(&changed.output),
        before,
        "a refused re-run changed the kept segments"
    );
}

/// Killed after a segment, re-run with another --crf, --scale or model: each refused, naming
/// the option and --restart; with --restart the changed command succeeds and equals its own
/// uninterrupted run (no segment of the old job mixed in).
#[test]
fn changed_option_refuses_resume() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = dir.path().join("out.mp4");
    let job = Job::new("upscale", &input, SHORT_ARGS, &out, &logs);
    kill_after_first_segment(&job);
    assert_refused(&job.with_option("--crf", "30"), "crf");
    assert_refused(&job.with_option("--scale", "3"), "scale");
    assert_refused(&job.with_option("--model", "lanczos4-opencv"), "model");

    let crf30 = job.with_option("--crf", "30");
    let f = crf30.run_ok(&["--restart"]);
    assert!(
        !f.stderr.contains("resuming after"),
        "--restart resumed: {}",
        show(&f)
    );
    assert_committed(&out, "--restart");
    let got = Fingerprint::of(&out, true);
    assert_eq!(got.video.len(), 48, "{}", show(&f));

    let ref_out = dir.path().join("ref.mp4");
    let reference = Job::new("upscale", &input, SHORT_ARGS, &ref_out, &logs);
    reference.with_option("--crf", "30").run_ok(&[]);
    assert_same(&got, &Fingerprint::of(&ref_out, true), "--crf 30 --restart");
    eprintln!(
        "changed_option_refuses_resume: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Modification time of a file, in ns since the epoch.
fn mtime_ns(path: &Path) -> Option<u128> {
    let m = fs::metadata(path).ok()?.modified().ok()?;
    Some(m.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos())
}

/// A resumed run's final line and `--json` count the whole file (the earlier run's segments
/// too) and say how many frames came from them; `fps` is this run's frames over this run's
/// time.
#[test]
fn resumed_run_reports_the_whole_file() {
    let Some(input) = chaplin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = dir.path().join("out.mp4");
    let job = Job::new("upscale", &input, SHORT_ARGS, &out, &logs);
    kill_after_first_segment(&job);
    let kept: u64 = segments(&out).iter().map(|s| s.frames).sum();
    assert!((1..48).contains(&kept), "{kept} frames kept");

    let o = upframe()
        .args(&job.args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run upframe");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(mentions_resume(&stderr), "{stderr}");
    let wrote = stderr
        .lines()
        .find(|l| l.starts_with("upframe: wrote "))
        .unwrap_or_else(|| panic!("no final line: {stderr}"));
    assert!(
        wrote.starts_with(&format!("upframe: wrote {}: 48 frames ", out.display()))
            && wrote.contains(&format!(", {kept} of them from the interrupted run")),
        "{wrote}"
    );
    assert_eq!(Fingerprint::of(&out, false).video.len(), 48);
    let v = stdout_json(&o);
    assert_eq!(v["output_frames"], 48);
    assert_eq!(v["frames_resumed"], kept);
    assert_eq!(v["frames_out"], 48 - kept);
    let (fps, secs) = (v["fps"].as_f64().unwrap(), v["seconds"].as_f64().unwrap());
    assert!(
        (fps * secs - (48 - kept) as f64).abs() < 1e-6,
        "fps {fps} × {secs} s is not this run's {} frames",
        48 - kept
    );
}

/// `--restart` on the unchanged command starts over (the help: "Start over, discarding the
/// segments an earlier interrupted run left"): segment 0 is written anew instead of the run
/// resuming after the kept segments; the result equals an uninterrupted run.
#[test]
fn restart_same_command_starts_over() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let out = dir.path().join("out.mp4");
    let job = Job::new("upscale", &input, SHORT_ARGS, &out, &logs);
    let mut run = job.spawn(&[]);
    if let Err(f) = run.until(|| segments(&out).len() >= 2) {
        panic!("the run ended before 2 segments: {}", show(&f));
    }
    run.kill();
    let kept = segments(&out).len();
    assert!((2..4).contains(&kept), "{kept} segments kept");
    let seg0 = work_dir(&out).join(&segments(&out)[0].file);
    let old = mtime_ns(&seg0).expect("segment 0 mtime");
    // Make a rewrite visible even on a coarse clock.
    std::thread::sleep(Duration::from_millis(50));

    // Kill the --restart run once it has written segment 0 anew, or once it has gone past the
    // kept segments (it resumed).
    let mut run = job.spawn(&["--restart"]);
    let reached = run.until(|| {
        let n = segments(&out).len();
        n > kept || (n >= 1 && mtime_ns(&seg0).is_some_and(|m| m != old))
    });
    let f = match reached {
        Ok(()) => run.kill(),
        Err(f) => f,
    };
    assert!(
        !f.stderr.contains("resuming after"),
        "--restart resumed instead of starting over: {}",
        show(&f)
    );
    if !out.exists() {
        assert!(
            mtime_ns(&seg0).is_some_and(|m| m != old),
            "--restart did not rewrite segment 0: {}",
            show(&f)
        );
    }

    // The re-run (resuming the restarted job) equals an uninterrupted run.
    if !out.exists() {
        finish(&job);
    }
    let ref_out = dir.path().join("ref.mp4");
    Job::new("upscale", &input, SHORT_ARGS, &ref_out, &logs).run_ok(&[]);
    assert_same(
        &Fingerprint::of(&out, true),
        &Fingerprint::of(&ref_out, true),
        "--restart",
    );
    eprintln!(
        "restart_same_command_starts_over: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Killed after a segment, the input copy changed (bytes appended): the re-run is refused,
/// naming the input and --restart; with --restart it succeeds.
#[test]
fn changed_input_refuses_resume() {
    let Some(original) = chaplin() else { return };
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let input = src.path().join("clip.mp4");
    fs::copy(&original, &input).unwrap();
    let out = dir.path().join("out.mp4");
    let job = Job::new(
        "upscale",
        &input,
        SHORT_ARGS,
        &out,
        &dir.path().join("logs"),
    );
    kill_after_first_segment(&job);

    let mut f = fs::OpenOptions::new().append(true).open(&input).unwrap();
    std::io::Write::write_all(&mut f, &[0u8; 4096]).unwrap();
    drop(f);
    assert_refused(&job, "input");

    job.run_ok(&["--restart"]);
    assert_committed(&out, "--restart");
    assert_eq!(Fingerprint::of(&out, true).video.len(), 48);
    eprintln!(
        "changed_input_refuses_resume: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Runs `job` with RLIMIT_FSIZE = `limit` bytes (SIGXFSZ ignored, so a write past it fails
/// with EFBIG like a full disk).
fn run_with_file_size_limit(job: &Job, limit: u64, extra: &[&str]) -> Finished {
    use std::os::unix::process::CommandExt;
    let (mut c, stderr) = job.command(extra);
    // SAFETY: the closure runs in the child between fork and exec and calls only setrlimit
    // and signal, which are async-signal-safe; it allocates nothing.
    unsafe {
        c.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit as libc::rlim_t,
                rlim_max: limit as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let what = format!("{} (RLIMIT_FSIZE {limit})", job.describe(extra));
    Running::start(&mut c, stderr, what).wait(RUN_TIMEOUT)
}

/// A failed write (RLIMIT_FSIZE as a full disk) stops the job with one error line naming a
/// path of the output, keeps the complete segments, leaves nothing under the output name; a
/// re-run without the limit resumes and equals the uninterrupted run. Two failures: joining the
/// final file (every segment fits, the whole does not), then, on a second output, a segment
/// larger than the ones before it (segment sizes are deterministic: those of the first job).
#[test]
fn write_error_then_resume() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let reference = lanczos_reference(&input);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let dir_str = dir.path().to_string_lossy().to_string();
    let check_failure = |f: &Finished, out: &Path, context: &str| {
        assert!(
            !f.status.success() && f.status.code().is_some_and(|c| c != 130 && c != 101),
            "{context}: expected a clean failure: {}",
            show(f)
        );
        assert!(!f.stderr.contains("panicked"), "{context}: {}", show(f));
        let errors = error_lines(&f.stderr);
        assert_eq!(
            errors.len(),
            1,
            "{context}: one error line expected: {}",
            show(f)
        );
        assert!(
            errors[0].contains(&dir_str),
            "{context}: the error does not name a path of the output: {}",
            show(f)
        );
        eprintln!("{context}: {}", errors[0]);
        assert_no_output(out, true, context);
    };

    // 1. Every segment fits under the limit, the joined file (as large as the reference) does
    // not.
    let out = dir.path().join("out.mp4");
    let job = Job::new("upscale", &input, LANCZOS_ARGS, &out, &logs);
    let limit = reference.bytes / 2;
    let f = run_with_file_size_limit(&job, limit, &[]);
    check_failure(&f, &out, "joining past RLIMIT_FSIZE");
    let all = segment_snapshot(&out);
    let sizes: Vec<u64> = all.iter().map(|(s, _)| s.bytes).collect();
    eprintln!("segment sizes {sizes:?}, limit {limit}");
    assert_eq!(
        all.len(),
        LANCZOS_SEGMENTS,
        "every segment fits under {limit} bytes and should be kept: {}",
        show(&f)
    );
    assert!(sizes.iter().all(|&b| b < limit));
    assert_eq!(
        all.iter().map(|(s, _)| s.frames).sum::<u64>(),
        LANCZOS_FRAMES as u64
    );
    finish(&job);
    assert_same(
        &Fingerprint::of(&out, true),
        &reference.print,
        "upscale resumed after a failed join",
    );

    // 2. A new output of the same job, with room for every segment before the first one that
    // is larger than all before it, not for that one (each segment is its own file).
    let mut largest = sizes[0];
    let fail_at = (1..sizes.len()).find(|&i| {
        let grows = sizes[i] > largest;
        largest = largest.max(sizes[i]);
        grows
    });
    let Some(j) = fail_at else {
        panic!("segment sizes never grow ({sizes:?}): pick another clip for this test");
    };
    let before_j = sizes[..j].iter().copied().max().unwrap();
    let limit = before_j + (sizes[j] - before_j) / 2;
    let out2 = dir.path().join("out2.mp4");
    let job2 = Job::new("upscale", &input, LANCZOS_ARGS, &out2, &logs);
    let f = run_with_file_size_limit(&job2, limit, &[]);
    check_failure(&f, &out2, &format!("segment {j} past RLIMIT_FSIZE"));
    let kept = segment_snapshot(&out2);
    assert_eq!(
        kept.len(),
        j,
        "segments before {j} should be kept: {}",
        show(&f)
    );
    for ((k, _), s) in kept.iter().zip(&all) {
        assert_eq!(k, &s.0, "segment {} differs between the two jobs", k.index);
    }
    finish(&job2);
    assert_same(
        &Fingerprint::of(&out2, true),
        &reference.print,
        "upscale resumed after a failed segment",
    );
    eprintln!(
        "write_error_then_resume: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// A second run of the same command while the first is writing is refused (the work directory
/// is locked) with one error line, and the first run is undisturbed: it completes and equals
/// the uninterrupted run.
#[test]
fn concurrent_run_is_refused() {
    let Some(input) = chaplin() else { return };
    let t = Instant::now();
    let reference = lanczos_reference(&input);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let job = Job::new(
        "upscale",
        &input,
        LANCZOS_ARGS,
        &out,
        &dir.path().join("logs"),
    );
    let mut first = job.spawn(&[]);
    if let Err(f) = first.until(|| !segments(&out).is_empty()) {
        panic!("the first run ended before its first segment: {}", show(&f));
    }
    let second = job.run(&[]);
    assert!(
        !second.status.success() && second.status.code().is_some_and(|c| c != 130 && c != 101),
        "a second run on the same output was not refused: {}",
        show(&second)
    );
    let errors = error_lines(&second.stderr);
    assert_eq!(
        errors.len(),
        1,
        "one error line expected: {}",
        show(&second)
    );
    eprintln!("second run: {}", errors[0]);
    let f = first.wait(RUN_TIMEOUT);
    assert!(f.status.success(), "the first run failed: {}", show(&f));
    assert_committed(&out, "the first run");
    assert_same(
        &Fingerprint::of(&out, true),
        &reference.print,
        "the run a second one was refused beside",
    );
    eprintln!(
        "concurrent_run_is_refused: {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Resume by seeking on a long input
// ---------------------------------------------------------------------------------------------

/// chaplin.mp4 as small H.264 (`scale`, a keyframe every `keyint` frames, 2 B-frames; its
/// MP3 audio copied), then 13 copies of that joined with stream copy by the concat demuxer:
/// 125 s, 3133 frames, first video timestamp 25 ms. Made once per test process and size.
fn long_input(scale: &'static str, keyint: u32) -> Option<PathBuf> {
    static INPUTS: std::sync::Mutex<Vec<(&'static str, u32, PathBuf)>> =
        std::sync::Mutex::new(Vec::new());
    let chaplin = chaplin()?;
    let mut made = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, path)) = made.iter().find(|(s, k, _)| *s == scale && *k == keyint) {
        return Some(path.clone());
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "resume-seek-{}-{}-{keyint}",
        std::process::id(),
        scale.replace(':', "x")
    ));
    fs::create_dir_all(&dir).unwrap();
    let piece = dir.join("piece.mp4");
    let params = format!("keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes=2");
    let filter = format!("scale={scale}");
    common::ffmpeg(&[
        OsStr::new("-i"),
        chaplin.as_os_str(),
        OsStr::new("-vf"),
        OsStr::new(&filter),
        OsStr::new("-c:v"),
        OsStr::new("libx264"),
        OsStr::new("-preset"),
        OsStr::new("ultrafast"),
        OsStr::new("-x264-params"),
        OsStr::new(&params),
        OsStr::new("-c:a"),
        OsStr::new("copy"),
        piece.as_os_str(),
    ]);
    let list = dir.join("list.txt");
    fs::write(&list, "file 'piece.mp4'\n".repeat(LONG_COPIES)).unwrap();
    let long = dir.join("long.mp4");
    common::ffmpeg(&[
        OsStr::new("-f"),
        OsStr::new("concat"),
        OsStr::new("-safe"),
        OsStr::new("0"),
        OsStr::new("-i"),
        list.as_os_str(),
        OsStr::new("-c"),
        OsStr::new("copy"),
        long.as_os_str(),
    ]);
    made.push((scale, keyint, long.clone()));
    Some(long)
}

const LONG_COPIES: usize = 13;
const LONG_FRAMES: u64 = 241 * LONG_COPIES as u64;

/// Runs `job` to the end with `--json` and returns its summary (the run must succeed).
fn run_json(job: &Job) -> (serde_json::Value, String) {
    let o = upframe()
        .args(&job.args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run upframe");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        o.status.success(),
        "{}: {stderr}",
        job.describe(&["--json"])
    );
    (stdout_json(&o), stderr)
}

/// The uninterrupted run of `args` on `input`, then the same job killed (SIGKILL) once
/// `kill_after` of its `segment_count` segments are complete and resumed: the output equals
/// the uninterrupted run's (framemd5 of every video frame and audio packet), the resumed run
/// seeked to a source frame at least 80% of the way through the `frames` it reads, and the
/// pictures it decoded before its first new frame (`--json`
/// `resume.frames_decoded_before_first_new`: the seek's, and an interpolation's first two
/// frames) are under 10% of the pictures the uninterrupted run decoded (`frames_decoded`).
/// Counts, not times: the same on any machine.
fn kill_late_and_resume(
    sub: &str,
    input: &Path,
    args: &[&str],
    frames: u64,
    kill_after: usize,
    segment_count: usize,
) {
    let t = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let ref_out = dir.path().join("ref.mkv");
    let reference = Job::new(sub, input, args, &ref_out, &logs);
    let (ref_json, _) = run_json(&reference);
    assert_committed(&ref_out, "the reference run");
    let ref_print = Fingerprint::of(&ref_out, true);
    let straight_decoded = ref_json["frames_decoded"].as_u64().expect("frames_decoded");
    assert!(
        straight_decoded >= frames,
        "the uninterrupted run decoded {straight_decoded} pictures for {frames} frames"
    );
    assert!(ref_json["resume"].is_null(), "{ref_json}");

    let out = dir.path().join("out.mkv");
    let job = Job::new(sub, input, args, &out, &logs);
    let counts = kill_at(
        &job,
        &[KillPoint::AfterNewSegments(kill_after)],
        Duration::ZERO,
    );
    assert!(
        (kill_after..segment_count).contains(&counts[0]),
        "{} of {segment_count} segments complete after the kill",
        counts[0]
    );
    let (v, stderr) = run_json(&job);
    assert!(mentions_resume(&stderr), "{stderr}");
    assert_committed(&out, "the resumed run");
    assert_same(
        &Fingerprint::of(&out, true),
        &ref_print,
        &format!("{sub} resumed after {} segments", counts[0]),
    );
    let resume = &v["resume"];
    assert_eq!(resume["seeked"], true, "{v}");
    let first = resume["first_frame"].as_u64().expect("first_frame");
    let before = resume["frames_decoded_before_first_new"]
        .as_u64()
        .expect("frames_decoded_before_first_new");
    assert!(
        first as f64 >= 0.8 * frames as f64,
        "resumed at source frame {first} of {frames}"
    );
    assert!(
        before * 10 < straight_decoded,
        "the resumed run decoded {before} pictures before its first new frame; the \
         uninterrupted run decoded {straight_decoded}"
    );
    eprintln!(
        "{sub}: resumed at source frame {first} after {} of {segment_count} segments: \
         {before} pictures decoded before the first new frame vs {straight_decoded} in the \
         uninterrupted run ({:.2}%); {:.1} s",
        counts[0],
        100.0 * before as f64 / straight_decoded as f64,
        t.elapsed().as_secs_f64()
    );
}

/// Lanczos ×2 of the 125 s input (128×72, a keyframe every second) in 250-frame segments
/// (13), killed after 11.
#[test]
fn resume_seeks_on_a_long_upscale() {
    let Some(input) = long_input("128:72", 25) else {
        return;
    };
    kill_late_and_resume(
        "upscale",
        &input,
        &[
            "--model",
            "lanczos",
            "--scale",
            "2",
            "--preset",
            "ultrafast",
            "--segment-frames",
            "250",
        ],
        LONG_FRAMES,
        11,
        13,
    );
}

/// RIFE ×2 of 400 frames from 60 s into the 125 s input (64×36, a keyframe every 10 frames;
/// the network's cost keeps the window short) in 80-frame segments (10), killed after 8: the
/// resumed run needs the source frame before its first new frame as context, and seeks
/// inside a `--start` window.
#[test]
fn resume_seeks_on_a_long_interpolation() {
    let Some(model) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let Some(input) = long_input("64:36", 10) else {
        return;
    };
    let model = model.to_string_lossy().to_string();
    kill_late_and_resume(
        "interpolate",
        &input,
        &[
            "--factor",
            "2",
            "-m",
            &model,
            "--start",
            "60",
            "--frames",
            "400",
            "--preset",
            "ultrafast",
            "--segment-frames",
            "80",
        ],
        400,
        8,
        10,
    );
}

/// RIFE to a fixed 30 fps from the 25 fps input (output times fall at changing points of the
/// source pairs: the resumed run must restore where the next output frame falls) for 200
/// frames from 30 s in, 24-frame segments (10), killed after 8.
#[test]
fn resume_seeks_on_a_fixed_rate_interpolation() {
    let Some(model) = asset("models/rife-v4.25-or-v4.26/flownet.pkl") else {
        return;
    };
    let Some(input) = long_input("64:36", 10) else {
        return;
    };
    let model = model.to_string_lossy().to_string();
    kill_late_and_resume(
        "interpolate",
        &input,
        &[
            "--fps",
            "30",
            "-m",
            &model,
            "--start",
            "30",
            "--frames",
            "200",
            "--preset",
            "ultrafast",
            "--segment-frames",
            "24",
        ],
        200,
        8,
        10,
    );
}
