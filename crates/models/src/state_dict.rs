//! `StateDict`: named `f32` weight tensors (PyTorch shapes, row-major), whatever file they came
//! from, with shape-checked access for the architectures.

use std::collections::BTreeMap;

use crate::error::ModelError;

/// One weight tensor in PyTorch's layout (e.g. conv weights are `[out, in, kh, kw]`), as `f32`.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl WeightTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, ModelError> {
        let numel = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                ModelError::InvalidInput(format!(
                    "shape {} overflows",
                    upframe_nn::shape_text(&shape)
                ))
            })?;
        if numel != data.len() {
            return Err(ModelError::InvalidInput(format!(
                "shape {} needs {numel} values, got {}",
                upframe_nn::shape_text(&shape),
                data.len()
            )));
        }
        Ok(WeightTensor { shape, data })
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }
}

/// Weight tensors by name, sorted by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StateDict {
    tensors: BTreeMap<String, WeightTensor>,
}

impl StateDict {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: impl Into<String>, tensor: WeightTensor) {
        self.tensors.insert(key.into(), tensor);
    }

    pub fn get(&self, key: &str) -> Option<&WeightTensor> {
        self.tensors.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<WeightTensor> {
        self.tensors.remove(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &WeightTensor)> {
        self.tensors.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.tensors.values().map(WeightTensor::numel).sum()
    }

    /// Drops every tensor whose name starts with `prefix` (training-only parts such as RIFE's
    /// `teacher.`), returning how many were dropped.
    pub fn drop_prefix(&mut self, prefix: &str) -> usize {
        let before = self.tensors.len();
        self.tensors.retain(|k, _| !k.starts_with(prefix));
        before - self.tensors.len()
    }

    /// The shape of `key`, or a missing-tensor error naming it.
    pub fn shape(&self, key: &str) -> Result<&[usize], ModelError> {
        self.tensors
            .get(key)
            .map(|t| t.shape.as_slice())
            .ok_or_else(|| ModelError::MissingTensor(key.to_string()))
    }

    /// The tensor `key`, which must have exactly `expected` shape.
    pub fn expect(&self, key: &str, expected: &[usize]) -> Result<&WeightTensor, ModelError> {
        let tensor = self
            .tensors
            .get(key)
            .ok_or_else(|| ModelError::MissingTensor(key.to_string()))?;
        if tensor.shape != expected {
            return Err(ModelError::ShapeMismatch {
                key: key.to_string(),
                found: tensor.shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(tensor)
    }
}
