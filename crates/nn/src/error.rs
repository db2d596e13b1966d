//! The crate's error type: invalid shapes or parameters coming from model files.

use thiserror::Error;

/// Errors for things a model file can get wrong (weight lengths, shapes, parameters).
/// Mismatches between layers at run time are programming errors and panic instead.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NnError {
    #[error("{what}: expected {expected} values, got {got}")]
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{what}: invalid shape {shape:?}: {reason}")]
    Shape {
        what: &'static str,
        shape: Vec<usize>,
        reason: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}
