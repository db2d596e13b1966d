//! Building `upframe-nn` layers from a [`StateDict`]: every weight is shape-checked against what
//! the architecture expects, and errors name the tensor.

use upframe_nn::{Conv2d, ConvTranspose2d};

use crate::error::ModelError;
use crate::state_dict::StateDict;

fn nn_err(prefix: &str, e: upframe_nn::NnError) -> ModelError {
    ModelError::InvalidHyperparameters(format!("layer `{prefix}`: {e}"))
}

/// `Conv2d` from `{prefix}.weight` `[cout, cin, k, k]` and `{prefix}.bias` `[cout]`.
pub(crate) fn conv2d(
    sd: &StateDict,
    prefix: &str,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<Conv2d, ModelError> {
    let weight = sd.expect(&format!("{prefix}.weight"), &[cout, cin, kernel, kernel])?;
    let bias = sd.expect(&format!("{prefix}.bias"), &[cout])?;
    Conv2d::new(
        &weight.data,
        [cout, cin, kernel, kernel],
        Some(&bias.data),
        stride,
        padding,
    )
    .map_err(|e| nn_err(prefix, e))
}

/// `ConvTranspose2d` from `{prefix}.weight` `[cin, cout, k, k]` and `{prefix}.bias` `[cout]`.
pub(crate) fn conv_transpose2d(
    sd: &StateDict,
    prefix: &str,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
) -> Result<ConvTranspose2d, ModelError> {
    let weight = sd.expect(&format!("{prefix}.weight"), &[cin, cout, kernel, kernel])?;
    let bias = sd.expect(&format!("{prefix}.bias"), &[cout])?;
    ConvTranspose2d::new(
        &weight.data,
        [cin, cout, kernel, kernel],
        Some(&bias.data),
        stride,
        padding,
    )
    .map_err(|e| nn_err(prefix, e))
}

/// The dimension `axis` of tensor `key`, which must have `rank` dimensions.
pub(crate) fn dim(
    sd: &StateDict,
    key: &str,
    rank: usize,
    axis: usize,
) -> Result<usize, ModelError> {
    let shape = sd.shape(key)?;
    if shape.len() != rank {
        return Err(ModelError::ShapeMismatch {
            key: key.to_string(),
            found: shape.to_vec(),
            expected: vec![0; rank],
        });
    }
    Ok(shape[axis])
}

/// The values of a 1-D parameter vector `key` of length `len` (PReLU slopes, RIFE `beta`s are
/// `[1, c, 1, 1]`: pass that shape).
pub(crate) fn vector(sd: &StateDict, key: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
    Ok(sd.expect(key, shape)?.data.clone())
}

/// Checks the input shape of a forward pass (user-controlled sizes must not panic in nn).
pub(crate) fn check_shape(
    shape: [usize; 4],
    channels: usize,
    what: &str,
) -> Result<(), ModelError> {
    let [n, h, w, c] = shape;
    if c != channels || n == 0 || h == 0 || w == 0 {
        return Err(ModelError::InvalidInput(format!(
            "{what} expects a non-empty NHWC tensor with {channels} channels, got {}",
            upframe_nn::shape_text(&shape)
        )));
    }
    Ok(())
}

/// A grouped `Conv2d` (`groups` > 1, weight `[cout, cin / groups, k, k]`) as a dense one: the
/// weight is spread block-diagonally with zeros elsewhere, which sums the same products.
#[allow(clippy::too_many_arguments)]
pub(crate) fn grouped_conv2d(
    sd: &StateDict,
    prefix: &str,
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    groups: usize,
) -> Result<Conv2d, ModelError> {
    if groups == 1 {
        return conv2d(sd, prefix, cin, cout, kernel, stride, padding);
    }
    if groups == 0 || !cin.is_multiple_of(groups) || !cout.is_multiple_of(groups) {
        return Err(ModelError::InvalidHyperparameters(format!(
            "layer `{prefix}`: {cin} -> {cout} channels cannot form {groups} groups"
        )));
    }
    let (gin, gout) = (cin / groups, cout / groups);
    let weight = sd.expect(&format!("{prefix}.weight"), &[cout, gin, kernel, kernel])?;
    let bias = sd.expect(&format!("{prefix}.bias"), &[cout])?;
    let taps = kernel * kernel;
    let mut dense = vec![0.0f32; cout * cin * taps];
    for o in 0..cout {
        let g = o / gout;
        for i in 0..gin {
            let src = &weight.data[(o * gin + i) * taps..][..taps];
            dense[(o * cin + g * gin + i) * taps..][..taps].copy_from_slice(src);
        }
    }
    Conv2d::new(
        &dense,
        [cout, cin, kernel, kernel],
        Some(&bias.data),
        stride,
        padding,
    )
    .map_err(|e| nn_err(prefix, e))
}
