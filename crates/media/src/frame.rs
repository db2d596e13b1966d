//! The frame type that flows between every stage of the pipeline.

/// The precision a frame's samples came from (and that an encoder or image writer should keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleDepth {
    /// 8 bits per sample (u8 images, yuv420p video).
    U8,
    /// More than 8 bits per sample: 10/12-bit video or 16-bit images. Stored with the
    /// number of significant bits so that 10-bit sources are written back as 10-bit.
    High { bits: u8 },
}

impl std::fmt::Display for SampleDepth {
    /// `8-bit`, `10-bit`, `16-bit`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SampleDepth::U8 => f.write_str("8-bit"),
            SampleDepth::High { bits } => write!(f, "{bits}-bit"),
        }
    }
}

/// One decoded picture: interleaved samples (HWC) as `f32` in `[0, 1]`.
///
/// `channels` is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA). RGB is in the source's
/// primaries and transfer (no colour-space conversion beyond YUV→RGB); the source's tags travel
/// with the stream, not the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub depth: SampleDepth,
    /// `width * height * channels` samples, row-major, channels interleaved.
    pub data: Vec<f32>,
    /// Presentation time in the source stream's time base, when the source has one.
    pub pts: Option<i64>,
    /// 0-based index of the frame in decode order of the source (after any `--start`).
    pub index: u64,
}

impl Frame {
    /// The frame's index, timestamp, size and depth without its samples (`data` empty): what
    /// [`crate::FrameSource::skip_frame`] gives.
    pub fn without_samples(mut self) -> Self {
        self.data = Vec::new();
        self
    }

    /// Whether the frame has no samples although its size says it should.
    pub fn is_header_only(&self) -> bool {
        self.data.is_empty() && self.width * self.height * self.channels > 0
    }

    /// A black (and, with alpha, transparent) frame.
    pub fn new(width: usize, height: usize, channels: usize, depth: SampleDepth) -> Self {
        Frame {
            width,
            height,
            channels,
            depth,
            data: vec![0.0; width * height * channels],
            pts: None,
            index: 0,
        }
    }

    /// Whether the last channel is alpha.
    pub fn has_alpha(&self) -> bool {
        self.channels == 2 || self.channels == 4
    }
}
