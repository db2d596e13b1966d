//! The terminal face of a batch, shared by `upscale`, `interpolate` and `enhance`: the batch
//! options' parsing, up-front checks before any model loads, per-file progress lines
//! (`[3/11] in -> out`), failures as they happen and listed again at the end, the closing
//! line, the `--json` summary, and the exit status (1 when a file failed, 130 when
//! interrupted). What a batch is (its shape, plan and run loop) is the library's
//! ([`upframe::batch`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use upframe::batch::{
    self, parse_ext, BatchItem, BatchOptions, BatchPlan, BatchReport, ExtChoice, FileError,
    FileReport, FileResult, Outcome, OutputDirs, RunSettings,
};
use upframe::{EnhanceJob, Hooks, InterpolateJob, JobStart, Summary, UpscaleJob};

use crate::job_options::{cancel_token, job_error, peak_rss_bytes, short_input_note};
use crate::progress::with_display;

/// Batch options of `upscale`, `interpolate` and `enhance`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Folder output: add this to each output name before the extension. A suffix that starts
    /// with a letter or digit gets an underscore first, as in Real-ESRGAN (`--suffix out` →
    /// photo_out.png); one that starts with `_`, `-` or `.` is used as given (`--suffix _x4`
    /// → photo_x4.png). Default: none (the output folder is another folder).
    #[arg(long, value_name = "S")]
    pub suffix: Option<String>,
    /// Batch: leave inputs whose output already exists alone (count them as skipped), e.g. to
    /// continue an interrupted batch.
    #[arg(long, conflicts_with = "overwrite")]
    pub skip_existing: bool,
}

impl BatchArgs {
    pub fn to_options(&self) -> BatchOptions {
        BatchOptions {
            suffix: self.suffix.clone(),
            skip_existing: self.skip_existing,
        }
    }
}

/// `--ext` (`upscale` only: the other commands write videos).
#[derive(Debug, Args)]
pub struct ExtOption {
    /// Folder output: image format of the outputs: `auto` keeps each input's format (as
    /// Real-ESRGAN's `--ext auto`), or png, jpg, webp, tif, bmp. Images with alpha asked to be
    /// JPEG are written as PNG. Videos keep their container.
    #[arg(long, value_name = "FORMAT", value_parser = parse_ext)]
    pub ext: Option<ExtChoice>,
}

/// The job a batch runs on each file, its models loaded once.
pub enum FileJob<'a> {
    Upscale(&'a mut UpscaleJob),
    Interpolate(&'a mut InterpolateJob),
    Enhance(&'a mut EnhanceJob),
}

impl FileJob<'_> {
    fn preflight(&self, item: &BatchItem) -> Result<(), upframe::Error> {
        match self {
            FileJob::Upscale(j) => j.preflight(&item.input, &item.output),
            FileJob::Interpolate(j) => j.preflight(&item.input, &item.output),
            FileJob::Enhance(j) => j.preflight(&item.input, &item.output),
        }
    }

    fn load(&mut self) -> Result<(), upframe::Error> {
        match self {
            FileJob::Upscale(j) => j.load().map(|_| ()),
            FileJob::Interpolate(j) => j.load(),
            FileJob::Enhance(j) => j.load(),
        }
    }

    pub fn run_one(
        &mut self,
        item: &BatchItem,
        hooks: &mut Hooks<'_>,
    ) -> Result<Summary, upframe::Error> {
        match self {
            FileJob::Upscale(j) => j.run(&item.input, &item.output, hooks),
            FileJob::Interpolate(j) => j.run(&item.input, &item.output, hooks),
            FileJob::Enhance(j) => j.run(&item.input, &item.output, hooks),
        }
    }
}

/// The start line of one file: `upframe: [3/11] IN (WxH[, N frames]) -> OUT (WxH, LABEL)`.
fn start_line((index, total): (usize, usize), item: &BatchItem, s: &JobStart<'_>) -> String {
    let frames_text = match s.frames {
        Some(n) if n > 1 => format!(", {n} frames"),
        _ => String::new(),
    };
    format!(
        "upframe: [{}/{total}] {} ({}x{}{frames_text}) -> {} ({}x{}, {})",
        index + 1,
        item.input.display(),
        s.info.width,
        s.info.height,
        item.output.display(),
        s.output_size.0,
        s.output_size.1,
        s.processing
    )
}

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

/// Runs a planned batch: makes the missing output folders, checks every file up front
/// (`preflight`), loads the models only when a file is left to do, then runs each file in
/// order, Ctrl-C stopping the loop. Prints per-file lines, the closing line and the JSON
/// summary; the result is the command's exit status.
pub fn run(cmd: &BatchCommand<'_>, plan: &BatchPlan, job: &mut FileJob<'_>) -> Result<()> {
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
        job.preflight(item)
            .map_err(|e| crate::one_line(&job_error(e)))
    });
    if prechecked.iter().any(Option::is_none) {
        job.load().map_err(job_error)?;
    }
    let upscale = matches!(job, FileJob::Upscale(_));
    let mut one = |i: usize, item: &BatchItem| {
        let result = with_display(quiet, &|s| start_line((i, total), item, s), |hooks| {
            job.run_one(item, hooks)
        });
        let s = match result {
            Ok(s) => s,
            Err(e) if e.is_interrupted() => return Err(FileError::Interrupted),
            Err(e) => return Err(FileError::Failed(crate::one_line(&job_error(e)))),
        };
        if upscale && s.output.alpha_dropped && !quiet {
            eprintln!(
                "upframe: warning: {}: the encoder cannot store alpha; it was dropped",
                item.output.display()
            );
        }
        Ok(FileReport {
            input_size: (s.input_info.width, s.input_info.height),
            output_size: s.output_size,
            frames: s.frames_made,
            bytes: s.output.bytes,
            short_input: short_input_note(s.short_input.as_ref()),
        })
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
    let cancel = cancel_token().flag();
    let report = batch::run_batch(plan, prechecked, &cancel, &mut one, &mut on_result);
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
