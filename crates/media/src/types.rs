//! Plain data types of the public API: what a probe reports, how to decode, what to write.

use std::path::PathBuf;

use crate::frame::SampleDepth;

/// Colour range of YUV samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ColourRange {
    /// Not tagged; treated as limited ("TV") range, as FFmpeg and players do.
    #[default]
    Unspecified,
    /// Limited / TV / MPEG range (16-235 for 8-bit luma).
    Limited,
    /// Full / PC / JPEG range (0-255).
    Full,
}

/// Colour tags of a video stream, as ITU-T H.273 code points (the numbers FFmpeg uses for
/// `AVColorPrimaries`, `AVColorTransferCharacteristic` and `AVColorSpace`). 2 means unspecified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColourTags {
    /// Colour primaries (1 = BT.709, 5/6 = BT.601 625/525, 9 = BT.2020).
    pub primaries: u8,
    /// Transfer characteristics (1 = BT.709, 16 = SMPTE ST 2084 / PQ, 18 = HLG).
    pub transfer: u8,
    /// Matrix coefficients (0 = RGB, 1 = BT.709, 5/6 = BT.601, 9 = BT.2020 NCL).
    pub matrix: u8,
    pub range: ColourRange,
}

impl Default for ColourTags {
    fn default() -> Self {
        ColourTags::UNSPECIFIED
    }
}

impl ColourTags {
    pub const UNSPECIFIED: ColourTags = ColourTags {
        primaries: 2,
        transfer: 2,
        matrix: 2,
        range: ColourRange::Unspecified,
    };
    pub const BT709: ColourTags = ColourTags {
        primaries: 1,
        transfer: 1,
        matrix: 1,
        range: ColourRange::Limited,
    };
    pub const BT601: ColourTags = ColourTags {
        primaries: 6,
        transfer: 6,
        matrix: 6,
        range: ColourRange::Limited,
    };

    /// FFmpeg's name of the primaries ("bt709", "bt2020", "unknown", ...).
    pub fn primaries_name(&self) -> &'static str {
        primaries_name(self.primaries)
    }
    /// FFmpeg's name of the transfer characteristics ("bt709", "smpte2084", ...).
    pub fn transfer_name(&self) -> &'static str {
        transfer_name(self.transfer)
    }
    /// FFmpeg's name of the matrix coefficients ("bt709", "bt2020nc", ...).
    pub fn matrix_name(&self) -> &'static str {
        matrix_name(self.matrix)
    }
    /// "tv", "pc" or "unknown".
    pub fn range_name(&self) -> &'static str {
        match self.range {
            ColourRange::Unspecified => "unknown",
            ColourRange::Limited => "tv",
            ColourRange::Full => "pc",
        }
    }
    /// Whether the transfer is an HDR one (PQ or HLG).
    pub fn is_hdr(&self) -> bool {
        self.transfer == 16 || self.transfer == 18
    }
}

// FFmpeg's names of the colour codes (AVColorPrimaries, AVColorTransferCharacteristic,
// AVColorSpace values), as `ffprobe` prints them.

fn primaries_name(code: u8) -> &'static str {
    match code {
        1 => "bt709",
        4 => "bt470m",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "film",
        9 => "bt2020",
        10 => "smpte428",
        11 => "smpte431",
        12 => "smpte432",
        22 => "ebu3213",
        _ => "unknown",
    }
}

fn transfer_name(code: u8) -> &'static str {
    match code {
        1 => "bt709",
        4 => "gamma22",
        5 => "gamma28",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "linear",
        9 => "log100",
        10 => "log316",
        11 => "iec61966-2-4",
        12 => "bt1361e",
        13 => "iec61966-2-1",
        14 => "bt2020-10",
        15 => "bt2020-12",
        16 => "smpte2084",
        17 => "smpte428",
        18 => "arib-std-b67",
        _ => "unknown",
    }
}

fn matrix_name(code: u8) -> &'static str {
    match code {
        0 => "gbr",
        1 => "bt709",
        4 => "fcc",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "ycgco",
        9 => "bt2020nc",
        10 => "bt2020c",
        11 => "smpte2085",
        12 => "chroma-derived-nc",
        13 => "chroma-derived-c",
        14 => "ictcp",
        _ => "unknown",
    }
}

/// SMPTE ST 2086 mastering display colour volume (CIE 1931 xy chromaticities, cd/m²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MasteringDisplay {
    pub red: (f64, f64),
    pub green: (f64, f64),
    pub blue: (f64, f64),
    pub white_point: (f64, f64),
    pub min_luminance: f64,
    pub max_luminance: f64,
}

/// HDR10 static metadata of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HdrMetadata {
    pub mastering: Option<MasteringDisplay>,
    /// (MaxCLL, MaxFALL) in cd/m².
    pub max_cll: Option<(u32, u32)>,
}

/// What kind of input a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// A media file FFmpeg demuxes (video, or anything with a video stream).
    Video,
    /// A single still image (PNG, JPEG, WebP).
    Image,
    /// A directory of image files or a printf pattern such as `frames/%06d.png`.
    ImageSequence,
}

impl InputKind {
    /// `video`, `image`, `imagesequence` (the names `probe --json` has always printed).
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Video => "video",
            InputKind::Image => "image",
            InputKind::ImageSequence => "imagesequence",
        }
    }
}

/// The kind of an elementary stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Video,
    Audio,
    Subtitle,
    Data,
    Attachment,
    Unknown,
}

impl std::fmt::Display for StreamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StreamKind::Video => "video",
            StreamKind::Audio => "audio",
            StreamKind::Subtitle => "subtitle",
            StreamKind::Data => "data",
            StreamKind::Attachment => "attachment",
            StreamKind::Unknown => "unknown",
        })
    }
}

/// One stream of a container.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamInfo {
    pub index: usize,
    pub kind: StreamKind,
    /// Codec short name ("h264", "ac3", "subrip", ...).
    pub codec: String,
    /// `language` tag, when present.
    pub language: Option<String>,
    pub time_base: (i32, i32),
    /// Stream duration in seconds, when known.
    pub duration_s: Option<f64>,
    /// Audio only: sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Audio only: channel count.
    pub channels: Option<u16>,
    /// Bit rate in bits/s, when known.
    pub bit_rate: Option<u64>,
}

/// The video stream a source decodes (or the synthetic one of an image sequence).
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub stream_index: usize,
    /// Codec short name ("h264", "vp8", "png", ...).
    pub codec: String,
    pub width: usize,
    pub height: usize,
    /// FFmpeg pixel format name of the coded picture ("yuv420p", "yuv420p10le", "rgba", ...).
    pub pix_fmt: String,
    /// Bits per sample of the coded picture (8, 10, 12, 16).
    pub bit_depth: u8,
    pub has_alpha: bool,
    /// Time base of `Frame::pts` for frames of this source.
    pub time_base: (i32, i32),
    /// Average frame rate (for image sequences: the configured rate).
    pub avg_frame_rate: (i32, i32),
    /// The container's "real base" frame rate (`r_frame_rate`).
    pub r_frame_rate: (i32, i32),
    /// Frame count: the header's `nb_frames` when present, else the number of video packets.
    pub frame_count: Option<u64>,
    /// Variable frame rate: `r_frame_rate` and `avg_frame_rate` differ by more than 1 %.
    pub vfr: bool,
    pub colour: ColourTags,
    /// Display rotation in degrees, counter-clockwise, from the display matrix (0 when none).
    pub rotation_deg: f64,
    /// Duration of the video stream in seconds, when known.
    pub duration_s: Option<f64>,
    /// HDR10 static metadata (from the container, or from the first frame's SEI for HDR
    /// streams), when present.
    pub hdr: Option<HdrMetadata>,
    /// Channels the source's frames carry: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    pub channels: usize,
    /// Depth of the frames the source yields.
    pub depth: SampleDepth,
}

impl VideoInfo {
    /// Average frame rate as a float (0 when unknown).
    pub fn fps(&self) -> f64 {
        rational_f64(self.avg_frame_rate)
    }
}

/// Everything `probe` finds out about an input.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    pub path: PathBuf,
    /// Demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "png", "image sequence", ...).
    pub format_name: String,
    pub duration_s: Option<f64>,
    pub streams: Vec<StreamInfo>,
    /// The video stream the tools would decode (the first video stream that is not a cover image).
    pub video: Option<VideoInfo>,
    pub chapters: usize,
    /// Container-level metadata tags.
    pub metadata: Vec<(String, String)>,
    pub kind: InputKind,
}

/// How an input falls short of what it declares. Under [`DecodeErrorPolicy::Abort`] it is the
/// error [`crate::MediaError::ShortInput`]; under `Skip` the source keeps what exists and reports
/// it through [`crate::FrameSource::short_input`]. `Display` is one line naming the file.
#[derive(Clone, Debug, PartialEq)]
pub enum ShortInput {
    /// The video stops before the end its container declares (by more than one frame
    /// interval, or inside a frame the data cut off). Counts and times cover what the window
    /// (`--start/--duration/--frames`) should hold.
    EndsEarly {
        path: PathBuf,
        /// Frames the header (or the window) promises, when known.
        declared_frames: Option<u64>,
        /// Frames decoded (any the data holds but that do not decode are not counted).
        read_frames: u64,
        /// Seconds promised, when known.
        declared_s: Option<f64>,
        /// Seconds read (from the window start to the end of the last frame).
        read_s: f64,
        /// Input time (seconds) where the video really ends: copied audio and subtitles are
        /// cut there.
        end_s: f64,
    },
    /// A numbered image sequence has gaps in its numbering.
    MissingFrames {
        /// The sequence (directory or pattern).
        path: PathBuf,
        /// The first missing frame's number and the file it would be.
        number: u64,
        file: PathBuf,
        /// How many numbers are missing in all.
        missing: u64,
    },
}

impl ShortInput {
    /// The input it is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            ShortInput::EndsEarly { path, .. } | ShortInput::MissingFrames { path, .. } => path,
        }
    }
}

impl std::fmt::Display for ShortInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShortInput::EndsEarly {
                path,
                declared_frames,
                read_frames,
                declared_s,
                read_s,
                ..
            } => {
                write!(f, "{}: ends early: ", path.display())?;
                let frames = |n: u64| if n == 1 { "frame" } else { "frames" };
                match (declared_frames, declared_s) {
                    (Some(n), Some(d)) => write!(
                        f,
                        "{read_frames} of {n} {} ({read_s:.1} of {d:.1} s)",
                        frames(*n)
                    )?,
                    (Some(n), None) => {
                        write!(f, "{read_frames} of {n} {} ({read_s:.1} s)", frames(*n))?
                    }
                    (None, Some(d)) => write!(
                        f,
                        "{read_frames} {} ({read_s:.1} of {d:.1} s)",
                        frames(*read_frames)
                    )?,
                    (None, None) => write!(
                        f,
                        "the data stops inside a frame after {read_frames} {} ({read_s:.1} s)",
                        frames(*read_frames)
                    )?,
                }
                write!(f, "; the file is truncated or damaged")
            }
            ShortInput::MissingFrames {
                path,
                number,
                file,
                missing,
            } => {
                write!(
                    f,
                    "{}: frame {number} ({}) is missing",
                    path.display(),
                    file.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| file.display().to_string())
                )?;
                if *missing > 1 {
                    write!(f, " ({missing} frames missing in all)")?;
                }
                write!(f, "; the sequence has a gap")
            }
        }
    }
}

/// What to do with a packet the decoder rejects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DecodeErrorPolicy {
    /// Stop with [`crate::MediaError::Decode`] naming the frame index (and with
    /// [`crate::MediaError::ShortInput`] when the input ends early).
    #[default]
    Abort,
    /// Drop the packet, count it in [`crate::FrameSource::skipped_frames`], go on; an input
    /// that ends early or a sequence with a gap is accepted as it is
    /// ([`crate::FrameSource::short_input`]).
    Skip,
}

/// How to read a source.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeOptions {
    /// Skip frames whose presentation time is before this many seconds (from the stream start).
    pub start_s: Option<f64>,
    /// Stop after this many seconds past `start_s`.
    pub duration_s: Option<f64>,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
    pub on_decode_error: DecodeErrorPolicy,
    /// Frame rate of image sequences and single images (default 25/1); also the rate used to
    /// stamp frames of raw streams that carry no rate and no timestamps.
    pub sequence_frame_rate: (i32, i32),
    /// Images (decoded whole when read) of more pixels than this are refused from their header,
    /// before decoding; the image decoder's own memory limit is raised to fit this size.
    pub max_pixels: u64,
}

/// How [`crate::FrameSource::seek_to_frame`] reached its frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeekReport {
    /// It jumped (a video: a keyframe seek; a sequence: straight to the file) instead of
    /// decoding every frame before the target.
    pub seeked: bool,
    /// Pictures decoded (videos: out of the decoder, converted or not) before the target
    /// frame, failed seek attempts included; a straight decode decodes `index` of them.
    pub frames_decoded: u64,
    /// Why it decoded from the start instead of seeking, when it did.
    pub fallback: Option<String>,
}

/// 16384 × 16384: a frame of this size takes 3 GiB as RGB `f32`.
pub const DEFAULT_MAX_PIXELS: u64 = 16384 * 16384;

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            start_s: None,
            duration_s: None,
            max_frames: None,
            on_decode_error: DecodeErrorPolicy::Abort,
            sequence_frame_rate: (25, 1),
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Encoder settings; `None` fields take the defaults described on [`crate::open_sink`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodeOptions {
    /// FFmpeg encoder name ("libx264", "libx265", "libvpx-vp9", "ffv1", "prores_ks", "png", ...).
    pub codec: Option<String>,
    pub crf: Option<f32>,
    /// Target bit rate in bits/s (used instead of CRF when set).
    pub bitrate: Option<u64>,
    pub preset: Option<String>,
    /// Output pixel format ("yuv420p", "yuv444p", "yuv420p10le", "yuva420p", ...).
    pub pix_fmt: Option<String>,
    /// Extra encoder private options (`-x264-params`, `tune`, ...), passed as-is.
    pub options: Vec<(String, String)>,
}

/// Streams and metadata to copy from an input file into a video output.
#[derive(Clone, Debug, PartialEq)]
pub struct Passthrough {
    pub input: PathBuf,
    /// Copy every audio stream (packets, no re-encode).
    pub audio: bool,
    /// Copy every subtitle stream.
    pub subtitles: bool,
    /// Window start in input seconds: packets before it are dropped and everything (video too)
    /// is shifted so that this instant becomes output time 0.
    pub start_s: Option<f64>,
    /// Window length in seconds.
    pub duration_s: Option<f64>,
    /// Copy container and stream metadata (titles, language tags) and chapters.
    pub metadata: bool,
}

impl Passthrough {
    /// Copy everything from `input`.
    pub fn all(input: impl Into<PathBuf>) -> Self {
        Passthrough {
            input: input.into(),
            audio: true,
            subtitles: true,
            start_s: None,
            duration_s: None,
            metadata: true,
        }
    }
}

/// What the sink writes.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSpec {
    pub width: usize,
    pub height: usize,
    /// Channels of the frames written (1-4); alpha is kept when the codec can carry it.
    pub channels: usize,
    /// Depth to encode: `U8` → 8-bit formats, `High { bits }` → 10-bit video / 16-bit images.
    pub depth: SampleDepth,
    /// Time base of the `Frame::pts` values the sink receives.
    pub time_base: (i32, i32),
    /// Nominal frame rate (used for frames without pts, and as the stream's rate hint).
    pub frame_rate: (i32, i32),
    /// Colour tags to write; the YUV matrix/range used to encode follow them.
    pub colour: ColourTags,
    /// Display rotation to store in the output (degrees, counter-clockwise).
    pub rotation_deg: f64,
    /// HDR10 static metadata to write (container side data; SEI with libx265).
    pub hdr: Option<HdrMetadata>,
    pub encode: EncodeOptions,
    pub overwrite: bool,
    /// Source time in seconds that becomes output time 0 (usually `DecodeOptions::start_s`):
    /// video frames and copied packets are shifted by it. `None` falls back to
    /// `passthrough.start_s`, then 0 (timestamps kept as they are).
    pub start_s: Option<f64>,
    /// The input being processed, so the sink can refuse to overwrite it (canonical paths are
    /// compared). `passthrough.input` is checked as well.
    pub source_path: Option<PathBuf>,
    pub passthrough: Option<Passthrough>,
}

impl OutputSpec {
    /// A spec for frames like those of `info`, keeping its timing, colour and rotation.
    pub fn like_source(info: &VideoInfo) -> Self {
        OutputSpec {
            width: info.width,
            height: info.height,
            channels: info.channels,
            depth: info.depth,
            time_base: info.time_base,
            frame_rate: info.avg_frame_rate,
            colour: info.colour,
            rotation_deg: info.rotation_deg,
            hdr: info.hdr,
            encode: EncodeOptions::default(),
            overwrite: false,
            start_s: None,
            source_path: None,
            passthrough: None,
        }
    }
}

/// What a finished sink wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSummary {
    /// The final path (a file, or the directory / pattern of an image sequence).
    pub path: PathBuf,
    pub frames: u64,
    /// Bytes written (sum over files for sequences).
    pub bytes: u64,
    /// Encoder used ("libx264", "png", ...).
    pub codec: String,
    /// Pixel format written.
    pub pix_fmt: String,
    /// Streams copied from the passthrough input.
    pub copied_streams: usize,
    /// Packets copied from the passthrough input.
    pub copied_packets: u64,
    /// Whether alpha was dropped because the codec cannot carry it.
    pub alpha_dropped: bool,
}

pub(crate) fn rational_f64(r: (i32, i32)) -> f64 {
    if r.1 == 0 {
        0.0
    } else {
        r.0 as f64 / r.1 as f64
    }
}

fn fmt_rate(r: (i32, i32)) -> String {
    if r.1 == 1 {
        format!("{}", r.0)
    } else {
        format!("{}/{} ({:.3})", r.0, r.1, rational_f64(r))
    }
}

impl std::fmt::Display for VideoInfo {
    /// Multi-line human summary (used by `upframe probe`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "video stream #{}: {} {}x{} {} ({}-bit{})",
            self.stream_index,
            self.codec,
            self.width,
            self.height,
            self.pix_fmt,
            self.bit_depth,
            if self.has_alpha { ", alpha" } else { "" }
        )?;
        writeln!(
            f,
            "  frame rate: {} fps{}; r_frame_rate {}; time base {}/{}",
            fmt_rate(self.avg_frame_rate),
            if self.vfr {
                " average, variable (VFR)"
            } else {
                ""
            },
            fmt_rate(self.r_frame_rate),
            self.time_base.0,
            self.time_base.1
        )?;
        match self.frame_count {
            Some(n) => write!(f, "  frames: {n}")?,
            None => write!(f, "  frames: unknown")?,
        }
        match self.duration_s {
            Some(d) => writeln!(f, "; duration {d:.3} s")?,
            None => writeln!(f)?,
        }
        writeln!(
            f,
            "  colour: primaries {}, transfer {}, matrix {}, range {}{}",
            self.colour.primaries_name(),
            self.colour.transfer_name(),
            self.colour.matrix_name(),
            self.colour.range_name(),
            if self.colour.is_hdr() { " (HDR)" } else { "" }
        )?;
        write!(
            f,
            "  rotation: {} deg; frames decode as {} channel(s), {} samples",
            self.rotation_deg, self.channels, self.depth
        )
    }
}

impl std::fmt::Display for MediaInfo {
    /// Multi-line human summary (used by `upframe probe`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.format_name)?;
        if let Some(d) = self.duration_s {
            write!(f, ", {d:.3} s")?;
        }
        writeln!(
            f,
            ", {} stream(s), {} chapter(s)",
            self.streams.len(),
            self.chapters
        )?;
        for s in &self.streams {
            write!(f, "  #{} {} {}", s.index, s.kind, s.codec)?;
            if let Some(l) = &s.language {
                write!(f, " [{l}]")?;
            }
            if let (Some(sr), Some(ch)) = (s.sample_rate, s.channels) {
                write!(f, " {sr} Hz {ch} ch")?;
            }
            if let Some(b) = s.bit_rate {
                write!(f, " {} kb/s", b / 1000)?;
            }
            writeln!(f)?;
        }
        match &self.video {
            Some(v) => write!(f, "{v}"),
            None => write!(f, "no video stream"),
        }
    }
}
