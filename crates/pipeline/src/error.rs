//! The pipeline's error type: invalid processor settings, stage failures, cancellation.

use thiserror::Error;

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
