//! RIFE v4.0's refinement network (`refine.py`: `Contextnet` + `Unet`), run when the official
//! `fastmode` is off: context features of each frame are warped by the flow at four scales, a
//! U-Net takes both frames, the warped frames, the mask logit and the flow, and its sigmoid
//! output becomes a residual `res = out·2 − 1` added to the merged frame, then clamped to [0, 1].

use upframe_nn::{Activation, Backend, Conv2d, ConvTranspose2d, Fused};

use super::block::ConvAct;
use crate::error::ModelError;
use crate::layers::{conv2d, conv_transpose2d, dim, vector};
use crate::state_dict::StateDict;

/// `Conv2`: a stride-2 then a stride-1 3×3 convolution, each with PReLU.
#[derive(Debug)]
struct Conv2 {
    conv1: ConvAct,
    conv2: ConvAct,
}

impl Conv2 {
    fn load(sd: &StateDict, prefix: &str, cin: usize, cout: usize) -> Result<Self, ModelError> {
        Ok(Conv2 {
            conv1: ConvAct::load(sd, &format!("{prefix}.conv1"), cin, cout, 2, true)?,
            conv2: ConvAct::load(sd, &format!("{prefix}.conv2"), cout, cout, 1, true)?,
        })
    }

    fn forward<B: Backend>(&self, x: &B::Tensor, b: &mut B) -> B::Tensor {
        let a = self.conv1.forward(x, b);
        let out = self.conv2.forward(&a, b);
        b.recycle(a);
        out
    }
}

/// `deconv`: a 4×4 stride-2 transposed convolution with PReLU.
#[derive(Debug)]
struct Deconv {
    conv: ConvTranspose2d,
    prelu: Vec<f32>,
}

impl Deconv {
    fn load(sd: &StateDict, prefix: &str, cin: usize, cout: usize) -> Result<Self, ModelError> {
        Ok(Deconv {
            conv: conv_transpose2d(sd, &format!("{prefix}.0"), cin, cout, 4, 2, 1)?,
            prelu: vector(sd, &format!("{prefix}.1.weight"), &[cout])?,
        })
    }

    fn forward<B: Backend>(&self, x: &B::Tensor, b: &mut B) -> B::Tensor {
        b.conv_transpose2d(&self.conv, x, &Fused::act(Activation::PRelu(&self.prelu)))
    }
}

/// `Contextnet` and `Unet` with their weights.
#[derive(Debug)]
pub(super) struct Refinement {
    context: [Conv2; 4],
    down: [Conv2; 4],
    up: [Deconv; 4],
    conv: Conv2d,
}

impl Refinement {
    pub fn for_each_conv(&mut self, f: &mut dyn FnMut(&mut Conv2d)) {
        for c in self.context.iter_mut().chain(self.down.iter_mut()) {
            f(&mut c.conv1.conv);
            f(&mut c.conv2.conv);
        }
        f(&mut self.conv);
    }

    /// The refinement weights (`contextnet.*`, `unet.*`), when the file has them.
    pub fn load(sd: &StateDict) -> Result<Option<Self>, ModelError> {
        if !sd.contains("contextnet.conv1.conv1.0.weight") {
            return Ok(None);
        }
        // `c` in refine.py (16 in v4.0): context widths c, 2c, 4c, 8c; U-Net 2c … 16c.
        let c = dim(sd, "contextnet.conv1.conv1.0.weight", 4, 0)?;
        let context = [
            Conv2::load(sd, "contextnet.conv1", 3, c)?,
            Conv2::load(sd, "contextnet.conv2", c, 2 * c)?,
            Conv2::load(sd, "contextnet.conv3", 2 * c, 4 * c)?,
            Conv2::load(sd, "contextnet.conv4", 4 * c, 8 * c)?,
        ];
        let down = [
            Conv2::load(sd, "unet.down0", 17, 2 * c)?,
            Conv2::load(sd, "unet.down1", 4 * c, 4 * c)?,
            Conv2::load(sd, "unet.down2", 8 * c, 8 * c)?,
            Conv2::load(sd, "unet.down3", 16 * c, 16 * c)?,
        ];
        let up = [
            Deconv::load(sd, "unet.up0", 32 * c, 8 * c)?,
            Deconv::load(sd, "unet.up1", 16 * c, 4 * c)?,
            Deconv::load(sd, "unet.up2", 8 * c, 2 * c)?,
            Deconv::load(sd, "unet.up3", 4 * c, c)?,
        ];
        let conv = conv2d(sd, "unet.conv", c, 3, 3, 1, 1)?;
        Ok(Some(Refinement {
            context,
            down,
            up,
            conv,
        }))
    }

    /// `Contextnet(img, flow[:, c0..c0+2])`: the four feature maps, each warped by the flow
    /// halved in size and magnitude once more per level.
    fn contextnet<B: Backend>(
        &self,
        img: &B::Tensor,
        flow: &B::Tensor,
        c0: usize,
        b: &mut B,
    ) -> [B::Tensor; 4] {
        let mut f = b.gather_channels(&[(flow, c0..c0 + 2)]);
        let mut x: Option<B::Tensor> = None;
        let mut levels = Vec::with_capacity(4);
        for conv in &self.context {
            let next = conv.forward(x.as_ref().unwrap_or(img), b);
            if let Some(prev) = x.replace(next) {
                b.recycle(prev);
            }
            // flow = F.interpolate(flow, scale_factor=0.5, mode="bilinear") * 0.5
            let mut half = b.resize_bilinear(&f, 0.5);
            b.scale_channels_inplace(&mut half, 0..2, 0.5, 1.0);
            b.recycle(std::mem::replace(&mut f, half));
            let feat = x.as_ref().expect("set above");
            levels.push(b.warp(feat, &f, 0));
        }
        b.recycle(f);
        if let Some(last) = x {
            b.recycle(last);
        }
        match levels.try_into() {
            Ok(l) => l,
            Err(_) => unreachable!("four levels"),
        }
    }

    /// `Unet(img0, img1, warped_img0, warped_img1, mask, flow, c0, c1)` after the two
    /// `Contextnet` passes: the sigmoid output (3 channels, full resolution).
    #[allow(clippy::too_many_arguments)]
    pub fn forward<B: Backend>(
        &self,
        img0: &B::Tensor,
        img1: &B::Tensor,
        warped0: &B::Tensor,
        warped1: &B::Tensor,
        mask_logits: &B::Tensor,
        flow: &B::Tensor,
        b: &mut B,
    ) -> B::Tensor {
        let c0 = self.contextnet(img0, flow, 0, b);
        let c1 = self.contextnet(img1, flow, 2, b);
        let x = b.concat_channels(&[img0, img1, warped0, warped1, mask_logits, flow]);
        let s0 = self.down[0].forward(&x, b);
        b.recycle(x);
        let x = b.concat_channels(&[&s0, &c0[0], &c1[0]]);
        let s1 = self.down[1].forward(&x, b);
        b.recycle(x);
        let x = b.concat_channels(&[&s1, &c0[1], &c1[1]]);
        let s2 = self.down[2].forward(&x, b);
        b.recycle(x);
        let x = b.concat_channels(&[&s2, &c0[2], &c1[2]]);
        let s3 = self.down[3].forward(&x, b);
        b.recycle(x);
        let x = b.concat_channels(&[&s3, &c0[3], &c1[3]]);
        b.recycle(s3);
        let mut up = self.up[0].forward(&x, b);
        b.recycle(x);
        for (deconv, skip) in self.up[1..].iter().zip([&s2, &s1, &s0]) {
            let x = b.concat_channels(&[&up, skip]);
            b.recycle(up);
            up = deconv.forward(&x, b);
            b.recycle(x);
        }
        let out = b.conv2d(&self.conv, &up, &Fused::act(Activation::Sigmoid));
        b.recycle(up);
        for t in [s0, s1, s2].into_iter().chain(c0).chain(c1) {
            b.recycle(t);
        }
        out
    }
}
