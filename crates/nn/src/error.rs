//! The crate's error type: invalid shapes or parameters coming from model files.

use thiserror::Error;

/// A shape for messages: `[64, 3, 3, 3]`.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

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
    #[error("{what}: invalid shape {}: {reason}", shape_text(.shape))]
    Shape {
        what: &'static str,
        shape: Vec<usize>,
        reason: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}
