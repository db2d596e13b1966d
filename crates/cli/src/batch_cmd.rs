//! The terminal face of a batch, shared by `upscale`, `interpolate` and `enhance`: up-front
//! checks before any model loads, per-file progress lines (`[3/11] in -> out`), failures as
//! they happen and listed again at the end, the closing line, the `--json` summary, and the
//! exit status (1 when a file failed, 130 when interrupted).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use serde_json::json;
use upframe_media::VideoInfo;
use upframe_pipeline::JobError;

use crate::batch::{
    self, BatchItem, BatchPlan, BatchReport, FileError, FileResult, Outcome, OutputDirs,
    RunSettings,
};
use crate::job_options::{job_error, peak_rss_bytes};

/// A batch failed for some files: they were listed already; this is the last line.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} files failed (listed above)")]
pub struct BatchFailed {
    pub failed: usize,
    pub total: usize,
}

/// What the driver needs to know about the command line.
pub struct BatchCommand<'a> {
    pub inputs: &'a [PathBuf],
    pub output: &'a Path,
    pub quiet: bool,
    pub json: bool,
    pub skip_existing: bool,
    /// Fields the command adds to the JSON summary (model, scale, ...).
    pub json_fields: serde_json::Value,
}

/// The start line of one file: `upframe: [3/11] IN (WxH[, N frames]) -> OUT (WxH, LABEL)`.
pub fn start_line(
    (index, total): (usize, usize),
    item: &BatchItem,
    info: &VideoInfo,
    (w, h): (usize, usize),
    frames: Option<u64>,
    label: &str,
) -> String {
    let frames_text = match frames {
        Some(n) if n > 1 => format!(", {n} frames"),
        _ => String::new(),
    };
    format!(
        "upframe: [{}/{total}] {} ({}x{}{frames_text}) -> {} ({w}x{h}, {label})",
        index + 1,
        item.input.display(),
        info.width,
        info.height,
        item.output.display()
    )
}

/// A failed job as a batch records it: one line, or the user's Ctrl-C.
pub fn file_error(e: JobError, item: &BatchItem) -> FileError {
    if e.is_cancelled() {
        FileError::Interrupted
    } else {
        FileError::Failed(crate::one_line(&job_error(e, &item.input, &item.output)))
    }
}

/// One file's job: the loaded state, (index, total) for its start line, the item.
pub type RunOne<'a, T> =
    dyn FnMut(&mut T, (usize, usize), &BatchItem) -> Result<batch::FileReport, FileError> + 'a;

/// Runs a planned batch: makes the missing output folders, checks every file up front with
/// `preflight`, calls `load` (the models) only when a file is left to do, then `run_one` for
/// each file in order, with `cancel` (Ctrl-C) stopping the loop. Prints per-file lines, the
/// closing line and the JSON summary; the result is the command's exit status.
pub fn run<T>(
    cmd: &BatchCommand<'_>,
    plan: &BatchPlan,
    cancel: &AtomicBool,
    preflight: &mut dyn FnMut(&BatchItem) -> Result<()>,
    load: impl FnOnce() -> Result<T>,
    run_one: &mut RunOne<'_, T>,
) -> Result<()> {
    let quiet = cmd.quiet;
    let total = plan.items.len();
    if !quiet && !plan.ignored.is_empty() {
        let names: Vec<String> = plan
            .ignored
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        let more = plan.ignored.len().saturating_sub(names.len());
        eprintln!(
            "upframe: note: left out (neither an image nor a video): {}{}",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let settings = RunSettings {
        skip_existing: cmd.skip_existing,
    };
    let _dirs = OutputDirs::create(plan)?;
    let prechecked = batch::precheck(plan, &settings, &mut |item| {
        preflight(item).map_err(|e| crate::one_line(&e))
    });
    let mut loaded = if prechecked.iter().any(Option::is_none) {
        Some(load()?)
    } else {
        None
    };
    let mut one = |i: usize, item: &BatchItem| match loaded.as_mut() {
        Some(state) => run_one(state, (i, total), item),
        // Not reached: every item was settled up front when nothing was loaded.
        None => Err(FileError::Failed("nothing loaded".into())),
    };
    let mut on_result = |i: usize, r: &FileResult| {
        if quiet {
            return;
        }
        match &r.outcome {
            Outcome::Failed(reason) => eprintln!(
                "upframe: [{}/{total}] failed: {}: {}",
                i + 1,
                r.item.input.display(),
                batch::reason_without_input(&r.item.input, reason)
            ),
            Outcome::Skipped => eprintln!(
                "upframe: [{}/{total}] skipped {}: {} exists",
                i + 1,
                r.item.input.display(),
                r.item.output.display()
            ),
            Outcome::Written(_) => {}
        }
    };
    let report = batch::run_batch(plan, prechecked, cancel, &mut one, &mut on_result);
    if !quiet {
        eprintln!(
            "upframe: wrote {} of {total} files in {:.2} s{}{}",
            report.written(),
            report.seconds,
            if report.failed() > 0 {
                format!(", {} failed", report.failed())
            } else {
                String::new()
            },
            if report.skipped() > 0 {
                format!(", {} skipped (output exists)", report.skipped())
            } else {
                String::new()
            },
        );
    }
    if cmd.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(cmd, &report, total))
                .context("JSON summary")?
        );
    }
    if report.interrupted {
        return Err(crate::Interrupted {
            hint: Some(format!(
                "{} of {total} files were written; run the same command with --skip-existing to continue",
                report.written()
            )),
        }
        .into());
    }
    // The list of failures closes the run, whatever --quiet says.
    for r in &report.results {
        if let Outcome::Failed(reason) = &r.outcome {
            eprintln!(
                "upframe: error: {}: {}",
                r.item.input.display(),
                batch::reason_without_input(&r.item.input, reason)
            );
        }
    }
    if report.failed() > 0 {
        return Err(BatchFailed {
            failed: report.failed(),
            total,
        }
        .into());
    }
    Ok(())
}

/// The `--json` summary of a batch: totals and one entry per file.
fn summary_json(cmd: &BatchCommand<'_>, report: &BatchReport, total: usize) -> serde_json::Value {
    let files: Vec<serde_json::Value> = report
        .results
        .iter()
        .map(|r| {
            let mut v = json!({
                "input": r.item.input.display().to_string(),
                "output": r.item.output.display().to_string(),
                "seconds": r.seconds,
            });
            match &r.outcome {
                Outcome::Written(f) => {
                    v["status"] = json!("ok");
                    v["input_size"] = json!([f.input_size.0, f.input_size.1]);
                    v["output_size"] = json!([f.output_size.0, f.output_size.1]);
                    v["frames"] = json!(f.frames);
                    v["bytes"] = json!(f.bytes);
                    v["short_input"] = json!(f.short_input);
                }
                Outcome::Failed(reason) => {
                    v["status"] = json!("failed");
                    v["error"] = json!(reason);
                }
                Outcome::Skipped => {
                    v["status"] = json!("skipped");
                    v["error"] = json!("output exists");
                }
            }
            v
        })
        .collect();
    let mut out = json!({
        "inputs": cmd.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "output": cmd.output.display().to_string(),
        "files_total": total,
        "files_written": report.written(),
        "files_failed": report.failed(),
        "files_skipped": report.skipped(),
        "interrupted": report.interrupted,
        "seconds": report.seconds,
        "peak_rss_bytes": peak_rss_bytes(),
        "files": files,
    });
    if let (Some(out), Some(extra)) = (out.as_object_mut(), cmd.json_fields.as_object()) {
        for (k, v) in extra {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}
