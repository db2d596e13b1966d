//! The library's one error type: every failure of a configuration, a model or a job as one
//! typed value whose text is the one line the user sees (the file first, then the problem,
//! then what was kept for a re-run). The CLI prints it; the Python package maps each kind to
//! an exception class ([`Error::kind`]).

use std::path::PathBuf;

use upframe_media::MediaError;
use upframe_pipeline::resume::chunks::ChunkError;
use upframe_pipeline::resume::journal::JournalError;
use upframe_pipeline::{kept_segments, resume_hint, JobError};

use crate::batch::BatchError;

/// What went wrong, in the user's words.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An option has a value no job can use, or options that cannot go together. `option` is
    /// the user-facing name (`--scale`); the text names it too.
    #[error("{message}")]
    InvalidOption {
        option: &'static str,
        message: String,
    },
    /// A model could not be found, read or run with the options given (`--model NAME: ...`).
    #[error("{message}")]
    Model {
        option: &'static str,
        message: String,
    },
    /// The input could not be read or the output not written (the text names the file), with
    /// what was kept for a re-run when anything was.
    #[error("{}{}", .source, hint_text(.hint))]
    Media {
        source: MediaError,
        hint: Option<String>,
    },
    /// A processor failed on the input's frames.
    #[error("{}: {message}{}", .input.display(), hint_text(.hint))]
    Processing {
        input: PathBuf,
        message: String,
        hint: Option<String>,
    },
    /// An interrupted job's work directory holds another job (changed input, option or model)
    /// or a damaged journal: it is not resumed. Start over with `restart` (`--restart`).
    #[error("cannot resume {}: {reason}", .output.display())]
    CannotResume { output: PathBuf, reason: String },
    /// The work directory cannot be used (locked by another run, unwritable).
    #[error(transparent)]
    WorkDir(JournalError),
    /// The job was cancelled (its token, Ctrl-C). `kept` says what was kept for a re-run.
    #[error("interrupted{}", hint_text(.kept))]
    Interrupted { kept: Option<String> },
    /// A batch cannot be planned (outputs that collide, a folder written onto itself, ...).
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A plan of a job on many machines cannot be made, read or used (the text names the
    /// file).
    #[error("{message}")]
    Plan { message: String },
    /// A chunk of a job on many machines is missing, belongs to another plan, is damaged or
    /// does not fit the others (the text names it).
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
}

/// The broad kind of an [`Error`], for callers that map errors to their own classes (the
/// Python package's exceptions, exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bad option value or combination (fix the call).
    InvalidOption,
    /// A missing, unreadable or unusable model.
    Model,
    /// Bad or unreadable input, unwritable output, a refused output name.
    Input,
    /// A resumable job that cannot be resumed as asked.
    Resume,
    /// Cancelled.
    Interrupted,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidOption { .. } => ErrorKind::InvalidOption,
            Error::Model { .. } => ErrorKind::Model,
            Error::Media { .. }
            | Error::Processing { .. }
            | Error::Batch(_)
            | Error::Plan { .. } => ErrorKind::Input,
            Error::CannotResume { .. } | Error::WorkDir(_) | Error::Chunk(_) => ErrorKind::Resume,
            Error::Interrupted { .. } => ErrorKind::Interrupted,
        }
    }

    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted { .. })
    }

    pub(crate) fn option(option: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidOption {
            option,
            message: message.into(),
        }
    }

    pub(crate) fn model(option: &'static str, message: impl Into<String>) -> Self {
        Error::Model {
            option,
            message: message.into(),
        }
    }

    /// A failed or interrupted job on `input` → `output`, with what was kept for a re-run
    /// when complete segments exist.
    pub(crate) fn from_job(e: JobError, input: &std::path::Path, output: &std::path::Path) -> Self {
        let mut hint = resume_hint(output);
        if e.is_cancelled() {
            return Error::Interrupted { kept: hint };
        }
        // The same call would stop at the same place: say how to keep what exists instead.
        if matches!(&e, JobError::Media(MediaError::ShortInput(_))) {
            hint = kept_segments(output).map(|kept| {
                format!(
                    "{kept}; add --on-decode-error skip to the same command to write the frames that exist (it resumes after them)"
                )
            });
        }
        match e {
            JobError::Media(source) => Error::Media { source, hint },
            JobError::Pipeline(p) => Error::Processing {
                input: input.to_path_buf(),
                message: one_line(&p),
                hint,
            },
            JobError::Journal(JournalError::Changed { output, what, .. }) => Error::CannotResume {
                output,
                reason: what,
            },
            JobError::Journal(JournalError::Damaged {
                output,
                path,
                reason,
            }) => Error::CannotResume {
                output,
                reason: format!("the journal {} is damaged ({reason})", path.display()),
            },
            JobError::Journal(j) => Error::WorkDir(j),
        }
    }
}

/// An error and its sources as one line joined with ": ", leaving out a cause whose text an
/// outer one already quotes (errors often embed their source).
pub fn one_line(err: &dyn std::error::Error) -> String {
    let mut line = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string().replace('\n', " ");
        if !text.is_empty() && !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        cause = e.source();
    }
    line
}
