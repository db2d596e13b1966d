//! The checks a job makes before it reads a frame or loads a model ([`check_job_output`]):
//! the input exists, the output does not overlap it, is free, its format can hold the result
//! and its folder is writable. It asks every layer below (names, output safety, image
//! formats, encoders and containers, probing), so it sits on top of them.

use std::fs::OpenOptions;
use std::path::Path;

use crate::encode::check_video_output;
use crate::error::{one_line, MediaError};
use crate::images::check_image_format;
use crate::input_guard::check_not_input;
use crate::naming::{has_image_extension, is_pattern, is_sequence_output, Pattern};
use crate::output::check_output;
use crate::probe::probe;
use crate::types::EncodeOptions;

/// Everything about writing `output` from `input` that can be told before a frame is read or a
/// model is loaded: the input exists, the output does not overlap it
/// ([`crate::input_guard::check_not_input`]), the output path is free (or `overwrite`), its
/// format can hold what will be written (an image extension, or a container that accepts the
/// encoder) and its folder is writable. Creates nothing that outlives the call.
pub(crate) fn check_job_output(
    input: &Path,
    output: &Path,
    overwrite: bool,
    encode: &EncodeOptions,
    windowed: bool,
) -> Result<(), MediaError> {
    check_input_exists(input)?;
    check_not_input(input, output)?;
    let ends_with_slash = output.as_os_str().to_string_lossy().ends_with('/');
    if ends_with_slash {
        let bare = output.as_os_str().to_string_lossy();
        let bare = Path::new(bare.trim_end_matches('/'));
        if std::fs::metadata(bare).is_ok_and(|m| !m.is_dir()) {
            return Err(MediaError::OutputDirNotWritable {
                path: output.to_path_buf(),
                reason: format!("{} is a file, not a directory", bare.display()),
            });
        }
    }
    if is_sequence_output(output) {
        // Numbered images: the folder is created when the job starts; its parent must exist.
        let dir = if is_pattern(output) {
            output.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            output.to_path_buf()
        };
        let existing = dir
            .ancestors()
            .find(|a| !a.as_os_str().is_empty() && a.exists());
        return match existing {
            Some(a) if !a.is_dir() => Err(MediaError::OutputDirNotWritable {
                path: output.to_path_buf(),
                reason: format!("{} is not a directory", a.display()),
            }),
            Some(a) => check_writable_dir(output, a),
            None => check_writable_dir(output, Path::new(".")),
        };
    }
    // The overlap with the input was checked above.
    check_output(output, overwrite, None)?;
    if has_image_extension(output) {
        check_image_format(output)?;
        check_one_frame(input, output, windowed)?;
    } else {
        check_video_output(output, encode)?;
    }
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    check_writable_dir(output, dir)
}

/// One image holds one frame: a video or sequence input of several frames is refused up front
/// (instead of failing at its second frame, after the model ran) unless the job reads a window
/// of it (`--start/--duration/--frames`: the window's frame count is the source's business).
fn check_one_frame(input: &Path, output: &Path, windowed: bool) -> Result<(), MediaError> {
    if windowed || (has_image_extension(input) && input.is_file()) {
        return Ok(());
    }
    let frames = probe(input)
        .ok()
        .and_then(|m| m.video)
        .and_then(|v| v.frame_count);
    match frames {
        Some(n) if n > 1 => Err(MediaError::InvalidOutput {
            path: output.to_path_buf(),
            reason: format!(
                "an image holds one frame and {} has {n}; write a video file, a frame pattern \
                 such as frames/%06d.png or a folder, or add --frames 1",
                input.display()
            ),
        }),
        _ => Ok(()),
    }
}

/// The input exists: a file, a folder, or a pattern whose folder exists.
fn check_input_exists(input: &Path) -> Result<(), MediaError> {
    if input.exists() {
        return Ok(());
    }
    if let Some(p) = Pattern::parse(input) {
        if p.dir().is_dir() {
            return Ok(());
        }
    }
    Err(MediaError::NotFound {
        path: input.to_path_buf(),
    })
}

/// Proves `dir` writable by creating and removing a uniquely named empty file in it (not the
/// output's temporary name, which a concurrent job may be using).
fn check_writable_dir(output: &Path, dir: &Path) -> Result<(), MediaError> {
    let probe = dir.join(format!(".upframe-write-check.{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(MediaError::OutputDirNotWritable {
            path: output.to_path_buf(),
            reason: one_line(&e.to_string()),
        }),
    }
}
