//! The registry of known models (name, official URL, size, sha256, license, scale) and the local
//! model cache (XDG conventions, `--model-dir`, `UPFRAME_MODEL_DIR`).
//!
//! - [`lookup`] finds a catalogue entry by name or alias (case-insensitive).
//! - [`model_dir`] picks the cache directory: flag > `UPFRAME_MODEL_DIR` >
//!   `$XDG_CACHE_HOME/upframe/models` > `~/.cache/upframe/models`.
//! - [`resolve`] turns a user's `--model` argument (a file path or a registry name) into a file,
//!   or into the copy built into the binary ([`EMBEDDED_MODELS`]) when the model directory has
//!   no file for that name: a file in the model directory wins (it is what the user fetched or
//!   placed there, and `models verify` checks it); the embedded copy is the official file byte
//!   for byte, so either gives the same output.
//! - [`verify_dir`] hashes the files found in a model directory against the official hashes.
//! - [`fetch`] downloads a model from its official URL, verifies it and caches it atomically.

mod catalog;
mod download;
mod embedded;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use catalog::KNOWN_MODELS;
pub use download::{
    base_url_from_env, fetch, FetchOptions, FetchOutcome, FetchProgress, NoProgress,
};
pub use embedded::{embedded, EmbeddedModel, EMBEDDED_MODELS};

use crate::error::ModelError;
use crate::state_dict::StateDict;

/// Environment variable naming the model directory (below `--model-dir`, above the XDG cache).
pub const MODEL_DIR_ENV: &str = "UPFRAME_MODEL_DIR";
/// Environment variable replacing the download host: `<base>/<official file name>` is fetched
/// instead of the official URL (tests, mirrors).
pub const BASE_URL_ENV: &str = "UPFRAME_MODEL_BASE_URL";

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Single-image super-resolution (Real-ESRGAN family).
    Upscale,
    /// Frame interpolation between two frames (RIFE family).
    Interpolate,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Upscale => "upscale",
            Task::Interpolate => "interpolate",
        }
    }
}

/// The network family and its hyper-parameters, as the loaders need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// Real-ESRGAN's compact VGG-style network with PReLU activations.
    SrVggNetCompact { num_feat: u32, num_conv: u32 },
    /// ESRGAN's residual-in-residual dense block network (scale 2 adds pixel-unshuffle(2)).
    RrdbNet {
        num_feat: u32,
        num_block: u32,
        num_grow_ch: u32,
    },
    /// Practical-RIFE's IFNet (any v4.x layout; the loader recognises it from the weights).
    IfNet { version: &'static str },
}

impl Architecture {
    /// Short family name, e.g. `SRVGGNetCompact`.
    pub fn family(&self) -> &'static str {
        match self {
            Architecture::SrVggNetCompact { .. } => "SRVGGNetCompact",
            Architecture::RrdbNet { .. } => "RRDBNet",
            Architecture::IfNet { .. } => "IFNet",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Architecture::SrVggNetCompact { num_feat, num_conv } => {
                write!(f, "SRVGGNetCompact(feat {num_feat}, conv {num_conv})")
            }
            Architecture::RrdbNet {
                num_feat,
                num_block,
                num_grow_ch,
            } => {
                write!(
                    f,
                    "RRDBNet(feat {num_feat}, blocks {num_block}, grow {num_grow_ch})"
                )
            }
            Architecture::IfNet { version } => write!(f, "IFNet v{version}"),
        }
    }
}

/// Where the official file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A direct download URL (GitHub release asset).
    Release { url: &'static str },
    /// No direct URL: the user downloads it by hand from `page`.
    Manual {
        page: &'static str,
        instructions: &'static str,
    },
}

impl Source {
    /// The official direct URL, if there is one.
    pub fn url(&self) -> Option<&'static str> {
        match self {
            Source::Release { url } => Some(url),
            Source::Manual { .. } => None,
        }
    }
}

/// A known non-official file that stands in for a model (the shared test assets' layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Substitute {
    /// Path relative to the model directory.
    pub relative_path: &'static str,
    /// Why it is not the official file.
    pub note: &'static str,
    /// The sha256 of the substitute itself, when recorded.
    pub sha256: Option<&'static str>,
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownModel {
    /// Canonical name, as in the official release (`RealESRGAN_x4plus`).
    pub name: &'static str,
    /// Other accepted names (matched case-insensitively, like `name`).
    pub aliases: &'static [&'static str],
    pub task: Task,
    pub architecture: Architecture,
    /// Output size / input size; 1 for interpolation models.
    pub scale: u32,
    /// Where the official file lives inside the model directory.
    pub cache_path: &'static str,
    pub source: Source,
    /// Official file size in bytes, when known.
    pub size: Option<u64>,
    /// Official sha256 (lowercase hex), when known.
    pub sha256: Option<&'static str>,
    /// SPDX license of the weights.
    pub license: &'static str,
    /// The paired model used for blending (denoise strength), if any.
    pub companion: Option<&'static str>,
    /// Known non-official stand-ins, searched after `cache_path`.
    pub substitutes: &'static [Substitute],
    pub description: &'static str,
}

impl KnownModel {
    /// Whether `query` names this model (canonical name, alias, or official file name).
    pub fn matches(&self, query: &str) -> bool {
        let file_name = Path::new(self.cache_path)
            .file_name()
            .and_then(|n| n.to_str());
        self.name.eq_ignore_ascii_case(query)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(query))
            || (self.task == Task::Upscale
                && file_name.is_some_and(|f| f.eq_ignore_ascii_case(query)))
    }
}

/// Errors of the registry, the cache and downloads. Each renders as one line naming the model
/// or file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("unknown model '{name}'{}; known models: {known}", did_you_mean(.suggestion))]
    UnknownModel {
        name: String,
        suggestion: Option<&'static str>,
        known: String,
    },
    #[error("model file {} does not exist", .path.display())]
    FileNotFound { path: PathBuf },
    #[error("model '{name}' is not in the model directory {}: {hint}", .dir.display())]
    NotCached {
        name: &'static str,
        dir: PathBuf,
        hint: String,
    },
    #[error(
        "no model directory: pass --model-dir, or set {MODEL_DIR_ENV}, XDG_CACHE_HOME or HOME"
    )]
    NoModelDir,
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "model '{name}' has no direct download: {instructions} to {} (download page: {page})",
        .destination.display()
    )]
    ManualDownload {
        name: &'static str,
        page: &'static str,
        instructions: &'static str,
        destination: PathBuf,
    },
    #[error(
        "model '{name}' has no known official sha256, so a download cannot be verified; \
         pass --allow-unverified to accept it anyway"
    )]
    UnverifiedRefused { name: &'static str },
    #[error(
        "downloading '{name}' from {url} failed: {message}; to install it by hand, download \
         {official_url} and save it as {}",
        .destination.display()
    )]
    Http {
        name: &'static str,
        url: String,
        message: String,
        /// The official URL (also when `url` is a mirror).
        official_url: &'static str,
        /// Where a manually downloaded file must be placed.
        destination: PathBuf,
    },
    #[error(
        "downloading '{name}' from {url} failed: HTTP status {status}; to install it by hand, \
         download {official_url} and save it as {}",
        .destination.display()
    )]
    HttpStatus {
        name: &'static str,
        url: String,
        status: u16,
        official_url: &'static str,
        destination: PathBuf,
    },
    #[error(
        "download of '{name}' from {url} has {actual} bytes, expected {expected}; nothing was saved"
    )]
    SizeMismatch {
        name: &'static str,
        url: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "download of '{name}' from {url} has sha256 {actual}, not the official {expected}; \
         the download was deleted"
    )]
    HashMismatch {
        name: &'static str,
        url: String,
        expected: &'static str,
        actual: String,
    },
    #[error(
        "cached file {} of '{name}' has sha256 {actual}, not the official {expected}; \
         replace it with `upframe models fetch {name} --force`",
        .path.display()
    )]
    CachedMismatch {
        name: &'static str,
        path: PathBuf,
        expected: &'static str,
        actual: String,
    },
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(name) => format!(" (did you mean '{name}'?)"),
        None => String::new(),
    }
}

impl RegistryError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        RegistryError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Finds a known model by canonical name, alias or official file name (case-insensitive).
pub fn lookup(name: &str) -> Option<&'static KnownModel> {
    KNOWN_MODELS.iter().find(|m| m.matches(name.trim()))
}

/// Like [`lookup`], but an unknown name becomes an error listing the known names and the
/// closest one.
pub fn lookup_or_suggest(name: &str) -> Result<&'static KnownModel, RegistryError> {
    lookup(name).ok_or_else(|| RegistryError::UnknownModel {
        name: name.to_string(),
        suggestion: closest_name(name),
        known: KNOWN_MODELS
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The canonical name closest to `query` (edit distance over names and aliases), when close
/// enough to be a plausible typo.
pub fn closest_name(query: &str) -> Option<&'static str> {
    let query = query.trim().to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for model in KNOWN_MODELS {
        for candidate in std::iter::once(model.name).chain(model.aliases.iter().copied()) {
            let candidate_lower = candidate.to_ascii_lowercase();
            let mut distance = edit_distance(&query, &candidate_lower);
            // A prefix of a name ("realesrgan_x4") is a strong hint even when far in edits.
            if query.len() >= 4 && candidate_lower.starts_with(&query) {
                distance = distance.min(1);
            }
            let better = match best {
                Some((best_distance, _)) => distance < best_distance,
                None => true,
            };
            if better {
                best = Some((distance, model.name));
            }
        }
    }
    let (distance, name) = best?;
    let limit = (query.chars().count() / 3).max(2);
    (distance <= limit).then_some(name)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// The model directory: `flag` > `UPFRAME_MODEL_DIR` > `$XDG_CACHE_HOME/upframe/models` >
/// `~/.cache/upframe/models`. The directory need not exist yet.
pub fn model_dir(flag: Option<&Path>) -> Result<PathBuf, RegistryError> {
    model_dir_with_env(flag, |key| std::env::var_os(key))
}

/// [`model_dir`] with an explicit environment lookup (for callers and tests that must not read
/// the process environment).
pub fn model_dir_with_env(
    flag: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, RegistryError> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let non_empty = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty(MODEL_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    // The XDG base-directory spec says relative values are invalid and must be ignored.
    if let Some(cache) = non_empty("XDG_CACHE_HOME").map(PathBuf::from) {
        if cache.is_absolute() {
            return Ok(cache.join("upframe").join("models"));
        }
    }
    match non_empty("HOME") {
        Some(home) => Ok(PathBuf::from(home)
            .join(".cache")
            .join("upframe")
            .join("models")),
        None => Err(RegistryError::NoModelDir),
    }
}

/// How a resolved file relates to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The user named the file directly.
    UserPath,
    /// The model's canonical file in the model directory.
    Cache,
    /// A known non-official stand-in in the model directory (see its note).
    Substitute(&'static Substitute),
    /// The official file built into the binary (no file in the model directory).
    Embedded,
}

impl Origin {
    /// Short name for reports and JSON: `path`, `cache`, `substitute`, `embedded`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::UserPath => "path",
            Origin::Cache => "cache",
            Origin::Substitute(_) => "substitute",
            Origin::Embedded => "embedded",
        }
    }
}

/// Where a resolved model's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weights {
    /// A file on disk.
    File(PathBuf),
    /// Bytes compiled into the binary.
    Embedded(&'static EmbeddedModel),
}

/// A model ready to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedModel {
    pub weights: Weights,
    /// The catalogue entry, when known (for a user path: recognised by its file name).
    pub model: Option<&'static KnownModel>,
    pub origin: Origin,
}

impl ResolvedModel {
    fn file(path: PathBuf, model: Option<&'static KnownModel>, origin: Origin) -> Self {
        ResolvedModel {
            weights: Weights::File(path),
            model,
            origin,
        }
    }

    fn embedded(model: &'static KnownModel, embedded: &'static EmbeddedModel) -> Self {
        ResolvedModel {
            weights: Weights::Embedded(embedded),
            model: Some(model),
            origin: Origin::Embedded,
        }
    }

    /// The file on disk; `None` for the embedded copy.
    pub fn path(&self) -> Option<&Path> {
        match &self.weights {
            Weights::File(path) => Some(path),
            Weights::Embedded(_) => None,
        }
    }

    /// Where the weights come from, for messages: the file's path, or
    /// `realesr-animevideov3.pth (embedded in upframe)`.
    pub fn describe(&self) -> String {
        match &self.weights {
            Weights::File(path) => path.display().to_string(),
            Weights::Embedded(e) => format!("{} (embedded in upframe)", e.file_name),
        }
    }

    /// A short name for progress lines: the file stem (`realesr-animevideov3`).
    pub fn display_name(&self) -> String {
        let file_name = match &self.weights {
            Weights::File(path) => path.as_path(),
            Weights::Embedded(e) => Path::new(e.file_name),
        };
        file_name
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.describe())
    }

    /// sha256 (lowercase hex) and size of the weights, the same for the embedded copy as for
    /// the official file.
    pub fn sha256(&self) -> Result<(String, u64), RegistryError> {
        match &self.weights {
            Weights::File(path) => sha256_file(path),
            Weights::Embedded(e) => Ok(sha256_bytes(e.bytes)),
        }
    }

    /// Reads the weights (`.pth` without executing pickle code, or safetensors); errors name
    /// the file (or the embedded copy).
    pub fn load_weights(&self) -> Result<StateDict, ModelError> {
        match &self.weights {
            Weights::File(path) => crate::safetensors_io::load_weights(path),
            Weights::Embedded(e) => crate::safetensors_io::parse_weights_bytes(e.bytes)
                .map_err(|err| err.in_file(self.describe())),
        }
    }
}

/// Turns a `--model` argument into a file: an existing path is used as is (a directory holding
/// `flownet.pkl` resolves to that file); otherwise a registry name is looked up in the model
/// directory (`model_dir`, or the default from [`model_dir`]).
pub fn resolve(
    name_or_path: &str,
    model_dir: Option<&Path>,
) -> Result<ResolvedModel, RegistryError> {
    let as_path = Path::new(name_or_path);
    if as_path.is_file() {
        return Ok(ResolvedModel::file(
            as_path.to_path_buf(),
            identify_file(as_path),
            Origin::UserPath,
        ));
    }
    if as_path.is_dir() {
        let flownet = as_path.join("flownet.pkl");
        if flownet.is_file() {
            let model = identify_file(&flownet);
            return Ok(ResolvedModel::file(flownet, model, Origin::UserPath));
        }
    }
    let model = match lookup(name_or_path) {
        Some(model) => model,
        None if looks_like_path(name_or_path) => {
            return Err(RegistryError::FileNotFound {
                path: as_path.to_path_buf(),
            })
        }
        None => lookup_or_suggest(name_or_path)?,
    };
    match self::model_dir(model_dir) {
        Ok(dir) => locate(model, &dir),
        // No HOME and no cache: the embedded copy needs neither.
        Err(e) => match embedded(model) {
            Some(copy) => Ok(ResolvedModel::embedded(model, copy)),
            None => Err(e),
        },
    }
}

/// A `--model` value that cannot be a registry name: has a separator or a weight extension.
fn looks_like_path(value: &str) -> bool {
    value.contains(std::path::MAIN_SEPARATOR)
        || value.contains('/')
        || [
            ".pth",
            ".pkl",
            ".safetensors",
            ".pt",
            ".bin",
            ".onnx",
            ".whl",
        ]
        .iter()
        .any(|ext| value.to_ascii_lowercase().ends_with(ext))
}

/// Finds `model`'s file in `dir`: the canonical file first, then the known substitutes, then
/// the copy built into the binary.
pub fn locate(model: &'static KnownModel, dir: &Path) -> Result<ResolvedModel, RegistryError> {
    if let Some((path, origin)) = installed_files(model, dir).into_iter().next() {
        return Ok(ResolvedModel::file(path, Some(model), origin));
    }
    if let Some(copy) = embedded(model) {
        return Ok(ResolvedModel::embedded(model, copy));
    }
    let hint = match model.source {
        Source::Release { .. } => format!("run `upframe models fetch {}`", model.name),
        Source::Manual { .. } => format!(
            "it needs a manual download, see `upframe models fetch {}`; expected at {}",
            model.name,
            dir.join(model.cache_path).display()
        ),
    };
    Err(RegistryError::NotCached {
        name: model.name,
        dir: dir.to_path_buf(),
        hint,
    })
}

/// The files of `model` present in `dir`: canonical first, then substitutes.
pub fn installed_files(model: &'static KnownModel, dir: &Path) -> Vec<(PathBuf, Origin)> {
    let canonical = dir.join(model.cache_path);
    let mut found = Vec::new();
    if canonical.is_file() {
        found.push((canonical, Origin::Cache));
    }
    for substitute in model.substitutes {
        let path = dir.join(substitute.relative_path);
        if path.is_file() {
            found.push((path, Origin::Substitute(substitute)));
        }
    }
    found
}

/// Recognises a file by its trailing path components (`.../rife-v4.26/flownet.pkl`,
/// `.../RealESRGAN_x4plus.pth`, a known substitute's layout).
pub fn identify_file(path: &Path) -> Option<&'static KnownModel> {
    KNOWN_MODELS
        .iter()
        .find(|m| path.ends_with(m.cache_path))
        .or_else(|| {
            KNOWN_MODELS.iter().find(|m| {
                m.substitutes
                    .iter()
                    .any(|s| path.ends_with(s.relative_path))
            })
        })
}

/// Streams a file through sha256; returns (lowercase hex, size in bytes).
pub fn sha256_file(path: &Path) -> Result<(String, u64), RegistryError> {
    let mut file = File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(RegistryError::io(path, e)),
        };
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// sha256 of bytes in memory; returns (lowercase hex, size in bytes).
pub fn sha256_bytes(bytes: &[u8]) -> (String, u64) {
    (hex(&Sha256::digest(bytes)), bytes.len() as u64)
}

/// Hashes an embedded model against its catalogue entry's official sha256.
pub fn verify_embedded(copy: &'static EmbeddedModel) -> (String, u64, VerifyStatus) {
    let (sha256, size) = sha256_bytes(copy.bytes);
    let status = match lookup(copy.name).and_then(|m| m.sha256) {
        Some(official) if official.eq_ignore_ascii_case(&sha256) => VerifyStatus::Official,
        Some(_) => VerifyStatus::NotOfficial,
        None => VerifyStatus::NoOfficialHash,
    };
    (sha256, size, status)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The outcome of hashing one file against its model's official hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyStatus {
    /// sha256 equals the official one.
    Official,
    /// An official sha256 is known and the file does not match it.
    NotOfficial,
    /// No official sha256 is known, so the file cannot be checked.
    NoOfficialHash,
}

impl VerifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Official => "official",
            VerifyStatus::NotOfficial => "not_official",
            VerifyStatus::NoOfficialHash => "no_official_hash",
        }
    }
}

/// One file found in a model directory, hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// Every catalogue entry this file stands for (several for the shared RIFE file).
    pub models: Vec<&'static str>,
    pub path: PathBuf,
    pub origin: Origin,
    pub size: u64,
    pub sha256: String,
    pub official_sha256: Option<&'static str>,
    pub status: VerifyStatus,
    /// For a known substitute with a recorded hash: whether the file is that substitute.
    pub matches_substitute: Option<bool>,
}

impl FileReport {
    /// A canonical file that differs from its official hash is corrupt or tampered with; a
    /// substitute that differs is expected.
    pub fn is_problem(&self) -> bool {
        self.status == VerifyStatus::NotOfficial && self.origin == Origin::Cache
            || self.matches_substitute == Some(false)
    }
}

/// Hashes one file found for `model`.
pub fn verify_file(
    model: &'static KnownModel,
    path: &Path,
    origin: Origin,
) -> Result<FileReport, RegistryError> {
    let (sha256, size) = sha256_file(path)?;
    let status = match model.sha256 {
        Some(official) if official.eq_ignore_ascii_case(&sha256) => VerifyStatus::Official,
        Some(_) => VerifyStatus::NotOfficial,
        None => VerifyStatus::NoOfficialHash,
    };
    let matches_substitute = match origin {
        Origin::Substitute(s) => s.sha256.map(|h| h.eq_ignore_ascii_case(&sha256)),
        _ => None,
    };
    Ok(FileReport {
        models: vec![model.name],
        path: path.to_path_buf(),
        origin,
        size,
        sha256,
        official_sha256: model.sha256,
        status,
        matches_substitute,
    })
}

/// Hashes every file of `models` found in `dir` (each path once, listing all the models it
/// stands for). Models with no file in `dir` are simply absent from the result.
pub fn verify_dir(
    dir: &Path,
    models: &[&'static KnownModel],
) -> Result<Vec<FileReport>, RegistryError> {
    let mut reports: Vec<FileReport> = Vec::new();
    let mut by_path: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for &model in models {
        for (path, origin) in installed_files(model, dir) {
            if let Some(&index) = by_path.get(&path) {
                reports[index].models.push(model.name);
                continue;
            }
            by_path.insert(path.clone(), reports.len());
            reports.push(verify_file(model, &path, origin)?);
        }
    }
    Ok(reports)
}

/// Weight-looking files in `dir` (and one level of sub-directories) that no catalogue entry
/// accounts for.
pub fn unrecognised_files(dir: &Path) -> Vec<PathBuf> {
    let mut known: Vec<PathBuf> = Vec::new();
    for model in KNOWN_MODELS {
        known.push(dir.join(model.cache_path));
        known.extend(model.substitutes.iter().map(|s| dir.join(s.relative_path)));
    }
    let mut found = Vec::new();
    let scan = |d: &Path, found: &mut Vec<PathBuf>, subdirs: &mut Vec<PathBuf>| {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                subdirs.push(path);
            } else if is_weight_file(&path) && !known.contains(&path) {
                found.push(path);
            }
        }
    };
    let mut subdirs = Vec::new();
    scan(dir, &mut found, &mut subdirs);
    for sub in subdirs {
        scan(&sub, &mut found, &mut Vec::new());
    }
    found.sort();
    found
}

fn is_weight_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "pth" | "pkl" | "pt" | "safetensors" | "onnx" | "bin"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_file_hashes_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.pth");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn names_and_aliases_are_unique_across_the_catalogue() {
        let mut seen = std::collections::HashSet::new();
        for model in KNOWN_MODELS {
            for name in std::iter::once(model.name).chain(model.aliases.iter().copied()) {
                assert!(
                    seen.insert(name.to_ascii_lowercase()),
                    "duplicate name {name}"
                );
            }
        }
    }

    #[test]
    fn catalogue_entries_are_consistent() {
        for model in KNOWN_MODELS {
            if let Some(hash) = model.sha256 {
                assert_eq!(hash.len(), 64, "{}", model.name);
                assert!(hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            }
            if let Source::Release { url } = model.source {
                assert!(
                    url.starts_with("https://github.com/xinntao/Real-ESRGAN/releases/download/v")
                );
                let file = Path::new(model.cache_path)
                    .file_name()
                    .and_then(|f| f.to_str());
                assert!(
                    file.is_some_and(|f| url.ends_with(&format!("/{f}"))),
                    "{}",
                    model.name
                );
                assert!(
                    model.sha256.is_some() && model.size.is_some(),
                    "{}",
                    model.name
                );
            }
            if let Some(companion) = model.companion {
                assert_eq!(
                    lookup(companion).and_then(|c| c.companion),
                    Some(model.name)
                );
            }
        }
    }
}
