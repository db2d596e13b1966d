//! Batches: several inputs in one run (folders of photos, `-i a.mp4 -i b.mkv`, folders of
//! videos), each file processed as its own job at its own size and written to an output named
//! after it.
//!
//! Three parts with small typed faces, so a library can take them over:
//! - [`shape`] decides from `-i`/`-o` whether a run is one job or a batch (the folder rule),
//! - [`plan`] lists the files and names their outputs ([`BatchItem`] pairs), refusing
//!   collisions and writing into an input folder before anything runs,
//! - [`precheck`] settles what can be told before any work (taken outputs, `--skip-existing`),
//!   so a model is loaded only when something is left to do,
//! - [`run_batch`] runs a per-file closure over the pairs and returns per-file results
//!   ([`FileResult`]); one failing file does not stop the others, Ctrl-C does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// An image format a batch can write (`--ext`): its name, the extensions that mean it, and
/// whether it stores alpha. Adding a format the media layer writes is one line here.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageFormat {
    pub name: &'static str,
    pub extensions: &'static [&'static str],
    pub alpha: bool,
}

/// The formats `--ext` accepts, in the order `--help` lists them: name, extensions, alpha.
pub const IMAGE_OUTPUT_FORMATS: &[ImageFormat] = &[
    image_format("png", &["png"], true),
    image_format("jpg", &["jpg", "jpeg"], false),
    image_format("webp", &["webp"], true),
    image_format("tif", &["tif", "tiff"], true),
    image_format("bmp", &["bmp"], true),
];

const fn image_format(
    name: &'static str,
    extensions: &'static [&'static str],
    alpha: bool,
) -> ImageFormat {
    ImageFormat {
        name,
        extensions,
        alpha,
    }
}

/// Extensions a folder listing takes as videos (anything FFmpeg reads can still be given with
/// `-i`; in a folder, other files are skipped so notes and thumbnails are not "failures").
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mkv", "mov", "webm", "avi", "wmv", "flv", "mpg", "mpeg", "ts", "m2ts", "mts",
    "3gp", "ogv", "y4m", "ivf", "h264", "264", "h265", "265", "hevc",
];

/// The writable format an extension means (case-insensitive).
pub fn format_for_extension(ext: &str) -> Option<&'static ImageFormat> {
    let ext = ext.to_ascii_lowercase();
    IMAGE_OUTPUT_FORMATS
        .iter()
        .find(|f| f.extensions.contains(&ext.as_str()))
}

/// `--ext`: keep the input's format, or write every image in one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtChoice {
    Auto,
    Format(&'static ImageFormat),
}

/// Parses `--ext`: `auto` or a name/extension of [`IMAGE_OUTPUT_FORMATS`].
pub fn parse_ext(s: &str) -> Result<ExtChoice, String> {
    let t = s.trim().trim_start_matches('.');
    if t.eq_ignore_ascii_case("auto") {
        return Ok(ExtChoice::Auto);
    }
    format_for_extension(t)
        .map(ExtChoice::Format)
        .ok_or_else(|| {
            let names: Vec<&str> = IMAGE_OUTPUT_FORMATS.iter().map(|f| f.name).collect();
            format!(
                "unknown image format '{s}' (use auto, {})",
                names.join(", ")
            )
        })
}

/// Batch options of `upscale`, `interpolate` and `enhance` (`--suffix`, `--skip-existing`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// Folder output: added to each output name before the extension (Real-ESRGAN's
    /// `--suffix`: one that starts with a letter or digit gets an underscore first).
    pub suffix: Option<String>,
    /// Leave inputs whose output already exists alone (counted as skipped).
    pub skip_existing: bool,
}

/// How outputs are named.
#[derive(Clone, Debug, PartialEq)]
pub enum Naming {
    /// `dir/<stem><suffix>.<ext>` (`-o DIR/`).
    Folder { dir: PathBuf, suffix: String },
    /// `-o 'out/{stem}_x2.mkv'`: `{stem}` is the input's name without its extension, `{ext}`
    /// the extension a folder output would use.
    Template(String),
}

/// What a folder input means to a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderRule {
    /// `upscale`: a batch of files, unless `sequence` (`--sequence`) or the output is a video
    /// file or a frame pattern.
    FilesUnlessSequence { sequence: bool },
    /// `interpolate`, `enhance`: always the frames of one sequence (new frames between
    /// unrelated photos mean nothing).
    AlwaysSequence,
}

/// Whether a run is one job (a file, an image sequence) or a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Single,
    Batch(Naming),
}

/// Errors found before anything runs. Each names the path it is about.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{}: several inputs are written to a folder (-o DIR/) or to a name pattern with {{stem}} (-o 'DIR/{{stem}}_x2.mp4')", .output.display())]
    NeedsFolderOutput { output: PathBuf },
    #[error("{}: a folder of images is written to a folder (-o DIR/), a frame pattern (-o DIR/%06d.png) or a video file; add --sequence to read it as the frames of one sequence", .input.display())]
    FolderToImage { input: PathBuf },
    #[error("--sequence reads one folder or pattern as one sequence; it takes a single -i")]
    SequenceOfSeveral,
    #[error("{what} applies to a batch (a folder or several inputs written to a folder); {} is one job", .output.display())]
    OptionNeedsBatch { what: String, output: PathBuf },
    #[error("{}: --suffix and --ext apply to a folder output; in a name pattern, write the name and extension into the pattern", .output.display())]
    OptionWithTemplate { output: PathBuf },
    #[error("{}: the output folder is the input folder; write to another folder (-o {}_out/) so inputs and outputs never mix", .dir.display(), .dir.display())]
    OutputIsInputFolder { dir: PathBuf },
    #[error("{}: no images or videos in this folder", .dir.display())]
    EmptyFolder { dir: PathBuf },
    #[error("{}: would be written for both {} and {}; use --suffix, --ext or a {{stem}} pattern that tells them apart", .output.display(), .first.display(), .second.display())]
    Collision {
        output: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{}: output of {} is one of the inputs", .output.display(), .input.display())]
    OutputIsAnInput { output: PathBuf, input: PathBuf },
    #[error("{}: {reason}", .path.display())]
    Io { path: PathBuf, reason: String },
}

/// Whether `path` reads as a printf frame pattern (`frames/%06d.png`, not an existing file).
fn is_frame_pattern(path: &Path) -> bool {
    upframe_media::has_image_extension(path)
        && !path.is_file()
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains('%'))
}

fn is_template(output: &Path) -> bool {
    let s = output.to_string_lossy();
    s.contains("{stem}") || s.contains("{ext}")
}

/// A folder output: an existing folder, a path ending with `/`, or a path without extension
/// that does not exist yet (`-o results`, as Real-ESRGAN users type).
fn is_folder_output(output: &Path) -> bool {
    output.is_dir()
        || output.as_os_str().to_string_lossy().ends_with('/')
        || (output.extension().is_none() && !output.exists() && !is_frame_pattern(output))
}

/// The folder rule ([`FolderRule`]). For `upscale`, a folder input is a batch of files (each
/// on its own, at its own size, named after itself) unless `--sequence` is given or the
/// output is a video file or a frame pattern: then its images are the frames of one sequence.
/// Several inputs, or a file written to a folder or a `{stem}` pattern, are a batch;
/// everything else is one job.
pub fn shape(
    inputs: &[PathBuf],
    output: &Path,
    opts: &BatchOptions,
    ext: Option<ExtChoice>,
    rule: FolderRule,
) -> Result<Shape, BatchError> {
    let single_input = inputs.len() == 1;
    let sequence = match rule {
        FolderRule::FilesUnlessSequence { sequence } => sequence,
        FolderRule::AlwaysSequence => false,
    };
    if sequence && !single_input {
        return Err(BatchError::SequenceOfSeveral);
    }
    if is_template(output) && !sequence {
        if opts.suffix.is_some() || ext.is_some() {
            return Err(BatchError::OptionWithTemplate {
                output: output.to_path_buf(),
            });
        }
        return Ok(Shape::Batch(Naming::Template(
            output.to_string_lossy().into_owned(),
        )));
    }
    let folder_out = is_folder_output(output);
    let input = &inputs[0];
    let one_sequence =
        is_frame_pattern(input) || (input.is_dir() && rule == FolderRule::AlwaysSequence);
    let shape = if sequence || (single_input && one_sequence) {
        Shape::Single
    } else if folder_out {
        Shape::Batch(Naming::Folder {
            dir: output.to_path_buf(),
            suffix: normalise_suffix(opts.suffix.as_deref().unwrap_or("")),
        })
    } else if !single_input {
        return Err(BatchError::NeedsFolderOutput {
            output: output.to_path_buf(),
        });
    } else if input.is_dir()
        && rule != FolderRule::AlwaysSequence
        && upframe_media::has_image_extension(output)
        && !is_frame_pattern(output)
    {
        return Err(BatchError::FolderToImage {
            input: input.to_path_buf(),
        });
    } else {
        Shape::Single
    };
    if shape == Shape::Single && (opts.suffix.is_some() || ext.is_some() || opts.skip_existing) {
        let what = [
            (opts.suffix.is_some(), "--suffix"),
            (ext.is_some(), "--ext"),
            (opts.skip_existing, "--skip-existing"),
        ]
        .iter()
        .filter(|(given, _)| *given)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ");
        return Err(BatchError::OptionNeedsBatch {
            what,
            output: output.to_path_buf(),
        });
    }
    Ok(shape)
}

/// Real-ESRGAN joins name and suffix with `_`; a suffix that brings its own separator keeps it.
fn normalise_suffix(s: &str) -> String {
    match s.chars().next() {
        Some(c) if c.is_alphanumeric() => format!("_{s}"),
        _ => s.to_string(),
    }
}

/// What a batch input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Image,
    Video,
    /// A folder of frames or a frame pattern, read as one sequence (written as a video).
    Sequence,
}

/// One job of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchItem {
    pub input: PathBuf,
    pub output: PathBuf,
    pub kind: ItemKind,
}

/// The files of a batch and where their outputs go.
#[derive(Clone, Debug, Default)]
pub struct BatchPlan {
    pub items: Vec<BatchItem>,
    /// Files in input folders that are neither images nor videos (not processed).
    pub ignored: Vec<PathBuf>,
    /// Output folders that do not exist yet ([`OutputDirs`] creates them before the first job
    /// and removes them again if the batch wrote nothing into them).
    pub missing_dirs: Vec<PathBuf>,
}

fn kind_of(path: &Path) -> ItemKind {
    if path.is_dir() || is_frame_pattern(path) {
        ItemKind::Sequence
    } else if upframe_media::has_image_extension(path) {
        ItemKind::Image
    } else {
        ItemKind::Video
    }
}

fn extension_of(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_string)
}

/// The files directly inside `dir` that are images or videos, in name order; the others.
fn list_folder(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), BatchError> {
    let io = |e: std::io::Error| BatchError::Io {
        path: dir.to_path_buf(),
        reason: e.to_string().replace('\n', " "),
    };
    let mut media = Vec::new();
    let mut other = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        // Hidden files include upframe's own temporaries (.NAME.upframe-partial.EXT).
        if hidden || !path.is_file() {
            continue;
        }
        let is_video = extension_of(&path)
            .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if upframe_media::has_image_extension(&path) || is_video {
            media.push(path);
        } else {
            other.push(path);
        }
    }
    media.sort();
    other.sort();
    Ok((media, other))
}

/// The extension of an image's output: `--ext`, else the input's own (case kept) when it is
/// writable, else png; PNG instead of a format without alpha for images with alpha.
fn image_output_extension(input: &Path, ext: ExtChoice) -> String {
    let own = extension_of(input).filter(|e| format_for_extension(e).is_some());
    let (chosen, format) = match ext {
        ExtChoice::Format(f) => (f.name.to_string(), f),
        ExtChoice::Auto => match own {
            Some(e) => {
                let f = format_for_extension(&e).unwrap_or(&IMAGE_OUTPUT_FORMATS[0]);
                (e, f)
            }
            None => ("png".to_string(), &IMAGE_OUTPUT_FORMATS[0]),
        },
    };
    if !format.alpha && image_may_have_alpha(input) {
        return "png".to_string();
    }
    chosen
}

/// Whether the image at `path` has an alpha channel (only asked when the output format has
/// none; an unreadable file says no here and fails as its own job).
fn image_may_have_alpha(path: &Path) -> bool {
    let lossless_without_alpha = extension_of(path)
        .and_then(|e| format_for_extension(&e))
        .is_some_and(|f| !f.alpha);
    if lossless_without_alpha {
        return false;
    }
    upframe_media::probe(path)
        .ok()
        .and_then(|m| m.video)
        .is_some_and(|v| v.has_alpha)
}

/// The output path of `input` under `naming`.
pub fn output_for(input: &Path, kind: ItemKind, naming: &Naming, ext: ExtChoice) -> PathBuf {
    // A sequence is named after its folder (a pattern's folder: `shot1/%06d.png` -> shot1).
    let named = match kind {
        ItemKind::Sequence if !input.is_dir() => input.parent().unwrap_or(input),
        _ => input,
    };
    let stem = match kind {
        ItemKind::Sequence => named.file_name(),
        _ => named.file_stem(),
    }
    .map(|s| s.to_string_lossy().into_owned())
    .unwrap_or_default();
    let ext = match kind {
        ItemKind::Image => image_output_extension(input, ext),
        ItemKind::Video => extension_of(input).unwrap_or_else(|| "mkv".to_string()),
        ItemKind::Sequence => "mkv".to_string(),
    };
    match naming {
        Naming::Folder { dir, suffix } => dir.join(format!("{stem}{suffix}.{ext}")),
        Naming::Template(t) => PathBuf::from(t.replace("{stem}", &stem).replace("{ext}", &ext)),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Lists the inputs (under [`FolderRule::FilesUnlessSequence`], folders one level deep; else
/// a folder is one sequence) and names every output; refuses, before anything is written, a
/// folder output that is an input folder, two inputs with one output, and an output that is
/// one of the inputs.
pub fn plan(
    inputs: &[PathBuf],
    naming: &Naming,
    ext: ExtChoice,
    rule: FolderRule,
) -> Result<BatchPlan, BatchError> {
    let mut plan = BatchPlan::default();
    let mut files = Vec::new();
    for input in inputs {
        if let (true, Naming::Folder { dir, .. }) = (input.is_dir(), naming) {
            if same_file(dir, input) {
                return Err(BatchError::OutputIsInputFolder { dir: dir.clone() });
            }
        }
        if input.is_dir() && rule != FolderRule::AlwaysSequence {
            let (media, other) = list_folder(input)?;
            if media.is_empty() {
                return Err(BatchError::EmptyFolder { dir: input.clone() });
            }
            files.extend(media);
            plan.ignored.extend(other);
        } else {
            // A missing or unreadable file fails as its own job, with the media layer's words.
            files.push(input.clone());
        }
    }
    let mut by_output: HashMap<PathBuf, PathBuf> = HashMap::new();
    for input in files {
        let kind = kind_of(&input);
        let output = output_for(&input, kind, naming, ext);
        let key = normalised(&output);
        if let Some(first) = by_output.get(&key) {
            return Err(BatchError::Collision {
                output,
                first: first.clone(),
                second: input,
            });
        }
        by_output.insert(key, input.clone());
        plan.items.push(BatchItem {
            input,
            output,
            kind,
        });
    }
    // Inputs by their normalised and their canonical path (symlinks, `..`).
    let mut inputs_by_path: HashMap<PathBuf, &Path> = HashMap::new();
    for item in &plan.items {
        inputs_by_path.insert(normalised(&item.input), &item.input);
        if let Ok(c) = item.input.canonicalize() {
            inputs_by_path.insert(c, &item.input);
        }
    }
    for item in &plan.items {
        let hit = inputs_by_path.get(&normalised(&item.output)).or_else(|| {
            let c = item.output.canonicalize().ok()?;
            inputs_by_path.get(&c)
        });
        if let Some(input) = hit {
            return Err(BatchError::OutputIsAnInput {
                output: item.output.clone(),
                input: input.to_path_buf(),
            });
        }
        let dir = match item.output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() && !plan.missing_dirs.contains(&dir) {
            plan.missing_dirs.push(dir);
        }
    }
    Ok(plan)
}

/// `path` made absolute against the working directory, without `.` parts (no file system
/// access, so paths that do not exist yet compare too).
fn normalised(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    abs.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// What one finished job wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct FileReport {
    pub input_size: (usize, usize),
    pub output_size: (usize, usize),
    pub frames: u64,
    pub bytes: u64,
    /// The input ended before what it declares (accepted with `--on-decode-error skip`).
    pub short_input: Option<String>,
}

/// Why one job did not write its output: a one-line reason, or the user stopped the batch.
#[derive(Debug)]
pub enum FileError {
    Failed(String),
    Interrupted,
}

/// How one file of a batch ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Written(FileReport),
    Failed(String),
    /// `--skip-existing` and the output was there.
    Skipped,
}

/// One file's result.
#[derive(Clone, Debug, PartialEq)]
pub struct FileResult {
    pub item: BatchItem,
    pub outcome: Outcome,
    pub seconds: f64,
}

/// What a batch did; `interrupted` when Ctrl-C stopped it (files after that were not started).
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    pub results: Vec<FileResult>,
    pub interrupted: bool,
    pub seconds: f64,
}

impl BatchReport {
    pub fn written(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Written(_)))
    }
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skipped))
    }
    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| f(&r.outcome)).count()
    }
}

/// The output folders a plan needs that did not exist: created up front, and removed again
/// (when still empty) when this is dropped, so a batch that wrote nothing leaves no folder.
#[derive(Debug, Default)]
pub struct OutputDirs {
    created: Vec<PathBuf>,
}

impl OutputDirs {
    pub fn create(plan: &BatchPlan) -> Result<Self, BatchError> {
        let mut dirs = OutputDirs::default();
        for dir in &plan.missing_dirs {
            // Every missing ancestor, outermost first, so removal can go inside out.
            let mut missing: Vec<PathBuf> = dir
                .ancestors()
                .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
                .map(Path::to_path_buf)
                .collect();
            missing.reverse();
            std::fs::create_dir_all(dir).map_err(|e| BatchError::Io {
                path: dir.clone(),
                reason: format!(
                    "cannot create the output folder: {}",
                    e.to_string().replace('\n', " ")
                ),
            })?;
            dirs.created.extend(missing);
        }
        Ok(dirs)
    }
}

impl Drop for OutputDirs {
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            // Fails, and keeps the folder, when something was written into it.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Settings of the run loop.
#[derive(Clone, Debug, Default)]
pub struct RunSettings {
    /// Leave items whose output exists alone (`--skip-existing`).
    pub skip_existing: bool,
}

/// The outcome of each item that is known before any work: skipped (`skip_existing` and the
/// output is there) or failed `check` (a taken output, a missing input, ...); `None` for the
/// items to run. Lets the caller load a model only when something is left to do.
pub fn precheck(
    plan: &BatchPlan,
    settings: &RunSettings,
    check: &mut dyn FnMut(&BatchItem) -> Result<(), String>,
) -> Vec<Option<Outcome>> {
    plan.items
        .iter()
        .map(|item| {
            if settings.skip_existing && item.output.exists() {
                Some(Outcome::Skipped)
            } else {
                check(item).err().map(Outcome::Failed)
            }
        })
        .collect()
}

/// Runs `run_one(index, item)` for every item that `prechecked` leaves open, in order; a
/// failed job is recorded and the next one starts; `cancel` (Ctrl-C) stops the loop.
/// `on_result` sees each result (prechecked ones included) as it comes.
pub fn run_batch(
    plan: &BatchPlan,
    prechecked: Vec<Option<Outcome>>,
    cancel: &AtomicBool,
    run_one: &mut dyn FnMut(usize, &BatchItem) -> Result<FileReport, FileError>,
    on_result: &mut dyn FnMut(usize, &FileResult),
) -> BatchReport {
    let started = Instant::now();
    let mut report = BatchReport::default();
    for ((i, item), known) in plan.items.iter().enumerate().zip(prechecked) {
        if cancel.load(Ordering::Relaxed) {
            report.interrupted = true;
            break;
        }
        let t = Instant::now();
        let outcome = match known {
            Some(outcome) => outcome,
            None => match run_one(i, item) {
                Ok(r) => Outcome::Written(r),
                Err(FileError::Failed(reason)) => Outcome::Failed(reason),
                Err(FileError::Interrupted) => {
                    report.interrupted = true;
                    break;
                }
            },
        };
        let result = FileResult {
            item: item.clone(),
            outcome,
            seconds: t.elapsed().as_secs_f64(),
        };
        on_result(i, &result);
        report.results.push(result);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// The reason without a leading `input: ` (the failure list names the input first itself).
pub fn reason_without_input<'a>(input: &Path, reason: &'a str) -> &'a str {
    let prefix = format!("{}: ", input.display());
    reason.strip_prefix(prefix.as_str()).unwrap_or(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: FolderRule = FolderRule::FilesUnlessSequence { sequence: false };

    fn opts() -> BatchOptions {
        BatchOptions {
            suffix: None,
            skip_existing: false,
        }
    }

    #[test]
    fn suffix_follows_real_esrgan_unless_it_brings_a_separator() {
        assert_eq!(normalise_suffix("out"), "_out");
        assert_eq!(normalise_suffix("4x"), "_4x");
        assert_eq!(normalise_suffix("_x4"), "_x4");
        assert_eq!(normalise_suffix("-x4"), "-x4");
        assert_eq!(normalise_suffix(""), "");
    }

    #[test]
    fn ext_parses_names_and_extensions() {
        assert_eq!(parse_ext("auto"), Ok(ExtChoice::Auto));
        assert_eq!(
            parse_ext("PNG"),
            Ok(ExtChoice::Format(&IMAGE_OUTPUT_FORMATS[0]))
        );
        assert_eq!(
            parse_ext("jpeg"),
            Ok(ExtChoice::Format(&IMAGE_OUTPUT_FORMATS[1]))
        );
        assert_eq!(
            parse_ext(".webp"),
            Ok(ExtChoice::Format(&IMAGE_OUTPUT_FORMATS[2]))
        );
        assert!(parse_ext("gif").is_err());
    }

    #[test]
    fn names_in_folders_and_templates() {
        let folder = Naming::Folder {
            dir: PathBuf::from("out"),
            suffix: "_x4".into(),
        };
        let auto = ExtChoice::Auto;
        let jpg = ExtChoice::Format(&IMAGE_OUTPUT_FORMATS[1]);
        let name = |p: &str, k, n: &Naming, e| output_for(Path::new(p), k, n, e);
        assert_eq!(
            name("in/a.JPG", ItemKind::Image, &folder, auto),
            PathBuf::from("out/a_x4.JPG")
        );
        assert_eq!(
            name("in/a.b.png", ItemKind::Image, &folder, auto),
            PathBuf::from("out/a.b_x4.png")
        );
        // A .png that does not exist cannot be probed for alpha: the asked format stays.
        assert_eq!(
            name("/nonexistent/a.png", ItemKind::Image, &folder, jpg),
            PathBuf::from("out/a_x4.jpg")
        );
        assert_eq!(
            name("v/clip.mkv", ItemKind::Video, &folder, jpg),
            PathBuf::from("out/clip_x4.mkv")
        );
        let t = Naming::Template("r/{stem}-2x.{ext}".into());
        assert_eq!(
            name("v/clip.mov", ItemKind::Video, &t, auto),
            PathBuf::from("r/clip-2x.mov")
        );
    }

    #[test]
    fn the_folder_rule() {
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        std::fs::create_dir(&frames).unwrap();
        let ins = vec![frames.clone()];
        let folder = |o: &Path| {
            matches!(
                shape(&ins, o, &opts(), None, FILES),
                Ok(Shape::Batch(Naming::Folder { .. }))
            )
        };
        assert!(folder(&dir.path().join("out/")), "folder -> folder: batch");
        assert!(
            folder(&dir.path().join("results")),
            "no extension: a folder"
        );
        assert!(folder(dir.path()), "existing folder");
        assert_eq!(
            shape(&ins, &dir.path().join("o.mp4"), &opts(), None, FILES).unwrap(),
            Shape::Single
        );
        assert_eq!(
            shape(&ins, &dir.path().join("o/%06d.png"), &opts(), None, FILES).unwrap(),
            Shape::Single
        );
        assert!(matches!(
            shape(&ins, &dir.path().join("o.png"), &opts(), None, FILES),
            Err(BatchError::FolderToImage { .. })
        ));
        let seq = FolderRule::FilesUnlessSequence { sequence: true };
        assert_eq!(
            shape(&ins, &dir.path().join("out/"), &opts(), None, seq).unwrap(),
            Shape::Single
        );
        // interpolate/enhance: a folder is one sequence whatever the output; several inputs
        // are a batch, each folder one item.
        let always = FolderRule::AlwaysSequence;
        assert_eq!(
            shape(&ins, &dir.path().join("out/"), &opts(), None, always).unwrap(),
            Shape::Single
        );
        assert_eq!(
            shape(&ins, &dir.path().join("o.png"), &opts(), None, always).unwrap(),
            Shape::Single
        );
        let two = vec![frames.clone(), dir.path().join("b.mp4")];
        let naming = Naming::Folder {
            dir: dir.path().join("o"),
            suffix: String::new(),
        };
        let p = plan(&two, &naming, ExtChoice::Auto, always).unwrap();
        let outs: Vec<&Path> = p.items.iter().map(|i| i.output.as_path()).collect();
        assert_eq!(
            outs,
            [dir.path().join("o/frames.mkv"), dir.path().join("o/b.mp4")]
        );
        assert_eq!(p.items[0].kind, ItemKind::Sequence);
        assert!(matches!(
            shape(&two, &dir.path().join("o.mp4"), &opts(), None, FILES),
            Err(BatchError::NeedsFolderOutput { .. })
        ));
        assert!(matches!(
            shape(&two, Path::new("{stem}_2x.mp4"), &opts(), None, FILES),
            Ok(Shape::Batch(Naming::Template(_)))
        ));
        let suffixed = BatchOptions {
            suffix: Some("x".into()),
            ..opts()
        };
        assert!(matches!(
            shape(&ins, &dir.path().join("o.mp4"), &suffixed, None, FILES),
            Err(BatchError::OptionNeedsBatch { .. })
        ));
    }
}
