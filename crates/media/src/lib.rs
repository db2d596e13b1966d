//! `upframe-media`: everything that touches pixels on disk.
//!
//! FFmpeg (libav, in-process through `ffmpeg-next`) demuxing, decoding, encoding and muxing;
//! audio/subtitle passthrough; image files and frame sequences; pixel-format and colour
//! conversion. Frames leave this crate as [`Frame`]s: interleaved `f32` samples in `[0, 1]`,
//! which is exactly the NHWC layout (with N = 1) that the `nn` crate computes on.
//!
//! Entry points: [`probe`], [`open_source`] (videos, single images, directories of frames,
//! printf patterns) and [`open_sink`] (video files, single images, directories/patterns).

mod colour;
mod encode;
mod error;
mod ff;
mod fflog;
mod frame;
mod images;
mod mux;
mod output;
mod probe;
mod sequence;
mod sink;
mod source;
mod types;

use std::path::Path;

pub use error::MediaError;
pub use frame::{Frame, SampleDepth};
pub use images::{read_image, write_image};
pub use probe::probe;
pub use types::{
    ColourRange, ColourTags, DecodeErrorPolicy, DecodeOptions, EncodeOptions, InputKind, MediaInfo,
    OutputSpec, OutputSummary, Passthrough, StreamInfo, StreamKind, VideoInfo,
};

/// A stream of decoded frames: a video file, one image, or a sequence of images.
pub trait FrameSource: Send {
    /// The (video) stream being read; `time_base` is that of the frames' `pts`.
    fn info(&self) -> &VideoInfo;
    /// The next frame in presentation order, or `None` at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError>;
    /// Frames dropped so far under [`DecodeErrorPolicy::Skip`].
    fn skipped_frames(&self) -> u64 {
        0
    }
}

/// A destination for frames: a video file, one image, or a directory/pattern of images.
///
/// Output is written to a temporary file beside the final path and renamed in `finish`; a sink
/// dropped without `finish` deletes what it wrote.
pub trait FrameSink: Send {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError>;
    fn finish(self: Box<Self>) -> Result<OutputSummary, MediaError>;
}

/// Opens `path` for reading frames. A directory is read as an image sequence (image files in
/// natural name order), a path with a printf pattern (`%d`, `%06d`) as a numbered sequence, a
/// file with an image extension (png, jpg, jpeg, webp) as one image, anything else with FFmpeg.
pub fn open_source(path: &Path, opts: &DecodeOptions) -> Result<Box<dyn FrameSource>, MediaError> {
    source::open_source(path, opts)
}

/// Opens a sink that writes `final_path`. The container/kind comes from the extension: image
/// extensions (png, jpg, jpeg, webp) write one image, or a sequence when the path holds a printf
/// pattern or ends with `/`; anything else is a video file muxed by FFmpeg.
///
/// Video defaults: `.webm` → libvpx-vp9 (yuv420p, or yuva420p with alpha); otherwise libx264
/// `crf 18`, preset `medium`, yuv420p for 8-bit, and libx265 yuv420p10le for high-depth output.
/// Alpha: `.webm` → libvpx-vp9 yuva420p, `.mov` → prores_ks 4444 (yuva444p10le), `.mkv` → ffv1
/// (yuva420p / yuva444p10le); codecs that cannot carry alpha drop it with a warning.
/// 4:2:0/4:2:2 output needs even dimensions: odd sizes are an [`MediaError::InvalidOutput`].
pub fn open_sink(final_path: &Path, spec: &OutputSpec) -> Result<Box<dyn FrameSink>, MediaError> {
    sink::open_sink(final_path, spec)
}
