//! What a whole-file job is asked to do: [`VideoJob`] (input, output, decode and encode
//! options, cancellation, frame limit), its resumable-output settings ([`SegmentOptions`]) and
//! where its notices to the user go ([`Notice`]). Running it is [`crate::jobs::job`]'s; segmenting
//! and resuming it is [`crate::resume`]'s.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use upframe_media::{DecodeOptions, EncodeOptions};

use crate::job_key::{JobKey, SegmentEntry};

/// What to read, what to write and how.
#[derive(Clone, Debug)]
pub struct VideoJob {
    pub input: PathBuf,
    pub output: PathBuf,
    pub decode: DecodeOptions,
    pub encode: EncodeOptions,
    pub overwrite: bool,
    /// Copy the input's audio streams (video inputs only).
    pub audio: bool,
    /// Copy the input's subtitle streams (video inputs only).
    pub subtitles: bool,
    /// Frames per queue between stages.
    pub queue_depth: usize,
    pub cancel: Arc<AtomicBool>,
    pub progress_interval: Duration,
    /// Resumable segmented output for video files (`None`: write the file directly).
    pub segments: Option<SegmentOptions>,
    /// Where one-line notices for the user go (resuming, ...).
    pub notice: Notice,
    /// The largest frame, in pixels, accepted in or out ([`DEFAULT_MAX_PIXELS`]): a larger
    /// one is refused before any output is written.
    pub max_pixels: u64,
}

/// 16384 × 16384: a frame of this size takes 3 GiB as RGB `f32` (the media layer's limit for
/// images, which it decodes whole when they open).
pub const DEFAULT_MAX_PIXELS: u64 = upframe_media::DEFAULT_MAX_PIXELS;

impl VideoJob {
    /// `decode` with the job's frame limit: images, decoded whole when the source opens, are
    /// refused from their header.
    pub(crate) fn decode_options(&self) -> DecodeOptions {
        DecodeOptions {
            max_pixels: self.max_pixels,
            ..self.decode.clone()
        }
    }

    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        VideoJob {
            input: input.into(),
            output: output.into(),
            decode: DecodeOptions::default(),
            encode: EncodeOptions::default(),
            overwrite: false,
            audio: true,
            subtitles: true,
            queue_depth: 4,
            cancel: Arc::new(AtomicBool::new(false)),
            progress_interval: Duration::from_millis(200),
            segments: Some(SegmentOptions::default()),
            notice: Notice::default(),
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// How a job writes resumable segments.
#[derive(Clone, Debug, Default)]
pub struct SegmentOptions {
    /// Output frames per segment; `None`: about
    /// [`DEFAULT_SEGMENT_SECONDS`](crate::resume::DEFAULT_SEGMENT_SECONDS) of output.
    pub frames: Option<u64>,
    /// Discard an earlier run's work directory instead of resuming from it.
    pub restart: bool,
    /// What the caller's job is beyond [`VideoJob`]'s own fields (command, model name and
    /// options, weight file hashes): a change refuses to resume.
    pub key: JobKey,
    /// One chunk of a job run on many machines, or the join of all of them
    /// ([`crate::resume::chunks`]); `None`: the whole job in its own work directory. Needs
    /// `frames`.
    pub chunk: Option<ChunkMode>,
}

/// A callback for one-line notices to the user ("resuming after 3 segments ...").
#[derive(Clone, Default)]
pub struct Notice(pub Option<NoticeFn>);

/// The function behind a [`Notice`].
pub type NoticeFn = Arc<dyn Fn(&str) + Send + Sync>;

impl Notice {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Notice(Some(Arc::new(f)))
    }

    pub fn say(&self, message: &str) {
        if let Some(f) = &self.0 {
            f(message);
        }
    }
}

impl fmt::Debug for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Notice(..)"
        } else {
            "Notice(none)"
        })
    }
}

/// Which segments a chunk writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    pub index: usize,
    /// The first segment index of the chunk.
    pub first_segment: u64,
    /// One past its last segment; `None`: to the end of the video (the last chunk).
    pub end_segment: Option<u64>,
}

/// How a job uses a shared work directory instead of its own (in [`SegmentOptions`]).
#[derive(Clone, Debug)]
pub enum ChunkMode {
    /// Write the segments of one chunk into `work_dir`, then commit the chunk.
    Run {
        work_dir: PathBuf,
        chunk: ChunkRange,
        /// Identifies the plan: a chunk of another plan is never taken for this one's.
        plan_id: String,
    },
    /// Join the committed chunks ([`crate::resume::chunks::verify`]'s result) into the job's output; nothing is
    /// decoded or computed.
    Join {
        work_dir: PathBuf,
        chunks: Vec<CommittedChunk>,
    },
}

/// A committed chunk as its manifest records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedChunk {
    pub range: ChunkRange,
    /// The key the chunk was made under (the job's, the output shape's, and `chunk.*`).
    pub key: JobKey,
    /// Its segments in order; `file` is relative to the chunk's directory.
    pub segments: Vec<SegmentEntry>,
}

impl CommittedChunk {
    /// Output frames the chunk holds.
    pub fn frames(&self) -> u64 {
        self.segments.iter().map(|s| s.frames).sum()
    }
}
