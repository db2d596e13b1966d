//! RRDBNet (basicsr `rrdbnet_arch.py`, Real-ESRGAN x4plus / x2plus / anime_6B): residual-in-
//! residual dense blocks at low resolution, then two nearest ×2 upsamplings with convolutions.
//! Scales 2 and 1 pixel-unshuffle the input first. Hyperparameters come from the weights.

use upframe_nn::{Activation, Backend, Conv2d, Cpu, Fused, Precision, Tensor, Workspace};

use crate::error::ModelError;
use crate::layers::{check_shape, conv2d, dim};
use crate::state_dict::StateDict;

const LRELU: f32 = 0.2;
/// The residual scaling of both the dense blocks and the RRDBs.
const RESIDUAL_SCALE: f32 = 0.2;

/// RRDBNet hyperparameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RrdbConfig {
    pub num_in_ch: usize,
    pub num_out_ch: usize,
    pub num_feat: usize,
    pub num_block: usize,
    pub num_grow_ch: usize,
    /// 4, 2 (pixel-unshuffle 2 in front) or 1 (pixel-unshuffle 4).
    pub scale: usize,
}

/// One residual dense block: five convolutions over the growing concatenation.
#[derive(Debug)]
struct DenseBlock {
    convs: [Conv2d; 5],
}

/// A loaded RRDBNet.
#[derive(Debug)]
pub struct RrdbNet {
    config: RrdbConfig,
    conv_first: Conv2d,
    /// `num_block` × 3 dense blocks.
    blocks: Vec<[DenseBlock; 3]>,
    conv_body: Conv2d,
    conv_up1: Conv2d,
    conv_up2: Conv2d,
    conv_hr: Conv2d,
    conv_last: Conv2d,
}

impl RrdbNet {
    /// Infers the hyperparameters from the keys and shapes.
    pub fn config_from_state_dict(sd: &StateDict) -> Result<RrdbConfig, ModelError> {
        let num_feat = dim(sd, "conv_first.weight", 4, 0)?;
        let first_in = dim(sd, "conv_first.weight", 4, 1)?;
        let num_out_ch = dim(sd, "conv_last.weight", 4, 0)?;
        let num_grow_ch = dim(sd, "body.0.rdb1.conv1.weight", 4, 0)?;
        let num_block = sd
            .keys()
            .filter_map(|k| {
                k.strip_prefix("body.")?
                    .split('.')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .map_or(0, |m| m + 1);
        // basicsr: scale 2 unshuffles by 2 (×4 channels), scale 1 by 4 (×16 channels).
        let (num_in_ch, scale) = if first_in == num_out_ch {
            (first_in, 4)
        } else if first_in == num_out_ch * 4 {
            (num_out_ch, 2)
        } else if first_in == num_out_ch * 16 {
            (num_out_ch, 1)
        } else {
            return Err(ModelError::InvalidHyperparameters(format!(
                "conv_first takes {first_in} channels for {num_out_ch} output channels: not scale 4, 2 or 1"
            )));
        };
        Ok(RrdbConfig {
            num_in_ch,
            num_out_ch,
            num_feat,
            num_block,
            num_grow_ch,
            scale,
        })
    }

    pub fn from_state_dict(sd: &StateDict) -> Result<Self, ModelError> {
        let config = Self::config_from_state_dict(sd)?;
        Self::with_config(sd, config)
    }

    /// Loads with the given hyperparameters, checking every tensor's shape.
    pub fn with_config(sd: &StateDict, config: RrdbConfig) -> Result<Self, ModelError> {
        let RrdbConfig {
            num_in_ch,
            num_out_ch,
            num_feat: f,
            num_block,
            num_grow_ch: g,
            scale,
        } = config;
        let first_in = match scale {
            4 => num_in_ch,
            2 => num_in_ch * 4,
            1 => num_in_ch * 16,
            other => {
                return Err(ModelError::InvalidHyperparameters(format!(
                    "RRDBNet scale {other} is not 4, 2 or 1"
                )))
            }
        };
        if num_block == 0 {
            return Err(ModelError::MissingTensor("body.0.rdb1.conv1.weight".into()));
        }
        let dense = |prefix: String| -> Result<DenseBlock, ModelError> {
            let c = |i: usize, cin: usize, cout: usize| {
                conv2d(sd, &format!("{prefix}.conv{i}"), cin, cout, 3, 1, 1)
            };
            Ok(DenseBlock {
                convs: [
                    c(1, f, g)?,
                    c(2, f + g, g)?,
                    c(3, f + 2 * g, g)?,
                    c(4, f + 3 * g, g)?,
                    c(5, f + 4 * g, f)?,
                ],
            })
        };
        let blocks = (0..num_block)
            .map(|b| {
                Ok([
                    dense(format!("body.{b}.rdb1"))?,
                    dense(format!("body.{b}.rdb2"))?,
                    dense(format!("body.{b}.rdb3"))?,
                ])
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(RrdbNet {
            conv_first: conv2d(sd, "conv_first", first_in, f, 3, 1, 1)?,
            blocks,
            conv_body: conv2d(sd, "conv_body", f, f, 3, 1, 1)?,
            conv_up1: conv2d(sd, "conv_up1", f, f, 3, 1, 1)?,
            conv_up2: conv2d(sd, "conv_up2", f, f, 3, 1, 1)?,
            conv_hr: conv2d(sd, "conv_hr", f, f, 3, 1, 1)?,
            conv_last: conv2d(sd, "conv_last", f, num_out_ch, 3, 1, 1)?,
            config,
        })
    }

    /// Switches every convolution the bf16 kernels cover to `precision` (the dense blocks, the
    /// trunk and the upsampling convolutions; the 3- or 12-channel first layer stays `f32`).
    pub fn set_precision(&mut self, precision: Precision) {
        for conv in [
            &mut self.conv_first,
            &mut self.conv_body,
            &mut self.conv_up1,
            &mut self.conv_up2,
            &mut self.conv_hr,
            &mut self.conv_last,
        ] {
            conv.set_precision(precision);
        }
        for rrdb in &mut self.blocks {
            for dense in rrdb {
                for conv in &mut dense.convs {
                    conv.set_precision(precision);
                }
            }
        }
    }

    pub fn config(&self) -> &RrdbConfig {
        &self.config
    }

    pub fn scale(&self) -> usize {
        self.config.scale
    }

    /// One dense block: `x5 * 0.2 + x`, the scale and add fused into conv5's epilogue.
    /// For the third block of an RRDB, `rrdb_input` makes it return the RRDB's output
    /// `(x5 * 0.2 + x) * 0.2 + rrdb_input`.
    fn dense_block<B: Backend>(
        &self,
        block: &DenseBlock,
        x: &B::Tensor,
        rrdb_input: Option<&B::Tensor>,
        b: &mut B,
    ) -> B::Tensor {
        let lrelu = Fused::act(Activation::LeakyRelu(LRELU));
        // The concatenations [x], [x, x1], ... [x, x1..x4], each a fresh tensor the convolution
        // can read (nn convolutions read whole tensors, not channel windows).
        let mut grown: Vec<B::Tensor> = Vec::with_capacity(4);
        let mut cat = b.copy(x);
        for conv in &block.convs[..4] {
            let xi = b.conv2d(conv, &cat, &lrelu);
            let next = b.concat_channels(&[&cat, &xi]);
            b.recycle(xi);
            grown.push(std::mem::replace(&mut cat, next));
        }
        let mut out = b.conv2d(
            &block.convs[4],
            &cat,
            &Fused::none().with_post(RESIDUAL_SCALE, x),
        );
        if let Some(skip) = rrdb_input {
            b.scale_add_inplace(&mut out, RESIDUAL_SCALE, skip);
        }
        b.recycle(cat);
        for t in grown {
            b.recycle(t);
        }
        out
    }

    /// `x`: `[n, h, w, num_in_ch]` (h, w divisible by 2 for scale 2, by 4 for scale 1);
    /// returns `[n, h·scale, w·scale, num_out_ch]` drawn from `ws`.
    pub fn forward(&self, x: &Tensor, ws: &mut Workspace) -> Result<Tensor, ModelError> {
        self.forward_on(x, &mut Cpu::new(ws))
    }

    /// [`RrdbNet::forward`] on any [`Backend`] (the one definition of the network).
    pub fn forward_on<B: Backend>(
        &self,
        x: &B::Tensor,
        b: &mut B,
    ) -> Result<B::Tensor, ModelError> {
        let shape = b.shape(x);
        check_shape(shape, self.config.num_in_ch, "RRDBNet")?;
        let unshuffle = 4 / self.config.scale;
        let [_, h, w, _] = shape;
        if h % unshuffle != 0 || w % unshuffle != 0 {
            return Err(ModelError::InvalidInput(format!(
                "RRDBNet scale {} needs height and width divisible by {unshuffle}, got {h}x{w}",
                self.config.scale
            )));
        }
        let lrelu = Fused::act(Activation::LeakyRelu(LRELU));
        let feat = if unshuffle > 1 {
            let u = b.pixel_unshuffle(x, unshuffle);
            let f = b.conv2d(&self.conv_first, &u, &Fused::none());
            b.recycle(u);
            f
        } else {
            b.conv2d(&self.conv_first, x, &Fused::none())
        };
        let mut body = b.copy(&feat);
        for rrdb in &self.blocks {
            let t1 = self.dense_block(&rrdb[0], &body, None, b);
            let t2 = self.dense_block(&rrdb[1], &t1, None, b);
            b.recycle(t1);
            let t3 = self.dense_block(&rrdb[2], &t2, Some(&body), b);
            b.recycle(t2);
            b.recycle(std::mem::replace(&mut body, t3));
        }
        let trunk = b.conv2d(&self.conv_body, &body, &Fused::none().with_residual(&feat));
        b.recycle(body);
        b.recycle(feat);
        let up = b.upsample_nearest(&trunk, 2);
        b.recycle(trunk);
        let f1 = b.conv2d(&self.conv_up1, &up, &lrelu);
        b.recycle(up);
        let up = b.upsample_nearest(&f1, 2);
        b.recycle(f1);
        let f2 = b.conv2d(&self.conv_up2, &up, &lrelu);
        b.recycle(up);
        let hr = b.conv2d(&self.conv_hr, &f2, &lrelu);
        b.recycle(f2);
        let out = b.conv2d(&self.conv_last, &hr, &Fused::none());
        b.recycle(hr);
        Ok(out)
    }
}
