//! The pipeline's error types: [`PipelineError`] (invalid processor settings, stage failures,
//! cancellation), [`JobError`], a whole-file job's (media, pipeline or work directory), and
//! [`JournalError`], the work directory's and its journal's (here so that the job description
//! and the journal both sit below the jobs and resume wings).

use thiserror::Error;
use upframe_media::MediaError;

use std::io;
use std::path::PathBuf;

/// Errors from processors and the job runner.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// A scale factor that is not finite and positive.
    #[error("invalid scale {0}: must be a finite number greater than 0")]
    InvalidScale(f64),
    /// A frame or target size a processor cannot work with.
    #[error("invalid size {width}x{height}: {reason}")]
    InvalidSize {
        width: usize,
        height: usize,
        reason: String,
    },
    /// The source failed (open, demux or decode).
    #[error("{0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A processor failed.
    #[error("{processor}: {message}")]
    Processor { processor: String, message: String },
    /// The sink failed (encode, mux or write).
    #[error("{0}")]
    Sink(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The job was cancelled (Ctrl-C, SIGTERM or the caller's flag).
    #[error("interrupted")]
    Cancelled,
    /// A stage thread panicked; this is a bug.
    #[error("internal error: the {0} stage panicked")]
    StagePanicked(&'static str),
}

/// Errors of a whole-file job: media (open, decode, encode, mux) or pipeline (processors,
/// cancellation). Both render as one line that names the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The work directory of a resumable job (changed job, damaged journal, busy, I/O).
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl JobError {
    /// Whether the job stopped because it was cancelled (Ctrl-C, SIGTERM).
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            JobError::Pipeline(PipelineError::Cancelled)
                | JobError::Media(MediaError::Interrupted { .. })
        )
    }
}

/// Errors from the work directory and its journal. Each renders as one line naming the path.
#[derive(Debug, Error)]
pub enum JournalError {
    /// A file system operation failed.
    #[error("{}: cannot {what}: {}", .path.display(), one_line(&.source.to_string()))]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    /// Another job holds the lock on this work directory.
    #[error("{}: another upframe job is already writing this output (its work directory is locked)", .dir.display())]
    Busy { dir: PathBuf },
    /// The journal describes a different job (input, option or model changed).
    #[error("cannot resume {}: {what}; run with --restart to start over", .output.display())]
    Changed {
        output: PathBuf,
        dir: PathBuf,
        what: String,
    },
    /// The journal cannot be parsed.
    #[error("cannot resume {}: the journal {} is damaged ({reason}); run with --restart to start over", .output.display(), .path.display())]
    Damaged {
        output: PathBuf,
        path: PathBuf,
        reason: String,
    },
    /// A job key that cannot be written to a journal (bad characters, duplicate key).
    #[error("{}: invalid job key: {reason}", .dir.display())]
    InvalidKey { dir: PathBuf, reason: String },
    /// A segment that cannot be appended (out of order, bad file name).
    #[error("{}: cannot record segment: {reason}", .path.display())]
    InvalidSegment { path: PathBuf, reason: String },
    /// A chunk of a job run on many machines ([`crate::resume::chunks`]) was already committed
    /// by another run with other segments; this run's are not used.
    #[error("{}: this chunk was already committed by another run", .manifest.display())]
    ChunkCommitted { manifest: PathBuf },
    /// `remove_work_dir` was given a directory that is not an upframe work directory.
    #[error("{}: not an upframe work directory (name must be .NAME.upframe-work); not removing it", .dir.display())]
    NotWorkDir { dir: PathBuf },
}

/// Collapses whitespace (including newlines) so a message stays on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
