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
//! Timestamps: a picture gets the smallest pts among packets sent and not yet given to a
//! picture. For well-formed streams that is the picture's own pts; for streams whose container
//! timestamps disagree with the codec's reorder (box.mp4 was muxed with pts = dts), it keeps the
//! decoder's (correct) picture order with increasing timestamps.
//!
//! A demuxer read error that is not end-of-file is reported as [`MediaError::Read`].

use std::path::Path;

use ffmpeg_next::format::context::Input;
use ffmpeg_next::format::Pixel;

use crate::colour::{is_full_range, sws_matrix, Converter};
use crate::error::{one_line, MediaError};
use crate::ff;
use crate::frame::{Frame, SampleDepth};
use crate::probe::{describe_video, stream_has_alpha_mode, video_stream_index};
use crate::types::{DecodeErrorPolicy, DecodeOptions, InputKind, VideoInfo};
use crate::FrameSource;

/// Extensions read and written with the `image` crate.
pub(crate) const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp"];

pub(crate) fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Decides how `path` is read.
pub(crate) fn classify(path: &Path) -> Result<InputKind, MediaError> {
    if crate::sequence::is_pattern(path) {
        return Ok(InputKind::ImageSequence);
    }
    let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
    if meta.is_dir() {
        return Ok(InputKind::ImageSequence);
    }
    if has_image_extension(path) {
        return Ok(InputKind::Image);
    }
    Ok(InputKind::Video)
}

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

/// Target swscale format for a frame layout.
pub(crate) fn packed_format(channels: usize, depth: SampleDepth) -> Pixel {
    let high = matches!(depth, SampleDepth::High { .. });
    match (channels, high) {
        (1, false) => Pixel::GRAY8,
        (2, false) => Pixel::YA8,
        (3, false) => Pixel::RGB24,
        (4, false) => Pixel::RGBA,
        (1, true) => Pixel::GRAY16LE,
        (2, true) => Pixel::YA16LE,
        (3, true) => Pixel::RGB48LE,
        _ => Pixel::RGBA64LE,
    }
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
    abort: bool,
    skipped: u64,
    input_done: bool,
    finished: bool,
    last_pts: Option<i64>,
    /// A frame decoded at open time (to read HDR metadata) and not handed out yet.
    peeked: Option<Frame>,
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
            abort: opts.on_decode_error == DecodeErrorPolicy::Abort,
            skipped: 0,
            input_done: false,
            finished: false,
            last_pts: None,
            peeked: None,
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

    fn decode_error(&mut self, e: ffmpeg_next::Error) -> Result<(), MediaError> {
        match self.opts.on_decode_error {
            DecodeErrorPolicy::Abort => Err(MediaError::Decode {
                path: self.path.clone(),
                frame: self.produced + self.skipped,
                reason: one_line(&e.to_string()),
            }),
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
                    if packet.stream() != self.info.stream_index {
                        continue;
                    }
                    self.packets_sent += 1;
                    match packet.pts() {
                        Some(p) => {
                            self.pending_pts.insert(p);
                        }
                        None => self.packets_have_pts = false,
                    }
                    let sent = self.decoder.send_packet(&packet);
                    self.check_log()?;
                    return match sent {
                        Ok(()) => Ok(()),
                        Err(ffmpeg_next::Error::Other { errno })
                            if errno == ffmpeg_next::ffi::EAGAIN =>
                        {
                            Ok(())
                        }
                        Err(e) => self.decode_error(e),
                    };
                }
                Err(ffmpeg_next::Error::Eof) => {
                    self.input_done = true;
                    let _ = self.decoder.send_eof();
                    return Ok(());
                }
                Err(e) => {
                    return Err(MediaError::Read {
                        path: self.path.clone(),
                        frame: self.produced,
                        reason: one_line(&e.to_string()),
                    })
                }
            }
        }
    }

    /// Errors the decoder logged while decoding the packet just sent (Abort mode only).
    fn check_log(&mut self) -> Result<(), MediaError> {
        if !self.abort {
            return Ok(());
        }
        // SAFETY: pointer used as a registry key only.
        let msgs = crate::fflog::take(unsafe { self.decoder.as_ptr() } as *const std::ffi::c_void);
        if msgs.is_empty() {
            return Ok(());
        }
        Err(MediaError::Decode {
            path: self.path.clone(),
            frame: self.packets_sent.saturating_sub(1),
            reason: one_line(&msgs.join("; ")),
        })
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

    /// At end of stream: packets that never produced a picture count as lost frames.
    fn finish_counts(&mut self) -> Result<(), MediaError> {
        self.finished = true;
        let lost = if self.packets_have_pts {
            self.pending_pts.len() as u64
        } else {
            self.packets_sent
                .saturating_sub(self.packets_rejected + self.decoded_count)
        };
        self.pending_pts.clear();
        self.lost(lost)
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
                Err(e) => {
                    self.check_log()?;
                    self.decode_error(e)?
                }
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
