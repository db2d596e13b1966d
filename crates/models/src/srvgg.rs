//! SRVGGNetCompact (Real-ESRGAN `srvgg_arch.py`): a plain VGG-style body at low resolution,
//! `conv → (act, conv) × num_conv → act → conv(num_out·r²)`, pixel-shuffled and added to the
//! nearest-upsampled input. Hyperparameters come from the weights (`body.N.*`).

use upframe_nn::{Activation, Backend, Conv2d, Cpu, Fused, Precision, Tensor, Workspace};

use crate::error::ModelError;
use crate::layers::{check_shape, conv2d, dim};
use crate::state_dict::StateDict;

/// The activation between convolutions.
#[derive(Clone, Debug, PartialEq)]
pub enum SrvggActivation {
    /// Per-channel PReLU slopes, one vector per activation layer (read from the weights).
    PRelu,
    /// `LeakyReLU(0.1)`, Real-ESRGAN's `act_type='leakyrelu'`.
    LeakyRelu,
    /// `ReLU`.
    Relu,
}

impl std::fmt::Display for SrvggActivation {
    /// Real-ESRGAN's `act_type` names: `prelu`, `leakyrelu`, `relu`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SrvggActivation::PRelu => "prelu",
            SrvggActivation::LeakyRelu => "leakyrelu",
            SrvggActivation::Relu => "relu",
        })
    }
}

/// SRVGGNetCompact hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SrvggConfig {
    pub num_in_ch: usize,
    pub num_out_ch: usize,
    pub num_feat: usize,
    pub num_conv: usize,
    pub upscale: usize,
    pub activation: SrvggActivation,
}

/// A loaded SRVGGNetCompact.
#[derive(Debug)]
pub struct SrvggNet {
    config: SrvggConfig,
    /// `num_conv + 2` convolutions: first, body, last.
    convs: Vec<Conv2d>,
    /// PReLU slopes after each of the first `num_conv + 1` convolutions (empty otherwise).
    slopes: Vec<Vec<f32>>,
}

impl SrvggNet {
    /// Infers the hyperparameters from the keys and shapes. Parameter-free activations cannot
    /// be told apart from the weights, so checkpoints without PReLU slopes need
    /// [`SrvggNet::with_activation`].
    pub fn config_from_state_dict(sd: &StateDict) -> Result<SrvggConfig, ModelError> {
        if !sd.contains("body.1.weight") {
            return Err(ModelError::InvalidHyperparameters(
                "no PReLU slopes (`body.1.weight`); ReLU/LeakyReLU variants need an explicit activation"
                    .into(),
            ));
        }
        Self::infer_config(sd, SrvggActivation::PRelu)
    }

    fn infer_config(
        sd: &StateDict,
        activation: SrvggActivation,
    ) -> Result<SrvggConfig, ModelError> {
        let num_feat = dim(sd, "body.0.weight", 4, 0)?;
        let num_in_ch = dim(sd, "body.0.weight", 4, 1)?;
        // Convolutions sit at even indices; the last one has the highest index.
        let last = sd
            .keys()
            .filter_map(|k| {
                k.strip_prefix("body.")?
                    .strip_suffix(".weight")?
                    .parse::<usize>()
                    .ok()
            })
            .filter(|&i| i % 2 == 0)
            .max()
            .ok_or_else(|| ModelError::MissingTensor("body.0.weight".into()))?;
        if last < 2 {
            return Err(ModelError::InvalidHyperparameters(
                "SRVGGNetCompact needs at least a first and a last convolution".into(),
            ));
        }
        let num_conv = last / 2 - 1;
        let last_out = dim(sd, &format!("body.{last}.weight"), 4, 0)?;
        // Real-ESRGAN adds the nearest-upsampled input, so output channels equal input channels.
        let num_out_ch = num_in_ch;
        let upscale = (1..=8)
            .find(|r| num_out_ch * r * r == last_out)
            .ok_or_else(|| {
                ModelError::InvalidHyperparameters(format!(
                    "last convolution `body.{last}` has {last_out} outputs, not {num_out_ch}·r² for an integer r"
                ))
            })?;
        Ok(SrvggConfig {
            num_in_ch,
            num_out_ch,
            num_feat,
            num_conv,
            upscale,
            activation,
        })
    }

    /// Loads with hyperparameters inferred from the weights.
    pub fn from_state_dict(sd: &StateDict) -> Result<Self, ModelError> {
        let config = Self::config_from_state_dict(sd)?;
        Self::with_config(sd, config)
    }

    /// Loads a checkpoint whose activation is given explicitly (e.g. a LeakyReLU variant).
    pub fn with_activation(
        sd: &StateDict,
        activation: SrvggActivation,
    ) -> Result<Self, ModelError> {
        let config = Self::infer_config(sd, activation)?;
        Self::with_config(sd, config)
    }

    /// Loads with the given hyperparameters, checking every tensor's shape.
    pub fn with_config(sd: &StateDict, config: SrvggConfig) -> Result<Self, ModelError> {
        let SrvggConfig {
            num_in_ch,
            num_out_ch,
            num_feat,
            num_conv,
            upscale,
            ..
        } = config;
        if num_in_ch != num_out_ch {
            return Err(ModelError::InvalidHyperparameters(
                "SRVGGNetCompact adds the upsampled input: input and output channels must match"
                    .into(),
            ));
        }
        let mut convs = Vec::with_capacity(num_conv + 2);
        let mut slopes = Vec::new();
        convs.push(conv2d(sd, "body.0", num_in_ch, num_feat, 3, 1, 1)?);
        for i in 0..=num_conv {
            if config.activation == SrvggActivation::PRelu {
                let key = format!("body.{}.weight", 2 * i + 1);
                slopes.push(sd.expect(&key, &[num_feat])?.data.clone());
            }
            let idx = 2 * i + 2;
            let cout = if i == num_conv {
                num_out_ch * upscale * upscale
            } else {
                num_feat
            };
            convs.push(conv2d(sd, &format!("body.{idx}"), num_feat, cout, 3, 1, 1)?);
        }
        Ok(SrvggNet {
            config,
            convs,
            slopes,
        })
    }

    /// Switches every convolution the bf16 kernels cover to `precision` (the 3-channel first
    /// layer stays `f32`).
    pub fn set_precision(&mut self, precision: Precision) {
        for conv in &mut self.convs {
            conv.set_precision(precision);
        }
    }

    pub fn config(&self) -> &SrvggConfig {
        &self.config
    }

    pub fn scale(&self) -> usize {
        self.config.upscale
    }

    fn activation(&self, i: usize) -> Activation<'_> {
        match self.config.activation {
            SrvggActivation::PRelu => Activation::PRelu(&self.slopes[i]),
            SrvggActivation::LeakyRelu => Activation::LeakyRelu(0.1),
            SrvggActivation::Relu => Activation::Relu,
        }
    }

    /// `x`: `[n, h, w, num_in_ch]`; returns `[n, h·r, w·r, num_out_ch]` drawn from `ws`.
    pub fn forward(&self, x: &Tensor, ws: &mut Workspace) -> Result<Tensor, ModelError> {
        self.forward_on(x, &mut Cpu::new(ws))
    }

    /// [`SrvggNet::forward`] on any [`Backend`] (the one definition of the network).
    pub fn forward_on<B: Backend>(
        &self,
        x: &B::Tensor,
        b: &mut B,
    ) -> Result<B::Tensor, ModelError> {
        check_shape(b.shape(x), self.config.num_in_ch, "SRVGGNetCompact")?;
        let r = self.config.upscale;
        let mut feat = b.conv2d(&self.convs[0], x, &Fused::act(self.activation(0)));
        let body = &self.convs[1..self.convs.len() - 1];
        for (i, conv) in body.iter().enumerate() {
            let next = b.conv2d(conv, &feat, &Fused::act(self.activation(i + 1)));
            b.recycle(std::mem::replace(&mut feat, next));
        }
        // The nearest-upsampled input, laid out as the last convolution's output (before the
        // pixel shuffle, output channel `ch·r² + k` at a pixel is input channel `ch` there), so
        // the residual add happens in the convolution's epilogue.
        let base = b.repeat_channels(x, r * r);
        let last = b.conv2d(
            &self.convs[self.convs.len() - 1],
            &feat,
            &Fused::none().with_residual(&base),
        );
        b.recycle(feat);
        b.recycle(base);
        let out = b.pixel_shuffle(&last, r);
        b.recycle(last);
        Ok(out)
    }
}
