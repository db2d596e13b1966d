//! Rust errors → the Python exceptions of `upframe.errors` (`UpframeError` and its subclasses).
//!
//! The classes are defined in Python (`python/upframe/errors.py`: `Interrupted` also derives
//! from `KeyboardInterrupt`, which a Rust-declared exception cannot) and looked up here by name
//! when an error is raised. Messages are the one-line messages the CLI prints after
//! `upframe: error: `.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use upframe_media::MediaError;

/// Which `upframe.errors` class an error becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Bad input: a missing or unreadable file, an array of the wrong shape or dtype.
    Input,
    /// Bad output: taken, not writable, overlapping the input.
    Output,
    /// Missing, unknown or unusable weights.
    Model,
    /// An option value out of range or of the wrong kind.
    Option,
    /// An interrupted job's leftovers cannot be resumed as asked (use `restart=True`).
    Resume,
    /// The job was stopped (Ctrl-C / `KeyboardInterrupt` / cancel); segments kept.
    Interrupted,
    /// Anything else (a processing failure, an encoder error).
    Other,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Kind::Input => "InputError",
            Kind::Output => "OutputError",
            Kind::Model => "ModelError",
            Kind::Option => "OptionError",
            Kind::Resume => "ResumeError",
            Kind::Interrupted => "Interrupted",
            Kind::Other => "UpframeError",
        }
    }
}

/// The facade's error kinds as `upframe.errors` classes.
pub fn kind_of(e: &upframe::Error) -> Kind {
    if let upframe::Error::Media { source, .. } = e {
        if matches!(
            source,
            MediaError::OutputExists { .. }
                | MediaError::OutputIsInput { .. }
                | MediaError::OutputNotRegular { .. }
                | MediaError::OutputDirNotWritable { .. }
                | MediaError::InvalidOutput { .. }
                | MediaError::Write { .. }
                | MediaError::Encode { .. }
                | MediaError::EncoderNotFound { .. }
        ) {
            return Kind::Output;
        }
    }
    match e.kind() {
        upframe::ErrorKind::InvalidOption => Kind::Option,
        upframe::ErrorKind::Model => Kind::Model,
        upframe::ErrorKind::Input => Kind::Input,
        upframe::ErrorKind::Resume => Kind::Resume,
        upframe::ErrorKind::Interrupted => Kind::Interrupted,
    }
}

static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, kind: Kind) -> PyResult<Bound<'py, PyType>> {
    let module =
        ERRORS_MODULE.get_or_try_init(py, || py.import("upframe.errors").map(|m| m.unbind()))?;
    Ok(module
        .bind(py)
        .getattr(kind.class_name())?
        .cast_into::<PyType>()?)
}

/// The exception of `kind` with `message`.
pub fn error(py: Python<'_>, kind: Kind, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match class(py, kind) {
        Ok(cls) => PyErr::from_type(cls, (message,)),
        // upframe.errors missing would be a broken install; keep the message anyway.
        Err(e) => PyRuntimeError::new_err(format!("{message} (and upframe.errors: {e})")),
    }
}

pub fn input_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    error(py, Kind::Input, message)
}

pub fn option_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    error(py, Kind::Option, message)
}
