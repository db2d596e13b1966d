//! `upframe-pipeline`: jobs that move frames from a source through processors to a sink.
//!
//! source → decode → frames → processors → encode → sink, each stage on its own thread with a
//! bounded queue between stages so memory stays flat however long the input is. Three wings:
//!
//! - [`jobs`]: the threaded runner ([`jobs::runner`]), the video job and interpolation that
//!   wire a media source and sink to it, output timing and scene cuts;
//! - [`processors`]: [`FrameProcessor`] (one in, one out) and [`FrameInterpolator`] (two in,
//!   one between) and their implementations: Real-ESRGAN, RIFE, Lanczos;
//! - [`resume`]: resumable output — the job key, the work directory and its journal
//!   ([`resume::journal`]); a re-run of the same job skips the frames of complete segments.
//!
//! Dependencies point one way: `jobs` → `resume` → `processors`; below all three are [`error`],
//! [`job_spec`] (what a job reads and writes, shared by the runner and resume) and [`job_key`]
//! (what the journal records a job as).

pub mod error;
pub mod job_key;
pub mod job_spec;
pub mod jobs;
pub mod processors;
pub mod resume;

pub use error::{JobError, PipelineError};
pub use job_spec::{Notice, SegmentOptions, VideoJob, DEFAULT_MAX_PIXELS};
pub use jobs::job::{expected_frames, run_video_job, run_video_job_with, JobSummary, ResumeReport};
pub use jobs::runner::{
    run_job, run_stages, ChainStage, Emit, JobReport, Progress, RunOptions, Stage,
};
pub use processors::precision::{
    resolve_precision, ModelFamily, PrecisionChoice, ResolvedPrecision, UnknownPrecision,
};
pub use processors::resize::{
    opencv_lanczos4_coefficients, resize_lanczos3, resize_lanczos4_opencv, scaled_size,
    LanczosKernel, LanczosResizer,
};
pub use processors::{
    chain_job_key, chain_output_channels, chain_output_size, FrameInterpolator, FrameProcessor,
};
pub use resume::{kept_segments, resume_hint, KeptSegments};
