//! Output safety: checks before writing (no clobbering, not the input (see
//! [`crate::input_guard`]), not a device, writable directory) and
//! the temporary file beside the final output that becomes it only on success.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::error::MediaError;

/// A temporary file `.NAME.upframe-partial.EXT` beside `final_path`. Renamed to the final path by
/// [`PartialFile::commit`]; deleted when dropped uncommitted (errors, panics, Ctrl-C unwinding).
#[derive(Debug)]
pub(crate) struct PartialFile {
    temp: PathBuf,
    final_path: PathBuf,
    overwrite: bool,
    committed: bool,
}

/// The temporary name for `final_path` (keeps the extension so tools recognise the type).
pub(crate) fn partial_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    final_path.with_file_name(format!(".{stem}.upframe-partial{ext}"))
}

/// Checks that `final_path` may be written: it does not exist (unless `overwrite`), it is not
/// `input`, and its directory exists.
pub(crate) fn check_output(
    final_path: &Path,
    overwrite: bool,
    input: Option<&Path>,
) -> Result<(), MediaError> {
    if final_path.as_os_str().is_empty() {
        return Err(MediaError::InvalidOutput {
            path: final_path.to_path_buf(),
            reason: "empty output path".into(),
        });
    }
    match input {
        // Includes the device/FIFO check for a file output.
        Some(input) => crate::input_guard::check_not_input(input, final_path)?,
        None => crate::input_guard::check_regular_or_absent(final_path)?,
    }
    if std::fs::metadata(final_path).is_ok_and(|m| m.is_dir()) {
        return Err(MediaError::IsDirectory {
            path: final_path.to_path_buf(),
        });
    }
    // A symbolic link counts as existing even when it points nowhere: it is the user's.
    if std::fs::symlink_metadata(final_path).is_ok() && !overwrite {
        return Err(MediaError::OutputExists {
            path: final_path.to_path_buf(),
        });
    }
    let dir = match final_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(MediaError::OutputDirNotWritable {
            path: final_path.to_path_buf(),
            reason: format!("{} is not a directory", dir.display()),
        }),
        Err(e) => Err(MediaError::OutputDirNotWritable {
            path: final_path.to_path_buf(),
            reason: crate::error::one_line(&e.to_string()),
        }),
    }
}

/// Everything about writing `output` from `input` that can be told before a frame is read or a
/// model is loaded: the input exists, the output does not overlap it
/// ([`crate::input_guard::check_not_input`]), the output path is free (or `overwrite`), its
/// format can hold what will be written (an image extension, or a container that accepts the
/// encoder) and its folder is writable. Creates nothing that outlives the call.
pub(crate) fn check_job_output(
    input: &Path,
    output: &Path,
    overwrite: bool,
    encode: &crate::types::EncodeOptions,
    windowed: bool,
) -> Result<(), MediaError> {
    check_input_exists(input)?;
    crate::input_guard::check_not_input(input, output)?;
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
    if crate::sink::is_sequence_output(output) {
        // Numbered images: the folder is created when the job starts; its parent must exist.
        let dir = if crate::sequence::is_pattern(output) {
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
    if crate::source::has_image_extension(output) {
        crate::images::check_image_format(output)?;
        check_one_frame(input, output, windowed)?;
    } else {
        crate::encode::check_video_output(output, encode)?;
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
    if windowed || (crate::source::has_image_extension(input) && input.is_file()) {
        return Ok(());
    }
    let frames = crate::probe::probe(input)
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
    if let Some(p) = crate::sequence::Pattern::parse(input) {
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
            reason: crate::error::one_line(&e.to_string()),
        }),
    }
}

impl PartialFile {
    /// Runs the output checks and creates the (empty) temporary file, proving the directory is
    /// writable.
    pub fn create(
        final_path: &Path,
        overwrite: bool,
        input: Option<&Path>,
    ) -> Result<Self, MediaError> {
        check_output(final_path, overwrite, input)?;
        let temp = partial_path(final_path);
        // A stale temporary file (or a link there) is removed, never written through: creating
        // a new file cannot reach anything another name points at.
        let _ = std::fs::remove_file(&temp);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| MediaError::OutputDirNotWritable {
                path: final_path.to_path_buf(),
                reason: crate::error::one_line(&e.to_string()),
            })?;
        Ok(PartialFile {
            temp,
            final_path: final_path.to_path_buf(),
            overwrite,
            committed: false,
        })
    }

    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    pub fn final_path(&self) -> &Path {
        &self.final_path
    }

    /// Moves the temporary file onto the final path; returns the final size in bytes.
    pub fn commit(mut self) -> Result<u64, MediaError> {
        if !self.overwrite && std::fs::symlink_metadata(&self.final_path).is_ok() {
            // Someone created it while we were writing: do not clobber it.
            return Err(MediaError::OutputExists {
                path: self.final_path.clone(),
            });
        }
        std::fs::rename(&self.temp, &self.final_path).map_err(|e| MediaError::Write {
            path: self.final_path.clone(),
            reason: format!("could not rename {} ({e})", self.temp.display()),
        })?;
        self.committed = true;
        Ok(std::fs::metadata(&self.final_path)
            .map(|m| m.len())
            .unwrap_or(0))
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_name_keeps_extension_beside_output() {
        assert_eq!(
            partial_path(Path::new("/a/b/out.mp4")),
            PathBuf::from("/a/b/.out.upframe-partial.mp4")
        );
        assert_eq!(
            partial_path(Path::new("clip.tar.mkv")),
            PathBuf::from(".clip.tar.upframe-partial.mkv")
        );
        assert_eq!(
            partial_path(Path::new("noext")),
            PathBuf::from(".noext.upframe-partial")
        );
    }
}
