//! `upframe-media`: everything that touches pixels on disk.
//!
//! FFmpeg (libav, in-process through `ffmpeg-next`) demuxing, decoding, encoding and muxing;
//! audio/subtitle passthrough; image files and frame sequences; pixel-format and colour
//! conversion. Frames leave this crate as [`Frame`]s: interleaved `f32` samples in `[0, 1]`,
//! which is exactly the NHWC layout (with N = 1) that the `nn` crate computes on.
//!
//! Entry points: [`probe`], [`open_source`] (videos, single images, directories of frames,
//! printf patterns) and [`open_sink`] (video files, single images, directories/patterns).
//!
//! Behaviour decisions (tested in `tests/`):
//! - **Colour**: YUV→RGB uses the stream's matrix and range (`sws_setColorspaceDetails`, with
//!   accurate rounding and full chroma interpolation); untagged video is BT.601 when SD and
//!   BT.709 when wider than 1024 or taller than 576, limited range. Encoding uses the
//!   [`OutputSpec::colour`] tags and writes them; an untagged matrix/range is written as an
//!   explicit tag chosen the same way from the *output* size, so players agree after upscaling.
//! - **Depth**: >8-bit sources decode through 16-bit RGB to [`SampleDepth::High`] with the source's
//!   bit count; high-depth output defaults to libx265 yuv420p10le (libvpx-vp9 yuv420p10le for
//!   .webm when this libvpx has high bit depth, else its first supported format). 8-bit defaults: libx264 crf 18 preset medium yuv420p; .webm libvpx-vp9 crf 24.
//! - **Frame count** ([`VideoInfo::frame_count`]): the header's `nb_frames` when present, else
//!   the number of video packets (a demux-only pass, no decoding). **VFR**: `avg_frame_rate`
//!   and `r_frame_rate` differ by more than 1 %.
//! - **Timestamps**: frames keep the source pts; raw streams without timestamps are stamped from
//!   the frame rate. Sinks rescale `Frame::pts` from [`OutputSpec::time_base`] to the encoder and
//!   muxer, shifted by [`OutputSpec::start_s`] (or `passthrough.start_s`) for video and copied
//!   streams alike, so VFR timing survives.
//! - **Decode errors**: see [`DecodeErrorPolicy`] and the `source` module docs: `Abort` fails on
//!   any error the decoder returns *or logs* (box.mp4: frame 0), `Skip` drops and counts frames.
//! - **Short inputs** ([`ShortInput`]): a video that ends more than one frame interval before
//!   what its container declares, or inside a cut-off frame, and a numbered sequence with a gap,
//!   are [`MediaError::ShortInput`] under `Abort`; `Skip` keeps what exists and reports it
//!   ([`FrameSource::short_input`]), and the sink then cuts copied audio at the video's real
//!   end ([`FrameSink::end_passthrough_at`]).
//! - **Sequences**: default 25 fps ([`DecodeOptions::sequence_frame_rate`]); output patterns are
//!   numbered from 1 (as FFmpeg's image2 muxer); a directory output gets `%06d.png`.
//! - **Odd sizes** with chroma-subsampled formats are an [`MediaError::InvalidOutput`] error
//!   (suggesting yuv444p), not silently padded or cropped.
//! - **Segmented output** ([`open_segmented_sink`]): video is encoded into numbered segment
//!   files of a fixed number of frames, one fresh encoder each, in a work directory; `finish`
//!   joins their packets by stream copy, with the passthrough streams, into the final file. A
//!   resumed job hands over the segments already done and the sink starts at the next one.
//!
//! Modules form layers, each using only those below it (`scripts/check_module_cycles.py`
//! checks there are no circles): `frame`, `fflog` → `types` → `error`, `hdr` → `ff`, `naming`
//! (what a path names), `pixfmt` → `colour`, `input_guard` → `output` → `images` → `sequence`
//! → `probe` → `source`, `mux` → `encode` → `sink`, `segment`, `preflight` (the checks before
//! a job starts).

mod colour;
mod encode;
mod error;
mod ff;
mod fflog;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod hdr;
mod images;
mod input_guard;
mod mux;
mod naming;
mod output;
mod pixfmt;
mod preflight;
mod probe;
mod segment;
mod sequence;
mod sink;
mod source;
mod types;

use std::path::Path;

pub use error::MediaError;
pub use frame::{Frame, SampleDepth};
pub use images::{read_image, read_image_limited, write_image};
pub use input_guard::check_not_input;
pub use probe::probe;
#[doc(hidden)]
pub use segment::fuzz_parse_segment;
pub use segment::{
    open_segmented_sink, segment_file_name, OnSegment, SegmentPlan, SegmentRecord, SegmentedSink,
};
pub use source::FrameTimes;
pub use types::{
    ColourRange, ColourTags, DecodeErrorPolicy, DecodeOptions, EncodeOptions, HdrMetadata,
    InputKind, MasteringDisplay, MediaInfo, OutputSpec, OutputSummary, Passthrough, SeekReport,
    ShortInput, StreamInfo, StreamKind, VideoInfo, DEFAULT_MAX_PIXELS,
};

/// A stream of decoded frames: a video file, one image, or a sequence of images.
pub trait FrameSource: Send {
    /// The (video) stream being read; `time_base` is that of the frames' `pts`.
    fn info(&self) -> &VideoInfo;
    /// The next frame in presentation order, or `None` at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError>;
    /// Reads past the next frame without converting its pixels (a resumed job passing over
    /// frames already done): the frame's index, timestamp and size, with empty `data`; `None`
    /// at the end. Sources that cannot skip the conversion read the frame and drop its samples.
    fn skip_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        Ok(self.next_frame()?.map(Frame::without_samples))
    }
    /// Positions the source so that the next [`FrameSource::next_frame`] returns frame `index`
    /// (counted from the start of the window, as a straight decode numbers them), with the
    /// same timestamp and pixels a straight decode gives it: a resumed job starts there. Videos
    /// seek to the keyframe at or before it and decode forward from there (see the `seek`
    /// module docs for how that stays frame-exact and when it falls back to decoding from the
    /// start); sequences go straight to the file. This default reads past the frames before
    /// it (from the current position). A set `cancel` stops a video's fallback decode with
    /// [`MediaError::Interrupted`].
    fn seek_to_frame(
        &mut self,
        index: u64,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<SeekReport, MediaError> {
        let _ = cancel;
        let mut read = 0;
        while read < index {
            match self.skip_frame()? {
                Some(_) => read += 1,
                None => break,
            }
        }
        Ok(SeekReport {
            seeked: false,
            frames_decoded: read,
            fallback: Some("this source cannot seek".into()),
        })
    }
    /// The timestamps of the window's frames in order from frame 0, told without decoding
    /// (from packets; a sequence's are its frame numbers), independently of this source's
    /// position; `None` where the source cannot tell them.
    fn frame_times(&self) -> Result<Option<FrameTimes>, MediaError> {
        Ok(None)
    }
    /// Pictures decoded so far (videos: out of the decoder, frames before a window's start
    /// and frames only read past included; sequences: images read).
    fn frames_decoded(&self) -> u64 {
        0
    }
    /// Frames dropped so far under [`DecodeErrorPolicy::Skip`].
    fn skipped_frames(&self) -> u64 {
        0
    }
    /// How the input fell short of what it declares (it ended early, a sequence has a gap),
    /// accepted under [`DecodeErrorPolicy::Skip`]; known once the source has returned its
    /// last frame (a sequence's gaps: from the start). Under `Abort` this is the error
    /// [`MediaError::ShortInput`] instead.
    fn short_input(&self) -> Option<&ShortInput> {
        None
    }
}

/// A destination for frames: a video file, one image, or a directory/pattern of images.
///
/// Output is written to a temporary file beside the final path and renamed in `finish`; a sink
/// dropped without `finish` deletes what it wrote.
pub trait FrameSink: Send {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError>;
    /// Ends the copied audio and subtitle streams at `input_s` seconds of input time (the
    /// video ended before its declared end, [`ShortInput::EndsEarly`]): packets that start
    /// at or after it are left out. Call it before `finish`; sinks without copied streams
    /// ignore it.
    fn end_passthrough_at(&mut self, input_s: f64) {
        let _ = input_s;
    }
    fn finish(self: Box<Self>) -> Result<OutputSummary, MediaError>;
}

/// Opens `path` for reading frames. A directory is read as an image sequence (image files in
/// natural name order), a path with a printf pattern (`%d`, `%06d`) as a numbered sequence, a
/// file with an image extension (png, jpg, jpeg, webp, tif, tiff, bmp) as one image, anything else with FFmpeg.
pub fn open_source(path: &Path, opts: &DecodeOptions) -> Result<Box<dyn FrameSource>, MediaError> {
    source::open_source(path, opts)
}

/// Whether `path` has an extension [`open_source`] reads as an image (png, jpg, jpeg, webp,
/// tif, tiff, bmp), case-insensitively.
pub fn has_image_extension(path: &Path) -> bool {
    naming::has_image_extension(path)
}

/// Opens a sink that writes `final_path`. The container/kind comes from the extension: image
/// extensions (png, jpg, jpeg, webp, tif, tiff, bmp) write one image, or a sequence when the path holds a printf
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

/// Whether [`open_sink`] would write `final_path` as a video file (rather than one image or a
/// sequence of images): only video files can be written in resumable segments.
pub fn is_video_file_output(final_path: &Path) -> bool {
    naming::is_video_file_output(final_path)
}

/// The checks [`open_sink`] makes before writing `final_path`: it does not exist (unless
/// `overwrite`), it is not `input`, and its directory exists.
pub fn check_output(
    final_path: &Path,
    overwrite: bool,
    input: Option<&Path>,
) -> Result<(), MediaError> {
    output::check_output(final_path, overwrite, input)
}

/// Checks everything about writing `output` from `input` that can be told before a frame is
/// read or a model loaded: the input exists; the output is not, and would not write over,
/// anything the input reads ([`check_not_input`]; `overwrite` never allows that); the output
/// is free unless `overwrite`, is not a device, FIFO or directory; its format can hold what
/// will be written (image extensions, or a container that accepts the encoder `encode` picks);
/// its folder is writable; an image output gets an input of one frame unless the job reads a
/// window of it (`windowed`: a start, duration or frame limit).
/// Creates nothing.
pub fn check_job_output(
    input: &Path,
    output: &Path,
    overwrite: bool,
    encode: &EncodeOptions,
    windowed: bool,
) -> Result<(), MediaError> {
    preflight::check_job_output(input, output, overwrite, encode, windowed)
}

/// The FFmpeg library versions in use ("avcodec 59.37.100, avformat ..., swscale ..."): a
/// resumable job records them, since another build may encode differently.
pub fn library_versions() -> String {
    ff::library_versions()
}
