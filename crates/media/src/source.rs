//! Frame sources: input classification (video / image / sequence) and the FFmpeg video decoder
//! source (demux → decode → swscale to RGB(A)/gray → f32 frames), with start/duration windows
//! and the decode-error policy.
//!
//! What counts as a decode error (documented behaviour, tested on box.mp4):
//! - `Abort`: FFmpeg's decoder returning an error for a packet, or *logging* an error while
//!   decoding it (the decoder runs single-threaded with `err_detect explode`, and its
//!   error-level log lines are captured per context). box.mp4's first packet logs "A non-intra
//!   slice in an IDR NAL unit" / "decode_slice_header error": that is reported as frame 0 (the
//!   index in decode order of the packet). Packets that never produced a picture by the end of
//!   the stream are an error too.
//! - `Skip`: the decoder (frame-threaded) conceals what it can; packets it rejects with an
//!   error, and packets that never yield a picture (counted at end of stream), are skipped
//!   frames ([`FrameSource::skipped_frames`]): box.mp4 gives 455 frames and 1 skipped.
//!
//! Concealment warnings below error level never count.
//!
//! Short inputs (the file is truncated or damaged at its end): when the stream ends, what was
//! read is compared with what the container declares for the window being read:
//! - frames: the header's count (MP4, AVI; only without `--start/--duration`, and only when
//!   what was read does not exceed it), short when more than one frame is missing;
//! - time: the video stream's declared end (start + duration), short when the last frame
//!   ends more than 1.5 frame intervals before it (VFR and millisecond timestamps jitter by
//!   a fraction of an interval). When only the container declares a duration (WebM), the end
//!   of the data of *every* stream is compared with it, so audio that outlasts the video is
//!   not mistaken for a cut; durations FFmpeg only estimates from the bit rate are ignored.
//!
//! Where both are declared both must be short (an MP4 edit list can hide frames the header
//! counts). A demuxer error, or (under `Abort`) a decoder error on the last video packet
//! of the file, means the data stops inside a frame: then any missing frame counts, and a
//! stream that declares nothing (a raw `.h265`) is short too. Short is
//! [`MediaError::ShortInput`] under `Abort`; under `Skip` the frames that exist are the
//! stream and [`FrameSource::short_input`] says what is missing. A window that ends before
//! the data does (`--duration`, `--frames`) is never short. A demuxer error with nothing
//! missing (trailing garbage) ends the stream quietly.
//!
//! Timestamps: a picture gets the smallest pts among packets sent and not yet given to a
//! picture. For well-formed streams that is the picture's own pts; for streams whose container
//! timestamps disagree with the codec's reorder (box.mp4 was muxed with pts = dts), it keeps the
//! decoder's (correct) picture order with increasing timestamps.

use std::path::Path;

use ffmpeg_next::format::context::Input;

use crate::colour::{is_full_range, sws_matrix, Converter};
use crate::error::{one_line, MediaError};
use crate::ff;
use crate::frame::{Frame, SampleDepth};
use crate::naming::classify;
use crate::pixfmt::packed_format;
use crate::probe::{describe_video, stream_has_alpha_mode, video_stream_index};
use crate::types::{
    DecodeErrorPolicy, DecodeOptions, InputKind, SeekReport, ShortInput, VideoInfo,
};
use crate::FrameSource;

mod seek;
pub use seek::FrameTimes;
use seek::PacketTimes;

pub(crate) fn open_source(
    path: &Path,
    opts: &DecodeOptions,
) -> Result<Box<dyn FrameSource>, MediaError> {
    match classify(path)? {
        InputKind::Video => Ok(Box::new(VideoFileSource::open(path, opts)?)),
        InputKind::Image => Ok(Box::new(crate::sequence::ImageSequenceSource::single(
            path, opts,
        )?)),
        InputKind::ImageSequence => Ok(Box::new(crate::sequence::ImageSequenceSource::open(
            path, opts,
        )?)),
    }
}

/// Picks the decoder: libvpx for VP8/VP9 streams tagged `alpha_mode=1` (FFmpeg's native VP8/VP9
/// decoders drop the alpha plane), FFmpeg's default decoder otherwise.
fn pick_decoder(
    path: &Path,
    stream: &ffmpeg_next::format::stream::Stream,
) -> Result<ffmpeg_next::Codec, MediaError> {
    let id = stream.parameters().id();
    if stream_has_alpha_mode(stream) {
        let name = match id {
            ffmpeg_next::codec::Id::VP8 => Some("libvpx"),
            ffmpeg_next::codec::Id::VP9 => Some("libvpx-vp9"),
            _ => None,
        };
        if let Some(name) = name {
            match ffmpeg_next::decoder::find_by_name(name) {
                Some(c) => return Ok(c),
                None => tracing::warn!(
                    "{}: {name} decoder not available; alpha channel will be lost",
                    path.display()
                ),
            }
        }
    }
    ffmpeg_next::decoder::find(id).ok_or_else(|| MediaError::DecoderNotFound {
        path: path.to_path_buf(),
        codec: ff::codec_name(id),
    })
}

/// `i / 255` for every byte value (same values as dividing, without a division per sample).
static U8_TO_F32: [f32; 256] = {
    let mut t = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as f32 / 255.0;
        i += 1;
    }
    t
};

/// Reads a packed 8/16-bit FFmpeg frame into `f32` samples in `[0, 1]`.
pub(crate) fn packed_to_f32(
    packed: &ffmpeg_next::frame::Video,
    channels: usize,
    high: bool,
    out: &mut Vec<f32>,
) {
    let w = packed.width() as usize;
    let h = packed.height() as usize;
    let stride = packed.stride(0);
    let data = packed.data(0);
    out.clear();
    out.reserve(w * h * channels);
    let row_len = w * channels;
    if high {
        for y in 0..h {
            let row = &data[y * stride..y * stride + row_len * 2];
            out.extend(
                row.chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]) as f32 / 65535.0),
            );
        }
    } else {
        for y in 0..h {
            let row = &data[y * stride..y * stride + row_len];
            out.extend(row.iter().map(|&b| U8_TO_F32[b as usize]));
        }
    }
}

/// Decodes the first video stream of a media file.
pub struct VideoFileSource {
    path: std::path::PathBuf,
    input: Input,
    decoder: ffmpeg_next::decoder::Video,
    info: VideoInfo,
    opts: DecodeOptions,
    converter: Option<Converter>,
    decoded: ffmpeg_next::frame::Video,
    packed: ffmpeg_next::frame::Video,
    start_ts: Option<i64>,
    end_ts: Option<i64>,
    /// Frames handed out.
    produced: u64,
    /// Frames the decoder returned (before windowing), used to stamp frames without timestamps.
    decoded_count: u64,
    /// Packets of the video stream sent to the decoder.
    packets_sent: u64,
    /// Packets the decoder rejected with an error (already counted in `skipped`).
    packets_rejected: u64,
    /// Pts of packets sent whose picture has not come out yet.
    pending_pts: std::collections::BTreeSet<i64>,
    /// Whether every packet so far had a pts (pts-based loss detection is usable).
    packets_have_pts: bool,
    /// Whether the input was seeked (then packets before the first picture are not lost).
    seeked: bool,
    /// Decode (else presentation) timestamp of the first video packet read since opening or
    /// the last seek ([`seek`]).
    first_packet_ts: Option<i64>,
    /// The demuxer was seeked (to `--start`, or by a resume seek, see [`seek`]): decoder
    /// errors on the pictures up to the first keyframe found are seek artefacts.
    after_seek: bool,
    /// After a seek: the pts of the first keyframe packet read since.
    seek_key: Option<i64>,
    abort: bool,
    skipped: u64,
    input_done: bool,
    finished: bool,
    last_pts: Option<i64>,
    /// A frame decoded at open time (to read HDR metadata) and not handed out yet.
    peeked: Option<Frame>,
    /// What the container promises (see the module docs on short inputs).
    declared: Declared,
    /// Time base of every stream of the input (for the end of the data of all streams).
    stream_tbs: Vec<(i32, i32)>,
    /// The latest end (pts + duration, in seconds) of any packet of any stream read so far.
    data_end_s: Option<f64>,
    /// Pts of the first frame handed out.
    first_pts: Option<i64>,
    /// The data stops inside a frame: a demuxer error, or a decoder error on the last video
    /// packet (Abort). The decoder error's frame and reason, when it was one.
    damaged_tail: Option<Option<(u64, String)>>,
    /// Set under `Skip` when the stream ended early.
    short: Option<ShortInput>,
}

/// What a container declares about its video stream's extent.
#[derive(Clone, Copy, Debug, Default)]
struct Declared {
    /// The header's frame count (not one counted from packets).
    frames: Option<u64>,
    /// Where the video should end, in seconds of input time.
    end_s: Option<f64>,
    /// `end_s` is the container's, not the video stream's own.
    container_level: bool,
    /// Where the stream starts (seconds), when known.
    start_s: Option<f64>,
}

impl Declared {
    fn of(input: &Input, stream: &ffmpeg_next::format::stream::Stream) -> Self {
        let tb = crate::ff::rat(stream.time_base());
        let known = |t: i64| t != ffmpeg_next::ffi::AV_NOPTS_VALUE;
        let start_s = known(stream.start_time()).then(|| ff::ts_to_s(stream.start_time(), tb));
        let frames = (stream.frames() > 0).then_some(stream.frames() as u64);
        if stream.duration() > 0 && known(stream.duration()) {
            return Declared {
                frames,
                end_s: Some(start_s.unwrap_or(0.0) + ff::ts_to_s(stream.duration(), tb)),
                container_level: false,
                start_s,
            };
        }
        // SAFETY: plain field reads of the opened format context.
        let (fmt_start, estimated) = unsafe {
            let ctx = &*input.as_ptr();
            (
                ctx.start_time,
                ctx.duration_estimation_method
                    == ffmpeg_next::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE,
            )
        };
        let micro = ffmpeg_next::ffi::AV_TIME_BASE as f64;
        let end_s = (input.duration() > 0 && known(input.duration()) && !estimated).then(|| {
            let start = if known(fmt_start) {
                fmt_start as f64 / micro
            } else {
                0.0
            };
            start + input.duration() as f64 / micro
        });
        Declared {
            frames,
            end_s,
            container_level: true,
            start_s,
        }
    }
}

impl VideoFileSource {
    pub fn open(path: &Path, opts: &DecodeOptions) -> Result<Self, MediaError> {
        let mut input = ff::open_input(path)?;
        let idx = video_stream_index(&input).ok_or_else(|| MediaError::NoVideoStream {
            path: path.to_path_buf(),
        })?;
        let info = describe_video(path, &input, idx, true)?;
        let stream = input.stream(idx).ok_or_else(|| MediaError::NoVideoStream {
            path: path.to_path_buf(),
        })?;
        let declared = Declared::of(&input, &stream);
        let stream_tbs = input
            .streams()
            .map(|s| crate::ff::rat(s.time_base()))
            .collect();
        let codec = pick_decoder(path, &stream)?;
        let mut ctx = ffmpeg_next::codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| MediaError::other(path, format!("decoder setup failed ({e})")))?;
        let abort = opts.on_decode_error == DecodeErrorPolicy::Abort;
        ctx.set_threading(ffmpeg_next::threading::Config {
            kind: ffmpeg_next::threading::Type::Frame,
            // Abort mode watches the decoder's own log context, which frame threads replace
            // with per-thread copies; slice threads keep it.
            count: if abort { 1 } else { 0 },
            ..Default::default()
        });
        if opts.on_decode_error == DecodeErrorPolicy::Abort {
            // Make the decoder report bitstream errors instead of concealing them silently.
            // SAFETY: plain field write on the unopened context.
            unsafe { (*ctx.as_mut_ptr()).err_recognition |= ffmpeg_next::ffi::AV_EF_EXPLODE };
        }
        let mut dec = ctx.decoder();
        dec.set_packet_time_base(stream.time_base());
        let decoder =
            dec.open_as(codec)
                .and_then(|o| o.video())
                .map_err(|e| MediaError::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("decoding {}", info.codec),
                    reason: one_line(&e.to_string()),
                })?;
        if abort {
            // SAFETY: the pointer is only used as a key for log lines of this context.
            crate::fflog::watch(unsafe { decoder.as_ptr() } as *const std::ffi::c_void);
        }
        let tb = info.time_base;
        let start_ts = opts
            .start_s
            .filter(|s| *s > 0.0)
            .map(|s| ff::s_to_ts(s, tb));
        let end_ts = opts
            .duration_s
            .map(|d| ff::s_to_ts(opts.start_s.unwrap_or(0.0).max(0.0) + d, tb));
        if let Some(s) = opts.start_s.filter(|s| *s > 0.0) {
            // Seek to the keyframe at or before the start; frames before it are dropped below.
            let target = (s * ffmpeg_next::ffi::AV_TIME_BASE as f64) as i64;
            if let Err(e) = input.seek(target, ..target) {
                tracing::debug!(
                    "{}: seek failed ({e}); decoding from the start",
                    path.display()
                );
            }
        }
        Ok(VideoFileSource {
            path: path.to_path_buf(),
            input,
            decoder,
            info,
            opts: opts.clone(),
            converter: None,
            decoded: ffmpeg_next::frame::Video::empty(),
            packed: ffmpeg_next::frame::Video::empty(),
            start_ts,
            end_ts,
            produced: 0,
            decoded_count: 0,
            packets_sent: 0,
            packets_rejected: 0,
            pending_pts: Default::default(),
            packets_have_pts: true,
            seeked: opts.start_s.is_some_and(|s| s > 0.0),
            first_packet_ts: None,
            after_seek: opts.start_s.is_some_and(|s| s > 0.0),
            seek_key: None,
            abort: opts.on_decode_error == DecodeErrorPolicy::Abort,
            skipped: 0,
            input_done: false,
            finished: false,
            last_pts: None,
            peeked: None,
            declared,
            stream_tbs,
            data_end_s: None,
            first_pts: None,
            damaged_tail: None,
            short: None,
        })
        .and_then(|mut s| {
            // HDR streams whose container has no static metadata carry it in frame SEI: decode
            // the first frame now so `info()` has it before a sink is opened.
            if s.info.colour.is_hdr() && s.info.hdr.is_none() {
                s.peeked = s.decode_next(true)?;
            }
            Ok(s)
        })
    }

    /// A decoder error for `frame`. Under Abort it stops the job, unless it is on the last
    /// video packet of the file: then the data stops inside a frame, the decoder is drained
    /// and the end-of-stream check decides (see the module docs).
    fn decode_failure(&mut self, frame: u64, reason: String) -> Result<(), MediaError> {
        if self.abort && self.rest_is_empty() {
            tracing::debug!(
                "{}: the last video packet (frame {frame}) does not decode ({reason})",
                self.path.display()
            );
            self.packets_rejected += 1;
            self.damaged_tail = Some(Some((frame, reason)));
            self.end_input();
            return Ok(());
        }
        Err(MediaError::Decode {
            path: self.path.clone(),
            frame,
            reason,
        })
    }

    /// Reads ahead: whether no video packet is left (end of file or a demuxer error).
    fn rest_is_empty(&mut self) -> bool {
        if self.input_done {
            return true;
        }
        let mut packet = ffmpeg_next::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) => {
                    self.note_data_end(&packet);
                    if packet.stream() == self.info.stream_index {
                        return false;
                    }
                }
                Err(_) => return true,
            }
        }
    }

    /// No more input: tells the decoder, so it gives out the frames it holds.
    fn end_input(&mut self) {
        self.input_done = true;
        let _ = self.decoder.send_eof();
    }

    /// Tracks the latest end of any stream's data read so far.
    fn note_data_end(&mut self, packet: &ffmpeg_next::Packet) {
        // Only a container-level declaration is compared with the end of all streams' data.
        if !self.declared.container_level {
            return;
        }
        let Some(&tb) = self.stream_tbs.get(packet.stream()) else {
            return;
        };
        if let Some(t) = packet.pts().or(packet.dts()) {
            let end = ff::ts_to_s(t + packet.duration().max(0), tb);
            if self.data_end_s.is_none_or(|e| end > e) {
                self.data_end_s = Some(end);
            }
        }
    }

    fn decode_error(&mut self, e: ffmpeg_next::Error) -> Result<(), MediaError> {
        match self.opts.on_decode_error {
            DecodeErrorPolicy::Abort => {
                self.decode_failure(self.produced + self.skipped, one_line(&e.to_string()))
            }
            DecodeErrorPolicy::Skip => {
                self.packets_rejected += 1;
                tracing::warn!(
                    "{}: dropping undecodable frame {} ({e})",
                    self.path.display(),
                    self.produced + self.skipped
                );
                self.skipped += 1;
                Ok(())
            }
        }
    }

    /// Sends the next packet of the video stream (or EOF) to the decoder.
    fn feed(&mut self) -> Result<(), MediaError> {
        let mut packet = ffmpeg_next::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) => {
                    self.note_data_end(&packet);
                    if packet.stream() != self.info.stream_index {
                        continue;
                    }
                    self.packets_sent += 1;
                    if self.first_packet_ts.is_none() {
                        self.first_packet_ts = packet.dts().or(packet.pts());
                    }
                    if self.after_seek && self.seek_key.is_none() && packet.is_key() {
                        self.seek_key = packet.pts();
                    }
                    match packet.pts() {
                        Some(p) => {
                            self.pending_pts.insert(p);
                        }
                        None => self.packets_have_pts = false,
                    }
                    let sent = self.decoder.send_packet(&packet);
                    let seek_artefact = self.is_seek_artefact(packet.pts());
                    if let Some(reason) = self.take_log() {
                        if !seek_artefact {
                            return self
                                .decode_failure(self.packets_sent.saturating_sub(1), reason);
                        }
                    }
                    return match sent {
                        Ok(()) => Ok(()),
                        Err(ffmpeg_next::Error::Other { errno })
                            if errno == ffmpeg_next::ffi::EAGAIN =>
                        {
                            Ok(())
                        }
                        Err(_) if seek_artefact => Ok(()),
                        Err(e) => self.decode_error(e),
                    };
                }
                Err(ffmpeg_next::Error::Eof) => {
                    self.end_input();
                    return Ok(());
                }
                Err(e) => {
                    // The demuxer cannot go on (MP4 "partial file"): the data ends here; the
                    // end-of-stream check says whether anything is missing.
                    tracing::debug!("{}: demuxer stopped ({e})", self.path.display());
                    self.damaged_tail = Some(None);
                    self.end_input();
                    return Ok(());
                }
            }
        }
    }

    /// Errors the decoder logged while decoding the packet just sent (Abort mode only).
    fn take_log(&mut self) -> Option<String> {
        if !self.abort {
            return None;
        }
        // SAFETY: pointer used as a registry key only.
        let msgs = crate::fflog::take(unsafe { self.decoder.as_ptr() } as *const std::ffi::c_void);
        (!msgs.is_empty()).then(|| one_line(&msgs.join("; ")))
    }

    /// The timestamp for the picture just decoded (see the module docs).
    fn assign_pts(&mut self, own: Option<i64>) -> Option<i64> {
        if !self.packets_have_pts {
            return None;
        }
        if self.seeked {
            // Leading pictures the decoder drops after a seek (open GOP) are not losses.
            self.seeked = false;
            if let Some(own) = own {
                let below: Vec<i64> = self.pending_pts.range(..own).copied().collect();
                for b in below {
                    self.pending_pts.remove(&b);
                }
            }
        }
        self.pending_pts.pop_first().or(own)
    }

    fn lost(&mut self, n: u64) -> Result<(), MediaError> {
        if n == 0 {
            return Ok(());
        }
        let frame = self.produced + self.skipped;
        match self.opts.on_decode_error {
            DecodeErrorPolicy::Abort => Err(MediaError::Decode {
                path: self.path.clone(),
                frame,
                reason: "the decoder produced no picture for it".into(),
            }),
            DecodeErrorPolicy::Skip => {
                tracing::warn!(
                    "{}: {n} frame(s) at {frame} produced no picture; skipped",
                    self.path.display()
                );
                self.skipped += n;
                Ok(())
            }
        }
    }

    /// At end of stream: whether the input ended early (see the module docs), then packets
    /// that never produced a picture count as lost frames.
    fn finish_counts(&mut self) -> Result<(), MediaError> {
        self.finished = true;
        let lost = if self.packets_have_pts {
            self.pending_pts.len() as u64
        } else {
            self.packets_sent
                .saturating_sub(self.packets_rejected + self.decoded_count)
        };
        self.pending_pts.clear();
        if let Some(short) = self.short_input_now(lost) {
            if self.abort {
                return Err(MediaError::ShortInput(short));
            }
            tracing::warn!("{short}");
            self.skipped += lost;
            self.short = Some(short);
            return Ok(());
        }
        if let Some(Some((frame, reason))) = self.damaged_tail.take() {
            // Nothing is missing, yet the last packet did not decode: a damaged frame.
            return Err(MediaError::Decode {
                path: self.path.clone(),
                frame,
                reason,
            });
        }
        self.lost(lost)
    }

    /// Compares what was read with what the window of the container should hold; `lost`
    /// frames had packets but no picture.
    fn short_input_now(&self, lost: u64) -> Option<ShortInput> {
        let fps = self.info.fps();
        let interval = if fps > 0.0 { 1.0 / fps } else { 0.04 };
        let tb = self.info.time_base;
        let damaged = self.damaged_tail.is_some();
        // Frames the data holds, decodable or not (the message says how many decoded).
        let present = self.produced + self.skipped + lost;
        let window_start = self.opts.start_s.filter(|s| *s > 0.0);
        let first_s = self.first_pts.map(|p| ff::ts_to_s(p, tb));
        let origin = window_start
            .or(self.declared.start_s)
            .or(first_s)
            .unwrap_or(0.0);
        let video_end = self
            .last_pts
            .map(|p| ff::ts_to_s(p, tb) + interval)
            .unwrap_or(origin);

        // Where the window should end: the declared end, or the window's own end before it.
        let mut expected_end = self.declared.end_s;
        if let (Some(end), Some(d)) = (expected_end, self.opts.duration_s) {
            expected_end = Some(end.min(window_start.unwrap_or(0.0) + d));
        }
        if let (Some(end), Some(m)) = (expected_end, self.opts.max_frames) {
            let from = first_s.or(window_start).unwrap_or(origin);
            expected_end = Some(end.min(from + m as f64 * interval));
        }
        let (frames_tolerance, time_tolerance) = if damaged { (0, 0.5) } else { (1, 1.5) };
        let time_short = expected_end.map(|end| {
            let reached = if self.declared.container_level {
                video_end.max(self.data_end_s.unwrap_or(video_end))
            } else {
                video_end
            };
            end - reached > time_tolerance * interval
        });
        // Frame counts only compare without a time window (frames before `--start` are not
        // all decoded), and a count that the data exceeds is no declaration (a fragmented
        // MP4's header counts only the frames of its first fragment).
        let expected_frames = self
            .declared
            .frames
            .filter(|&n| present <= n)
            .filter(|_| window_start.is_none() && self.opts.duration_s.is_none())
            .map(|n| self.opts.max_frames.map_or(n, |m| n.min(m)));
        let frames_short = expected_frames.map(|n| present + frames_tolerance < n);
        let short = match (frames_short, time_short) {
            (Some(f), Some(t)) => f && t,
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => damaged,
        };
        if !short {
            return None;
        }
        let declared_s = expected_end.map(|e| e - origin);
        Some(ShortInput::EndsEarly {
            path: self.path.clone(),
            declared_frames: expected_frames.or_else(|| {
                // A window's frame count, from its length at the average rate.
                declared_s
                    .filter(|_| window_start.is_some() || self.opts.duration_s.is_some())
                    .map(|d| (d * fps).round().max(0.0) as u64)
            }),
            read_frames: self.produced,
            declared_s,
            read_s: (video_end - origin).max(0.0),
            end_s: video_end,
        })
    }

    fn convert(&mut self, pts: i64) -> Result<Frame, MediaError> {
        let src = self.decoded.format();
        let w = self.decoded.width();
        let h = self.decoded.height();
        let (channels, depth) = (self.info.channels, self.info.depth);
        let dst = packed_format(channels, depth);
        let frame_tags = crate::colour::tags_from_ff(
            self.decoded.color_primaries().into(),
            self.decoded.color_transfer_characteristic().into(),
            self.decoded.color_space().into(),
            self.decoded.color_range().into(),
        );
        let matrix = if frame_tags.matrix != 2 {
            frame_tags.matrix
        } else {
            self.info.colour.matrix
        };
        let range = if frame_tags.range != crate::ColourRange::Unspecified {
            frame_tags.range
        } else {
            self.info.colour.range
        };
        let key = (
            sws_matrix(matrix, w as usize, h as usize),
            is_full_range(src, range),
            ffmpeg_next::ffi::SWS_CS_DEFAULT,
            true,
        );
        if !self
            .converter
            .as_ref()
            .is_some_and(|c| c.matches(src, w, h, key))
        {
            self.converter = Some(
                Converter::new(src, dst, w, h, key.0, key.1, key.2, key.3)
                    .map_err(|r| MediaError::other(&self.path, r))?,
            );
        }
        let conv = self
            .converter
            .as_mut()
            .ok_or_else(|| MediaError::other(&self.path, "no converter"))?;
        conv.run(&self.decoded, &mut self.packed)
            .map_err(|r| MediaError::other(&self.path, r))?;
        let mut data = Vec::new();
        packed_to_f32(
            &self.packed,
            channels,
            matches!(depth, SampleDepth::High { .. }),
            &mut data,
        );
        Ok(Frame {
            width: w as usize,
            height: h as usize,
            channels,
            depth,
            data,
            pts: Some(pts),
            index: self.produced,
        })
    }
}

impl FrameSource for VideoFileSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn skipped_frames(&self) -> u64 {
        self.skipped
    }

    fn short_input(&self) -> Option<&ShortInput> {
        self.short.as_ref()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        if let Some(f) = self.peeked.take() {
            return Ok(Some(f));
        }
        self.decode_next(true)
    }

    fn skip_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        if let Some(f) = self.peeked.take() {
            return Ok(Some(f.without_samples()));
        }
        self.decode_next(false)
    }

    fn seek_to_frame(
        &mut self,
        index: u64,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<SeekReport, MediaError> {
        self.seek_to_frame_exact(index, cancel)
    }

    fn frame_times(&self) -> Result<Option<FrameTimes>, MediaError> {
        Ok(Some(FrameTimes::packets(PacketTimes::open(
            &self.path,
            &self.opts,
            self.info.stream_index,
            self.info.time_base,
        )?)))
    }

    fn frames_decoded(&self) -> u64 {
        self.decoded_count
    }
}

impl VideoFileSource {
    /// Decodes and (with `convert`) converts the next in-window frame; without `convert` the
    /// frame has its timestamp and index but no samples.
    fn decode_next(&mut self, convert: bool) -> Result<Option<Frame>, MediaError> {
        if self.finished {
            return Ok(None);
        }
        if self.opts.max_frames.is_some_and(|m| self.produced >= m) {
            self.finished = true;
            return Ok(None);
        }
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => {
                    let n = self.decoded_count;
                    self.decoded_count += 1;
                    if self.info.hdr.is_none() && self.info.colour.is_hdr() {
                        self.info.hdr = crate::hdr::from_frame(&self.decoded);
                    }
                    let assigned = self.assign_pts(self.decoded.pts());
                    let pts = match assigned.or(self.decoded.timestamp()).or(self.decoded.pts()) {
                        Some(p) => p,
                        // Raw elementary streams carry no timestamps: stamp from the frame rate.
                        None => {
                            let rate = self.info.avg_frame_rate;
                            ff::rescale(n as i64, (rate.1, rate.0), self.info.time_base)
                        }
                    };
                    // Keep presentation order strictly increasing even for broken timestamps.
                    let pts = match self.last_pts {
                        Some(last) if pts <= last => last + 1,
                        _ => pts,
                    };
                    if self.start_ts.is_some_and(|s| pts < s) {
                        continue;
                    }
                    if self.end_ts.is_some_and(|e| pts >= e) {
                        self.finished = true;
                        return Ok(None);
                    }
                    self.last_pts = Some(pts);
                    if self.first_pts.is_none() {
                        self.first_pts = Some(pts);
                    }
                    let frame = if convert {
                        self.convert(pts)?
                    } else {
                        Frame {
                            width: self.decoded.width() as usize,
                            height: self.decoded.height() as usize,
                            channels: self.info.channels,
                            depth: self.info.depth,
                            data: Vec::new(),
                            pts: Some(pts),
                            index: self.produced,
                        }
                    };
                    self.produced += 1;
                    return Ok(Some(frame));
                }
                Err(ffmpeg_next::Error::Eof) => {
                    self.finish_counts()?;
                    return Ok(None);
                }
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::ffi::EAGAIN => {
                    if self.input_done {
                        // Decoder wants input after EOF was sent: nothing more will come.
                        self.finish_counts()?;
                        return Ok(None);
                    }
                    self.feed()?;
                }
                Err(e) => match self.take_log() {
                    Some(reason) => {
                        self.decode_failure(self.packets_sent.saturating_sub(1), reason)?
                    }
                    None => self.decode_error(e)?,
                },
            }
        }
    }
}

impl Drop for VideoFileSource {
    fn drop(&mut self) {
        if self.abort {
            // SAFETY: pointer used as a registry key only.
            crate::fflog::unwatch(unsafe { self.decoder.as_ptr() } as *const std::ffi::c_void);
        }
    }
}
