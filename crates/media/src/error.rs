//! The crate's error type: one variant per failure a user can cause or meet, each rendering as a
//! single line that names the file and the problem.

use std::path::{Path, PathBuf};

use crate::types::ShortInput;

/// Everything that can go wrong reading or writing media. `Display` is one line that starts with
/// the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{}: no such file or directory", .path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a directory, expected a file", .path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: file is empty", .path.display())]
    EmptyFile { path: PathBuf },
    #[error("{}: not a media file ({reason})", .path.display())]
    NotMedia { path: PathBuf, reason: String },
    #[error("{}: looks like {format} but cannot be read ({reason}); the file may be truncated or damaged", .path.display())]
    Damaged {
        path: PathBuf,
        format: String,
        reason: String,
    },
    #[error("{}: no video stream", .path.display())]
    NoVideoStream { path: PathBuf },
    #[error("{}: {what} is not supported ({reason})", .path.display())]
    Unsupported {
        path: PathBuf,
        what: String,
        reason: String,
    },
    #[error("{}: frame {frame} could not be decoded ({reason}); use --on-decode-error skip to drop undecodable frames", .path.display())]
    Decode {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    /// The input holds less than it declares (see [`ShortInput`]); `Display` is its line.
    #[error("{0}")]
    ShortInput(ShortInput),
    #[error("{}: encoder '{codec}' is not available in this FFmpeg build", .path.display())]
    EncoderNotFound { path: PathBuf, codec: String },
    #[error("{}: decoder for '{codec}' is not available in this FFmpeg build", .path.display())]
    DecoderNotFound { path: PathBuf, codec: String },
    #[error("{}: encoding failed ({reason})", .path.display())]
    Encode { path: PathBuf, reason: String },
    #[error("{}: writing failed ({reason})", .path.display())]
    Write { path: PathBuf, reason: String },
    #[error("{}: already exists; pass --overwrite to replace it", .path.display())]
    OutputExists { path: PathBuf },
    /// The output is, or would write over, a file the job reads. `--overwrite` never allows it.
    #[error("{}: refusing to write over the input ({reason}); choose another output (--overwrite never replaces an input)", .path.display())]
    OutputIsInput { path: PathBuf, reason: String },
    /// The output path names something that is not a regular file (device, FIFO, socket).
    #[error("{}: is {what}, not a regular file; refusing to write to it", .path.display())]
    OutputNotRegular { path: PathBuf, what: &'static str },
    #[error("{}: output directory does not exist or is not writable ({reason})", .path.display())]
    OutputDirNotWritable { path: PathBuf, reason: String },
    #[error("{}: invalid output settings ({reason})", .path.display())]
    InvalidOutput { path: PathBuf, reason: String },
    #[error("{}: frame {frame} does not match the output ({reason})", .path.display())]
    FrameMismatch {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    #[error("{}: {reason}", .path.display())]
    Image { path: PathBuf, reason: String },
    #[error("{}: I/O error ({source})", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", .path.display())]
    Other { path: PathBuf, reason: String },
    /// The caller's cancellation flag stopped the operation.
    #[error("{}: interrupted", .path.display())]
    Interrupted { path: PathBuf },
}

impl MediaError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            MediaError::NotFound { path }
            | MediaError::IsDirectory { path }
            | MediaError::EmptyFile { path }
            | MediaError::NotMedia { path, .. }
            | MediaError::Damaged { path, .. }
            | MediaError::NoVideoStream { path }
            | MediaError::Unsupported { path, .. }
            | MediaError::Decode { path, .. }
            | MediaError::EncoderNotFound { path, .. }
            | MediaError::DecoderNotFound { path, .. }
            | MediaError::Encode { path, .. }
            | MediaError::Write { path, .. }
            | MediaError::OutputExists { path }
            | MediaError::OutputIsInput { path, .. }
            | MediaError::OutputNotRegular { path, .. }
            | MediaError::OutputDirNotWritable { path, .. }
            | MediaError::InvalidOutput { path, .. }
            | MediaError::FrameMismatch { path, .. }
            | MediaError::Image { path, .. }
            | MediaError::Io { path, .. }
            | MediaError::Other { path, .. }
            | MediaError::Interrupted { path } => path,
            MediaError::ShortInput(s) => s.path(),
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            MediaError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            MediaError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }

    pub(crate) fn other(path: &Path, reason: impl std::fmt::Display) -> Self {
        MediaError::Other {
            path: path.to_path_buf(),
            reason: one_line(&reason.to_string()),
        }
    }
}

/// FFmpeg messages sometimes carry newlines; keep errors on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Checks that `path` names an existing, non-empty regular file.
pub(crate) fn check_input_file(path: &Path) -> Result<std::fs::Metadata, MediaError> {
    let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
    if meta.is_dir() {
        return Err(MediaError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Err(MediaError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    Ok(meta)
}
