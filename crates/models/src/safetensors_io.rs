//! Safetensors reading and writing (f32/f16/bf16/f64 in, f32 out), and [`load_weights`], which
//! reads either a `.pth` checkpoint or a safetensors file by content, not by extension.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use crate::error::ModelError;
use crate::pth::parse_pth_bytes;
use crate::state_dict::{StateDict, WeightTensor};

/// A safetensors file's tensors (as `f32`) and its `__metadata__` strings.
#[derive(Clone, Debug, Default)]
pub struct TensorFile {
    pub tensors: StateDict,
    pub metadata: HashMap<String, String>,
}

fn st_err(e: impl std::fmt::Display) -> ModelError {
    ModelError::SafeTensors(e.to_string())
}

/// Parses safetensors bytes held in memory.
pub fn parse_safetensors_bytes(bytes: &[u8]) -> Result<TensorFile, ModelError> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(st_err)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let file = SafeTensors::deserialize(bytes).map_err(st_err)?;
    let mut tensors = StateDict::new();
    for (name, view) in file.iter() {
        let raw = view.data();
        let data: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::F64 => raw
                .chunks_exact(8)
                .map(|b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
            other => {
                return Err(ModelError::SafeTensors(format!(
                    "tensor `{name}` has unsupported dtype {other}"
                )))
            }
        };
        tensors.insert(name, WeightTensor::new(view.shape().to_vec(), data)?);
    }
    Ok(TensorFile { tensors, metadata })
}

/// Reads a safetensors file; errors name the file.
pub fn load_safetensors(path: &Path) -> Result<TensorFile, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::from(e).in_file(path))?;
    parse_safetensors_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// Writes `tensors` as `f32` safetensors with `metadata`.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(&str, &WeightTensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<(), ModelError> {
    let views = tensors
        .iter()
        .map(|(name, t)| {
            let bytes: &[u8] = bytemuck_f32(&t.data);
            safetensors::tensor::TensorView::new(Dtype::F32, t.shape.clone(), bytes)
                .map(|v| (name.to_string(), v))
                .map_err(st_err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, metadata).map_err(st_err)?;
    std::fs::write(path, bytes).map_err(|e| ModelError::from(e).in_file(path))
}

/// Views `f32`s as little-endian bytes (this crate only targets little-endian machines).
fn bytemuck_f32(data: &[f32]) -> &[u8] {
    const _: () = assert!(cfg!(target_endian = "little"));
    // SAFETY: f32 has no padding or invalid bit patterns; u8 has alignment 1 and the length is
    // the byte length of the same allocation.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<u8>(), std::mem::size_of_val(data)) }
}

/// True when `bytes` start like a safetensors file (u64 header length, then a JSON object).
pub fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 9 && bytes[8] == b'{' && {
        let mut n = [0u8; 8];
        n.copy_from_slice(&bytes[..8]);
        u64::from_le_bytes(n) <= (bytes.len() as u64 - 8)
    }
}

/// Reads model weights from a `.pth` checkpoint or a safetensors file, whichever the content is.
/// Errors name the file.
pub fn load_weights(path: &Path) -> Result<StateDict, ModelError> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::from(e).in_file(path))?;
    parse_weights_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// [`load_weights`] for bytes in memory (the embedded model): a `.pth` checkpoint or a
/// safetensors file, whichever the content is.
pub fn parse_weights_bytes(bytes: &[u8]) -> Result<StateDict, ModelError> {
    if looks_like_safetensors(bytes) {
        parse_safetensors_bytes(bytes).map(|f| f.tensors)
    } else {
        parse_pth_bytes(bytes)
    }
}
