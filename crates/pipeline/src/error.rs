//! The pipeline's error types: [`PipelineError`] (invalid processor settings, stage failures,
//! cancellation) and [`JobError`], a whole-file job's (media, pipeline or work directory).

use thiserror::Error;
use upframe_media::MediaError;

use crate::journal::JournalError;

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
