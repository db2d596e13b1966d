//! `upframe-media`: everything that touches pixels on disk.
//!
//! FFmpeg (libav, in-process through `ffmpeg-next`) demuxing, decoding, encoding and muxing;
//! audio/subtitle passthrough; image files and frame sequences; pixel-format and colour
//! conversion. Frames leave this crate as [`Frame`]s: interleaved `f32` samples in `[0, 1]`,
//! which is exactly the NHWC layout (with N = 1) that the `nn` crate computes on.

mod frame;

pub use frame::{Frame, SampleDepth};
