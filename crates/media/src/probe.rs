//! `probe`: what an input holds (streams, video geometry, timing, colour tags, rotation), without
//! decoding pictures.

use std::path::Path;

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::media::Type;

use crate::colour::tags_from_ff;
use crate::error::MediaError;
use crate::ff::{self, rat};
use crate::frame::SampleDepth;
use crate::pixfmt::{pix_info, PixInfo};
use crate::sequence::ImageSequenceSource;
use crate::types::{InputKind, MediaInfo, StreamInfo, StreamKind, VideoInfo};
use crate::FrameSource;

/// Describes `path`: a media file, an image, a directory of frames or a printf pattern.
pub fn probe(path: &Path) -> Result<MediaInfo, MediaError> {
    match crate::naming::classify(path)? {
        InputKind::Video => probe_media_file(path),
        kind @ (InputKind::Image | InputKind::ImageSequence) => {
            // The source `open_source` opens for these kinds.
            let opts = Default::default();
            let source = if kind == InputKind::Image {
                ImageSequenceSource::single(path, &opts)?
            } else {
                ImageSequenceSource::open(path, &opts)?
            };
            let video = source.info().clone();
            Ok(MediaInfo {
                path: path.to_path_buf(),
                format_name: if kind == InputKind::Image {
                    video.codec.clone()
                } else {
                    "image sequence".into()
                },
                duration_s: video.duration_s,
                streams: vec![StreamInfo {
                    index: 0,
                    kind: StreamKind::Video,
                    codec: video.codec.clone(),
                    language: None,
                    time_base: video.time_base,
                    duration_s: video.duration_s,
                    sample_rate: None,
                    channels: None,
                    bit_rate: None,
                }],
                video: Some(video),
                chapters: 0,
                metadata: Vec::new(),
                kind,
            })
        }
    }
}

fn probe_media_file(path: &Path) -> Result<MediaInfo, MediaError> {
    let input = ff::open_input(path)?;
    let streams = input.streams().map(|s| stream_info(&s)).collect();
    let video = match video_stream_index(&input) {
        Some(idx) => Some(describe_video(path, &input, idx, true)?),
        None => None,
    };
    let duration = input.duration();
    Ok(MediaInfo {
        path: path.to_path_buf(),
        format_name: input.format().name().to_string(),
        duration_s: (duration > 0).then(|| duration as f64 / ffi::AV_TIME_BASE as f64),
        streams,
        video,
        chapters: input.nb_chapters() as usize,
        metadata: input
            .metadata()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        kind: InputKind::Video,
    })
}

fn stream_info(s: &ffmpeg_next::format::stream::Stream) -> StreamInfo {
    let params = s.parameters();
    let kind = match params.medium() {
        Type::Video => StreamKind::Video,
        Type::Audio => StreamKind::Audio,
        Type::Subtitle => StreamKind::Subtitle,
        Type::Data => StreamKind::Data,
        Type::Attachment => StreamKind::Attachment,
        _ => StreamKind::Unknown,
    };
    // SAFETY: reading plain fields of the stream's codec parameters.
    let (sample_rate, channels, bit_rate) = unsafe {
        let p = &*params.as_ptr();
        (p.sample_rate, p.ch_layout.nb_channels, p.bit_rate)
    };
    let tb = rat(s.time_base());
    StreamInfo {
        index: s.index(),
        kind,
        codec: ff::codec_name(params.id()),
        language: s.metadata().get("language").map(str::to_string),
        time_base: tb,
        duration_s: (s.duration() > 0).then(|| ff::ts_to_s(s.duration(), tb)),
        sample_rate: (kind == StreamKind::Audio && sample_rate > 0).then_some(sample_rate as u32),
        channels: (kind == StreamKind::Audio && channels > 0).then_some(channels as u16),
        bit_rate: (bit_rate > 0).then_some(bit_rate as u64),
    }
}

/// The first video stream that is not an attached picture (cover art).
pub(crate) fn video_stream_index(input: &Input) -> Option<usize> {
    input
        .streams()
        .find(|s| {
            s.parameters().medium() == Type::Video
                && !s
                    .disposition()
                    .contains(ffmpeg_next::format::stream::Disposition::ATTACHED_PIC)
        })
        .map(|s| s.index())
}

/// Whether a stream is VP8/VP9 with an alpha channel stored as Matroska block additions.
pub(crate) fn stream_has_alpha_mode(s: &ffmpeg_next::format::stream::Stream) -> bool {
    s.metadata().get("alpha_mode").map(str::trim) == Some("1")
}

/// Frame channels/depth a source yields for a coded picture format.
pub(crate) fn frame_layout(pix: &PixInfo, alpha: bool) -> (usize, SampleDepth) {
    let channels = match (pix.gray, alpha) {
        (true, false) => 1,
        (true, true) => 2,
        (false, false) => 3,
        (false, true) => 4,
    };
    let depth = if pix.bit_depth > 8 {
        SampleDepth::High {
            bits: pix.bit_depth.min(16),
        }
    } else {
        SampleDepth::U8
    };
    (channels, depth)
}

/// Builds the `VideoInfo` of stream `idx`. With `count_packets`, streams whose header has no
/// frame count get one by counting their packets (reads the file, decodes nothing).
pub(crate) fn describe_video(
    path: &Path,
    input: &Input,
    idx: usize,
    count_packets: bool,
) -> Result<VideoInfo, MediaError> {
    let stream = input.stream(idx).ok_or_else(|| MediaError::NoVideoStream {
        path: path.to_path_buf(),
    })?;
    let params = stream.parameters();
    // SAFETY: reading plain fields of the stream's codec parameters.
    let (width, height, format, prim, trc, space, range) = unsafe {
        let p = &*params.as_ptr();
        (
            p.width,
            p.height,
            p.format,
            p.color_primaries,
            p.color_trc,
            p.color_space,
            p.color_range,
        )
    };
    let pix = if format >= 0 {
        // SAFETY: a valid AVPixelFormat value written by FFmpeg.
        Pixel::from(unsafe { std::mem::transmute::<i32, ffi::AVPixelFormat>(format) })
    } else {
        Pixel::None
    };
    let mut pinfo = pix_info(pix);
    let alpha_mode = stream_has_alpha_mode(&stream);
    let has_alpha = pinfo.has_alpha || alpha_mode;
    if alpha_mode {
        pinfo.gray = false;
    }
    let (channels, depth) = frame_layout(&pinfo, has_alpha);
    let tb = rat(stream.time_base());
    let r_rate = rat(stream.rate());
    let mut avg = rat(stream.avg_frame_rate());
    if avg.0 <= 0 || avg.1 <= 0 {
        avg = if r_rate.0 > 0 && r_rate.1 > 0 {
            r_rate
        } else {
            (25, 1)
        };
    }
    let avi = (input.format().name() == "avi")
        .then(|| avi_index(&stream))
        .flatten();
    if let Some(index) = avi.filter(|i| i.irregular) {
        // The header's rate is the grid the frames sit on; the average is what they fill.
        if let Some(rate) = average_rate(index.frames, stream.duration(), tb) {
            avg = rate;
        }
    }
    let vfr = {
        let a = crate::types::rational_f64(avg);
        let r = crate::types::rational_f64(r_rate);
        a > 0.0 && r > 0.0 && ((a - r).abs() / a) > 0.01
    } || avi.is_some_and(|i| i.irregular);
    let frame_count = if let Some(index) = avi {
        Some(index.frames)
    } else if stream.frames() > 0 {
        Some(stream.frames() as u64)
    } else if count_packets {
        count_video_packets(path, idx)
    } else {
        None
    };
    let duration_s = if stream.duration() > 0 {
        Some(ff::ts_to_s(stream.duration(), tb))
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / ffi::AV_TIME_BASE as f64)
    } else {
        frame_count.map(|n| n as f64 / crate::types::rational_f64(avg).max(1e-9))
    };
    let pix_fmt = if pix == Pixel::None {
        "unknown".to_string()
    } else if alpha_mode && !pinfo.has_alpha {
        // VP8/VP9 alpha: the coded picture is yuv420p plus an alpha plane in block additions.
        format!(
            "{}+alpha",
            pix.descriptor().map(|d| d.name()).unwrap_or("unknown")
        )
    } else {
        pix.descriptor()
            .map(|d| d.name())
            .unwrap_or("unknown")
            .to_string()
    };
    Ok(VideoInfo {
        stream_index: idx,
        codec: ff::codec_name(params.id()),
        width: width.max(0) as usize,
        height: height.max(0) as usize,
        pix_fmt,
        bit_depth: pinfo.bit_depth,
        has_alpha,
        time_base: tb,
        avg_frame_rate: avg,
        r_frame_rate: r_rate,
        frame_count,
        vfr,
        colour: tags_from_ff(prim, trc, space, range),
        rotation_deg: ff::stream_rotation(&stream),
        hdr: crate::hdr::from_stream(&stream),
        duration_s,
        channels,
        depth,
    })
}

/// `frames` over `duration` ticks of `tb`, reduced, when it fits a 32-bit rational.
fn average_rate(frames: u64, duration: i64, tb: (i32, i32)) -> Option<(i32, i32)> {
    let num = i64::try_from(frames).ok()?.checked_mul(i64::from(tb.1))?;
    let den = duration.checked_mul(i64::from(tb.0))?;
    if num <= 0 || den <= 0 {
        return None;
    }
    let (mut a, mut b) = (num, den);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    Some((i32::try_from(num / a).ok()?, i32::try_from(den / a).ok()?))
}

/// What an AVI's index says about a stream's frames.
#[derive(Clone, Copy)]
struct AviIndex {
    /// Frames stored (index entries with data).
    frames: u64,
    /// Whether the frames are unevenly spaced in time.
    irregular: bool,
}

/// An AVI header's frame count (`dwLength`) includes the empty chunks that variable-rate
/// writers (`-fps_mode vfr`) store for dropped frames; the demuxer's index, read at open,
/// holds only the frames with data, each at its true time. `None` without an index.
fn avi_index(stream: &ffmpeg_next::format::stream::Stream) -> Option<AviIndex> {
    // SAFETY: the stream of an open input; the index functions only read its index (entries
    // stay valid while the input is open and no packet is read).
    unsafe {
        let st = stream.as_ptr().cast_mut();
        let n = ffi::avformat_index_get_entries_count(st);
        if n <= 0 {
            return None;
        }
        let mut previous: Option<i64> = None;
        let mut step: Option<i64> = None;
        let mut irregular = false;
        for i in 0..n {
            let entry = ffi::avformat_index_get_entry(st, i);
            if entry.is_null() {
                return None;
            }
            let t = (*entry).timestamp;
            if let Some(p) = previous {
                match step {
                    None => step = Some(t - p),
                    Some(s) if s != t - p => irregular = true,
                    Some(_) => {}
                }
            }
            previous = Some(t);
        }
        Some(AviIndex {
            frames: n as u64,
            irregular,
        })
    }
}

/// Counts the packets of stream `idx` (one per frame for every common video codec).
fn count_video_packets(path: &Path, idx: usize) -> Option<u64> {
    let mut input = ff::open_input(path).ok()?;
    let mut n = 0u64;
    let mut packet = ffmpeg_next::Packet::empty();
    loop {
        match packet.read(&mut input) {
            Ok(()) => {
                if packet.stream() == idx {
                    n += 1;
                }
            }
            Err(ffmpeg_next::Error::Eof) => break,
            Err(_) => break,
        }
    }
    Some(n)
}
