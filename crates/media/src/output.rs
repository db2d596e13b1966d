//! Output safety: checks before writing (no clobbering, not the input (see
//! [`crate::input_guard`]), not a device, writable directory) and
//! the temporary file beside the final output that becomes it only on success.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use crate::error::MediaError;
use crate::naming::partial_path;

/// A temporary file `.NAME.upframe-partial.EXT` beside `final_path`. Renamed to the final path by
/// [`PartialFile::commit`]; deleted when dropped uncommitted (errors, panics, Ctrl-C unwinding).
#[derive(Debug)]
pub(crate) struct PartialFile {
    temp: PathBuf,
    final_path: PathBuf,
    overwrite: bool,
    committed: bool,
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
