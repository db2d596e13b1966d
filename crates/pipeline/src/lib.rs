//! `upframe-pipeline`: jobs that move frames from a source through processors to a sink.
//!
//! source → decode → frames → processors → encode → sink, each stage on its own thread with a
//! bounded queue between stages so memory stays flat however long the input is
//! ([`runner::run_job`]). Processors implement [`FrameProcessor`] (one in, one out) or
//! [`FrameInterpolator`] (two in, one between). The first real processor is the Lanczos
//! resizer ([`resize`]). [`job::run_video_job`] wires a media source and sink to the runner.
//!
//! Video outputs are resumable ([`resume`]): written as segments in a work directory with a
//! journal ([`journal`]); a re-run of the same job skips the frames of complete segments.

pub mod chunks;
pub mod error;
pub mod gpu;
pub mod interpolate;
pub mod job;
pub mod journal;
pub mod precision;
pub mod processor;
pub mod realesrgan;
pub mod resize;
pub mod resume;
pub mod rife;
pub mod runner;
pub mod scene;
pub mod timing;

pub use error::PipelineError;
pub use job::{
    expected_frames, run_video_job, run_video_job_with, JobError, JobSummary, ResumeReport,
    VideoJob, DEFAULT_MAX_PIXELS,
};
pub use precision::{
    resolve_precision, ModelFamily, PrecisionChoice, ResolvedPrecision, UnknownPrecision,
};
pub use processor::{
    chain_job_key, chain_output_channels, chain_output_size, FrameInterpolator, FrameProcessor,
};
pub use resize::{
    opencv_lanczos4_coefficients, resize_lanczos3, resize_lanczos4_opencv, scaled_size,
    LanczosKernel, LanczosResizer,
};
pub use resume::{kept_segments, resume_hint, KeptSegments, Notice, SegmentOptions};
pub use runner::{run_job, JobReport, Progress, RunOptions};
