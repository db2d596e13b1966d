//! `upframe models list|fetch|verify|path`: the registry of known models and the local model
//! cache. Owned by the registry work; wired into `main.rs` as the `models` subcommand.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use upframe_models::registry::{
    self, FetchOptions, FetchOutcome, FetchProgress, FileReport, KnownModel, Origin, ResolvedModel,
    Source, VerifyStatus, Weights, KNOWN_MODELS,
};

/// The model registry and the local model cache: list, fetch, verify, path.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Model directory [default: $UPFRAME_MODEL_DIR, else $XDG_CACHE_HOME/upframe/models, else
    /// ~/.cache/upframe/models]
    #[arg(long, global = true, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ModelsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the known models and whether each is in the model directory (or built into
    /// upframe: realesr-animevideov3 is embedded, so it works with no download).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download a model from its official URL, verify its sha256 and cache it.
    ///
    /// The download goes to a temporary file in the model directory and is renamed into place
    /// only when its size and sha256 match the official ones. UPFRAME_MODEL_BASE_URL replaces
    /// the download host (`<base>/<official file name>`); HTTPS_PROXY/HTTP_PROXY/NO_PROXY are
    /// honoured.
    Fetch {
        /// Model name or alias (see `upframe models list`).
        name: String,
        /// Download again even if the model is already cached.
        #[arg(long)]
        force: bool,
        /// Accept a model whose official sha256 is unknown (the file stays unverified).
        #[arg(long)]
        allow_unverified: bool,
    },
    /// Hash the model files in the model directory, and the models built into upframe,
    /// against the official hashes.
    ///
    /// Exits with status 1 when a model's canonical file does not match its official hash
    /// (corrupt or replaced) or a named model is not there. Known substitutes (the shared
    /// assets' derived files) are reported as not official without failing.
    Verify {
        /// Only these models (default: every file found).
        names: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the file a model name (or path) resolves to; `embedded:<file name>` when no file
    /// is in the model directory and upframe uses its built-in copy.
    Path {
        /// Model name, alias, or a path to a weight file.
        name: String,
    },
}

pub fn run(args: ModelsArgs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    run_to(args, &mut out)
}

/// [`run`] writing its report to `out` (progress bars and notes go to stderr).
pub fn run_to(args: ModelsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir_flag = args.model_dir.as_deref();
    match args.command {
        ModelsCommand::List { json } => list(&registry::model_dir(dir_flag)?, json, out),
        ModelsCommand::Fetch {
            name,
            force,
            allow_unverified,
        } => {
            let model = registry::lookup_or_suggest(&name)?;
            let dir = registry::model_dir(dir_flag)?;
            let options = FetchOptions {
                force,
                allow_unverified,
                base_url: registry::base_url_from_env(),
            };
            fetch(model, &dir, &options, out)
        }
        ModelsCommand::Verify { names, json } => {
            verify(&registry::model_dir(dir_flag)?, &names, json, out)
        }
        ModelsCommand::Path { name } => {
            let resolved = registry::resolve(&name, dir_flag)?;
            match (&resolved.weights, resolved.origin) {
                (Weights::Embedded(copy), _) => {
                    let model_dir = registry::model_dir(dir_flag)
                        .map(|d| format!("no file in {}, so ", d.display()))
                        .unwrap_or_default();
                    eprintln!(
                        "note: {}: {model_dir}upframe uses the official file built into it",
                        copy.name
                    );
                    writeln!(out, "embedded:{}", copy.file_name)?;
                }
                (Weights::File(path), origin) => {
                    if let Origin::Substitute(substitute) = origin {
                        eprintln!(
                            "note: {} is a stand-in: {}",
                            path.display(),
                            substitute.note
                        );
                    }
                    writeln!(out, "{}", path.display())?;
                }
            }
            Ok(())
        }
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} kB", bytes as f64 / 1e3)
    }
}

fn list(dir: &Path, as_json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let found: Vec<Option<ResolvedModel>> = KNOWN_MODELS
        .iter()
        .map(|m| registry::locate(m, dir).ok())
        .collect();
    if as_json {
        let models: Vec<Value> = KNOWN_MODELS
            .iter()
            .zip(&found)
            .map(|(model, found)| {
                let cached = found.as_ref().map(|r| {
                    json!({
                        "path": r.path(),
                        "origin": r.origin.as_str(),
                        "note": match r.origin {
                            Origin::Substitute(s) => Some(s.note),
                            _ => None,
                        },
                    })
                });
                let (url, manual_page) = match model.source {
                    Source::Release { url } => (Some(url), None),
                    Source::Manual { page, .. } => (None, Some(page)),
                };
                json!({
                    "name": model.name,
                    "aliases": model.aliases,
                    "task": model.task.as_str(),
                    "family": model.architecture.family(),
                    "architecture": model.architecture.to_string(),
                    "scale": model.scale,
                    "size": model.size,
                    "sha256": model.sha256,
                    "url": url,
                    "manual_page": manual_page,
                    "license": model.license,
                    "companion": model.companion,
                    "description": model.description,
                    "cache_path": model.cache_path,
                    "cached": cached,
                })
            })
            .collect();
        let report = json!({ "model_dir": dir, "models": models });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
        return Ok(());
    }
    writeln!(out, "model directory: {}", dir.display())?;
    writeln!(
        out,
        "{:<28} {:<5} {:<16} {:>8}  {:<18} AVAILABLE",
        "NAME", "SCALE", "ARCH", "SIZE", "OFFICIAL SOURCE"
    )?;
    for (model, found) in KNOWN_MODELS.iter().zip(&found) {
        let scale = match model.task {
            registry::Task::Upscale => format!("x{}", model.scale),
            registry::Task::Interpolate => "-".to_string(),
        };
        let size = model.size.map_or_else(|| "?".to_string(), human_size);
        let source = match (model.source, model.sha256) {
            (Source::Release { .. }, Some(_)) => "url + sha256",
            (Source::Release { .. }, None) => "url, no sha256",
            (Source::Manual { .. }, Some(_)) => "manual + sha256",
            (Source::Manual { .. }, None) => "manual, no sha256",
        };
        let cached = match found {
            None => "no".to_string(),
            Some(r) => match r.origin {
                Origin::Substitute(s) => format!("substitute: {} (not official)", s.relative_path),
                Origin::Embedded => "built in (embedded)".to_string(),
                _ => "yes".to_string(),
            },
        };
        writeln!(
            out,
            "{:<28} {:<5} {:<16} {:>8}  {:<18} {}",
            model.name,
            scale,
            model.architecture.family(),
            size,
            source,
            cached
        )?;
    }
    Ok(())
}

/// Draws an indicatif bar (bytes, rate, ETA) on stderr; hidden when stderr is not a terminal.
struct BarProgress {
    bar: Option<ProgressBar>,
    label: String,
}

impl FetchProgress for BarProgress {
    fn start(&mut self, _url: &str, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg} {spinner} {bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(self.label.clone());
        self.bar = Some(bar);
    }

    fn advance(&mut self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn fetch(
    model: &'static KnownModel,
    dir: &Path,
    options: &FetchOptions,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut progress = BarProgress {
        bar: None,
        label: format!("fetching {}", model.name),
    };
    match registry::fetch(model, dir, options, &mut progress)? {
        FetchOutcome::AlreadyCached { path } => {
            let checked = if model.sha256.is_some() {
                "sha256 matches"
            } else {
                "unverified"
            };
            writeln!(
                out,
                "{} is already cached at {} ({checked}; --force downloads again)",
                model.name,
                path.display()
            )?;
        }
        FetchOutcome::Downloaded {
            path,
            url,
            bytes,
            sha256,
            verified,
        } => {
            let status = if verified {
                "matches the official sha256"
            } else {
                "UNVERIFIED: no official sha256 is known"
            };
            writeln!(out, "downloaded {} from {url}", model.name)?;
            writeln!(out, "  {} bytes, sha256 {sha256} ({status})", bytes)?;
            writeln!(out, "  saved to {}", path.display())?;
            if let Some(companion) = model.companion {
                writeln!(
                    out,
                    "  denoise blending also needs its companion: upframe models fetch {companion}"
                )?;
            }
        }
    }
    Ok(())
}

fn status_text(report: &FileReport) -> String {
    let official = report.official_sha256.unwrap_or("-");
    let substitute = match report.origin {
        Origin::Substitute(s) => match report.matches_substitute {
            Some(true) => format!("; known stand-in: {}", s.note),
            Some(false) => format!("; NOT the recorded stand-in either ({})", s.note),
            None => format!("; stand-in: {}", s.note),
        },
        _ => String::new(),
    };
    match report.status {
        VerifyStatus::Official => "OFFICIAL: matches the official release file".to_string(),
        VerifyStatus::NotOfficial => {
            format!("NOT OFFICIAL: the official sha256 is {official}{substitute}")
        }
        VerifyStatus::NoOfficialHash => {
            format!("NO OFFICIAL HASH KNOWN: cannot be verified{substitute}")
        }
    }
}

fn verify(dir: &Path, names: &[String], as_json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let models: Vec<&'static KnownModel> = if names.is_empty() {
        KNOWN_MODELS.iter().collect()
    } else {
        names
            .iter()
            .map(|n| registry::lookup_or_suggest(n))
            .collect::<Result<_, _>>()?
    };
    let reports = registry::verify_dir(dir, &models)
        .with_context(|| format!("verifying {}", dir.display()))?;
    // The copies built into the binary: (model, file name, sha256, size, status).
    let embedded: Vec<_> = models
        .iter()
        .filter_map(|m| registry::embedded(m).map(|copy| (*m, copy)))
        .map(|(m, copy)| {
            let (sha256, size, status) = registry::verify_embedded(copy);
            (m, copy.file_name, sha256, size, status)
        })
        .collect();
    let missing: Vec<&str> = if names.is_empty() {
        Vec::new()
    } else {
        models
            .iter()
            .filter(|m| !reports.iter().any(|r| r.models.contains(&m.name)))
            .filter(|m| registry::embedded(m).is_none())
            .map(|m| m.name)
            .collect()
    };
    let unrecognised = if names.is_empty() {
        registry::unrecognised_files(dir)
    } else {
        Vec::new()
    };
    let problems = reports.iter().filter(|r| r.is_problem()).count()
        + embedded
            .iter()
            .filter(|e| e.4 != VerifyStatus::Official)
            .count()
        + missing.len();

    if as_json {
        let files: Vec<Value> = reports
            .iter()
            .map(|r| {
                json!({
                    "models": r.models,
                    "path": r.path,
                    "origin": r.origin.as_str(),
                    "size": r.size,
                    "sha256": r.sha256,
                    "official_sha256": r.official_sha256,
                    "status": r.status.as_str(),
                    "substitute_note": match r.origin {
                        Origin::Substitute(s) => Some(s.note),
                        _ => None,
                    },
                    "matches_substitute": r.matches_substitute,
                    "problem": r.is_problem(),
                })
            })
            .collect();
        let embedded: Vec<Value> = embedded
            .iter()
            .map(|(model, file_name, sha256, size, status)| {
                json!({
                    "model": model.name,
                    "file_name": file_name,
                    "origin": Origin::Embedded.as_str(),
                    "size": size,
                    "sha256": sha256,
                    "official_sha256": model.sha256,
                    "status": status.as_str(),
                    "problem": *status != VerifyStatus::Official,
                })
            })
            .collect();
        let report = json!({
            "model_dir": dir,
            "files": files,
            "embedded": embedded,
            "missing": missing,
            "unrecognised": unrecognised,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        writeln!(out, "model directory: {}", dir.display())?;
        if reports.is_empty() && missing.is_empty() {
            writeln!(out, "no known model files in the model directory")?;
        }
        for report in &reports {
            let relative = report.path.strip_prefix(dir).unwrap_or(&report.path);
            writeln!(out, "{}: {}", report.models.join(", "), relative.display())?;
            writeln!(out, "  sha256 {} ({} bytes)", report.sha256, report.size)?;
            writeln!(out, "  {}", status_text(report))?;
        }
        for (model, file_name, sha256, size, status) in &embedded {
            writeln!(
                out,
                "{}: {file_name} built into upframe (embedded)",
                model.name
            )?;
            writeln!(out, "  sha256 {sha256} ({size} bytes)")?;
            let official = model.sha256.unwrap_or("-");
            writeln!(
                out,
                "  {}",
                match status {
                    VerifyStatus::Official => "OFFICIAL: matches the official release file".into(),
                    _ => format!("NOT OFFICIAL: the official sha256 is {official}"),
                }
            )?;
        }
        for name in &missing {
            writeln!(out, "{name}: MISSING from the model directory")?;
        }
        for path in &unrecognised {
            writeln!(
                out,
                "{}: not a registry model (unrecognised file)",
                path.display()
            )?;
        }
    }
    if problems > 0 {
        anyhow::bail!(
            "{problems} problem(s) in {}: see the report above (re-fetch with --force)",
            dir.display()
        );
    }
    Ok(())
}
