//! The video encoder half of a video sink: codec/pixel-format choice, encoder setup (CRF,
//! bitrate, preset, colour tags), Frame → YUV conversion with the output's matrix and range,
//! and the encoder's timestamps ([`FrameClock`]). Kept separate from the muxer so a segmented sink can drive one encoder per segment.

use std::path::Path;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::{ffi, Dictionary, Packet};

use crate::colour::{is_full_range, sws_matrix, Converter};
use crate::error::{one_line, MediaError};
use crate::ff;
use crate::frame::{Frame, SampleDepth};
use crate::pixfmt::{packed_format, pix_info, pixel_name, pixel_named};
use crate::types::{ColourRange, ColourTags, EncodeOptions, OutputSpec};

/// The codec and pixel format a sink will use, decided before anything is opened.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CodecChoice {
    pub codec: String,
    pub pix_fmt: Pixel,
    pub alpha_dropped: bool,
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Picks codec and pixel format from the spec and the output extension (see
/// [`crate::open_sink`] for the rules).
/// The encoder for an output with extension `ext`: the one asked for, else the default for the
/// container, the depth and alpha.
fn codec_for(ext: &str, encode: &EncodeOptions, want_alpha: bool, high: bool) -> String {
    match &encode.codec {
        Some(c) => c.clone(),
        None => match ext {
            "webm" => "libvpx-vp9".into(),
            "mov" if want_alpha => "prores_ks".into(),
            "mkv" if want_alpha => "ffv1".into(),
            _ if high => "libx265".into(),
            _ => "libx264".into(),
        },
    }
}

/// What can be told about a video output before any frame exists: the container is known
/// from the extension, the encoder exists, the container accepts it, and a `--pix-fmt` names a
/// format the encoder takes. Checked for 8-bit frames without alpha (and, when it differs, for
/// the high-depth default); the size rules come when the sink opens, before the first frame.
pub(crate) fn check_video_output(path: &Path, encode: &EncodeOptions) -> Result<(), MediaError> {
    ff::init();
    let ext = extension(path);
    let mut codecs = vec![codec_for(&ext, encode, false, false)];
    let high = codec_for(&ext, encode, false, true);
    if !codecs.contains(&high) {
        codecs.push(high);
    }
    for (i, codec) in codecs.iter().enumerate() {
        let enc =
            ffmpeg_next::encoder::find_by_name(codec).ok_or_else(|| MediaError::EncoderNotFound {
                path: path.to_path_buf(),
                codec: codec.clone(),
            });
        // The high-depth default only matters for high-depth input: a missing one is reported
        // when such a job opens its sink.
        let enc = match enc {
            Ok(e) => e,
            Err(_) if i > 0 => continue,
            Err(e) => return Err(e),
        };
        match crate::mux::container_accepts_codec(path, enc.id()) {
            Ok(()) => {}
            Err(_) if i > 0 && encode.codec.is_none() => continue,
            Err(e) => return Err(e),
        }
        if let (Some(name), 0) = (&encode.pix_fmt, i) {
            let fmt = pixel_named(path, name)?;
            let supported: Vec<Pixel> = enc
                .video()
                .ok()
                .and_then(|v| v.formats().map(|f| f.collect()))
                .unwrap_or_default();
            if !supported.is_empty() && !supported.contains(&fmt) {
                return Err(MediaError::InvalidOutput {
                    path: path.to_path_buf(),
                    reason: format!(
                        "encoder {codec} does not support pixel format {name} (it supports {})",
                        supported
                            .iter()
                            .map(|p| pixel_name(*p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn choose_codec(path: &Path, spec: &OutputSpec) -> Result<CodecChoice, MediaError> {
    let ext = extension(path);
    let want_alpha = spec.channels == 2 || spec.channels == 4;
    let high = matches!(spec.depth, SampleDepth::High { .. });
    let codec = codec_for(&ext, &spec.encode, want_alpha, high);
    let enc =
        ffmpeg_next::encoder::find_by_name(&codec).ok_or_else(|| MediaError::EncoderNotFound {
            path: path.to_path_buf(),
            codec: codec.clone(),
        })?;
    let supported: Vec<Pixel> = enc
        .video()
        .ok()
        .and_then(|v| v.formats().map(|f| f.collect()))
        .unwrap_or_default();
    let default_fmt = match codec.as_str() {
        "libvpx-vp9" if want_alpha => "yuva420p",
        "ffv1" if want_alpha && high => "yuva444p10le",
        "ffv1" if want_alpha => "yuva420p",
        "prores_ks" | "prores" | "prores_aw" if want_alpha => "yuva444p10le",
        "prores_ks" | "prores" | "prores_aw" => "yuv422p10le",
        "png" if want_alpha && high => "rgba64be",
        "png" if want_alpha => "rgba",
        "png" if high => "rgb48be",
        "png" => "rgb24",
        _ if high => "yuv420p10le",
        _ => "yuv420p",
    };
    let pix_fmt = match &spec.encode.pix_fmt {
        Some(name) => pixel_named(path, name)?,
        None => {
            let p = pixel_named(path, default_fmt)?;
            if supported.is_empty() || supported.contains(&p) {
                p
            } else {
                supported[0]
            }
        }
    };
    if !supported.is_empty() && !supported.contains(&pix_fmt) {
        return Err(MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: format!(
                "encoder {codec} does not support pixel format {} (it supports {})",
                pixel_name(pix_fmt),
                supported
                    .iter()
                    .map(|p| pixel_name(*p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    let info = pix_info(pix_fmt);
    let alpha_dropped = want_alpha && !info.has_alpha;
    if alpha_dropped {
        tracing::warn!(
            "{}: {codec} with {} cannot carry alpha; the alpha channel is dropped (use .webm, .mov or .mkv to keep it)",
            path.display(),
            pixel_name(pix_fmt)
        );
    }
    // SAFETY: static descriptor lookup for a valid format.
    let (cw, ch) = unsafe {
        let d = ffi::av_pix_fmt_desc_get(pix_fmt.into());
        if d.is_null() {
            (0, 0)
        } else {
            ((*d).log2_chroma_w, (*d).log2_chroma_h)
        }
    };
    if (cw > 0 && spec.width % 2 == 1) || (ch > 0 && spec.height % 2 == 1) {
        return Err(MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: format!(
                "{}x{} has an odd dimension, which {} (chroma subsampled) cannot store; use an even size or --pix-fmt yuv444p",
                spec.width,
                spec.height,
                pixel_name(pix_fmt)
            ),
        });
    }
    if spec.width == 0 || spec.height == 0 {
        return Err(MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: "zero output size".into(),
        });
    }
    Ok(CodecChoice {
        codec,
        pix_fmt,
        alpha_dropped,
    })
}

/// Colour tags actually written: untagged matrix/range get explicit values (BT.709 for HD
/// output, BT.601 for SD; limited range), so players do not guess differently after resizing.
pub(crate) fn effective_tags(spec: &OutputSpec) -> ColourTags {
    let mut tags = spec.colour;
    if tags.matrix == 2 || tags.matrix == 0 {
        tags.matrix = if sws_matrix(2, spec.width, spec.height) == ffi::SWS_CS_ITU709 {
            1
        } else {
            6
        };
    }
    if tags.range == ColourRange::Unspecified {
        tags.range = ColourRange::Limited;
    }
    tags
}

/// An opened video encoder plus the converter feeding it.
/// The encoder time base for `spec`: its own, else one tick per frame.
pub(crate) fn encoder_time_base(spec: &OutputSpec) -> (i32, i32) {
    if spec.time_base.0 > 0 && spec.time_base.1 > 0 {
        spec.time_base
    } else {
        (spec.frame_rate.1, spec.frame_rate.0)
    }
}

pub(crate) struct VideoEncoder {
    path: std::path::PathBuf,
    encoder: ffmpeg_next::encoder::Video,
    pub choice: CodecChoice,
    converter: Option<Converter>,
    packed: ffmpeg_next::frame::Video,
    yuv: ffmpeg_next::frame::Video,
    pub time_base: (i32, i32),
    tags: ColourTags,
    rgb_output: bool,
    width: usize,
    height: usize,
}

impl VideoEncoder {
    /// Opens the encoder. `global_header` must be set for containers that want codec extradata
    /// in the header (mp4, mkv, mov).
    pub fn open(
        path: &Path,
        spec: &OutputSpec,
        choice: CodecChoice,
        global_header: bool,
    ) -> Result<Self, MediaError> {
        let codec = ffmpeg_next::encoder::find_by_name(&choice.codec).ok_or_else(|| {
            MediaError::EncoderNotFound {
                path: path.to_path_buf(),
                codec: choice.codec.clone(),
            }
        })?;
        let mut ctx = ffmpeg_next::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| MediaError::Encode {
                path: path.to_path_buf(),
                reason: one_line(&e.to_string()),
            })?;
        let tb = encoder_time_base(spec);
        ctx.set_width(spec.width as u32);
        ctx.set_height(spec.height as u32);
        ctx.set_format(choice.pix_fmt);
        ctx.set_time_base(ff::to_rat(tb));
        if spec.frame_rate.0 > 0 && spec.frame_rate.1 > 0 {
            ctx.set_frame_rate(Some(ff::to_rat(spec.frame_rate)));
        }
        let pinfo = pix_info(choice.pix_fmt);
        // SAFETY: descriptor lookup for a valid format.
        let rgb_output = unsafe {
            let d = ffi::av_pix_fmt_desc_get(choice.pix_fmt.into());
            !d.is_null() && (*d).flags & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0
        } || pinfo.gray;
        let tags = effective_tags(spec);
        // SAFETY: setting plain colour fields on the not-yet-opened context.
        unsafe {
            let c = ctx.as_mut_ptr();
            (*c).color_primaries = crate::colour::primaries_to_ff(tags.primaries);
            (*c).color_trc = crate::colour::transfer_to_ff(tags.transfer);
            if rgb_output {
                (*c).colorspace = ffi::AVColorSpace::AVCOL_SPC_RGB;
                (*c).color_range = ffi::AVColorRange::AVCOL_RANGE_JPEG;
            } else {
                (*c).colorspace = crate::colour::matrix_to_ff(tags.matrix);
                (*c).color_range = crate::colour::range_to_ff(tags.range);
            }
            (*c).thread_count = 0;
        }
        if global_header {
            ctx.set_flags(ffmpeg_next::codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = Dictionary::new();
        let name = choice.codec.as_str();
        let uses_crf = matches!(
            name,
            "libx264" | "libx265" | "libvpx-vp9" | "libvpx" | "libaom-av1" | "libsvtav1"
        );
        if let Some(bitrate) = spec.encode.bitrate {
            ctx.set_bit_rate(bitrate as usize);
        } else if uses_crf {
            let default_crf = if name.starts_with("libvpx") {
                24.0
            } else {
                18.0
            };
            let crf = spec.encode.crf.unwrap_or(default_crf);
            opts.set("crf", &format!("{crf}"));
            if name.starts_with("libvpx") {
                // libvpx needs b:v 0 for constant quality.
                ctx.set_bit_rate(0);
            }
        } else if spec.encode.crf.is_some() {
            tracing::warn!("{}: {name} has no CRF; --crf ignored", path.display());
        }
        match name {
            "libx264" | "libx265" => {
                opts.set("preset", spec.encode.preset.as_deref().unwrap_or("medium"))
            }
            "libvpx-vp9" | "libvpx" => {
                opts.set("deadline", "good");
                opts.set("cpu-used", spec.encode.preset.as_deref().unwrap_or("4"));
                opts.set("row-mt", "1");
            }
            _ => {
                if let Some(p) = &spec.encode.preset {
                    opts.set("preset", p);
                }
            }
        }
        if name == "libx265" {
            let mut params: Vec<String> = spec
                .hdr
                .as_ref()
                .map(crate::hdr::x265_params)
                .unwrap_or_default();
            match spec.encode.options.iter().find(|(k, _)| k == "x265-params") {
                Some((_, user)) => {
                    params.retain(|p| !user.contains(p.split('=').next().unwrap_or("")));
                    params.insert(0, user.clone());
                }
                None => params.insert(0, "log-level=error".into()),
            }
            opts.set("x265-params", &params.join(":"));
        }
        if name == "prores_ks" && pinfo.has_alpha {
            opts.set("profile", "4444");
        }
        for (k, v) in &spec.encode.options {
            if !(name == "libx265" && k == "x265-params") {
                opts.set(k, v);
            }
        }
        let encoder = ctx
            .open_as_with(codec, opts)
            .map_err(|e| MediaError::Encode {
                path: path.to_path_buf(),
                reason: format!(
                    "could not open encoder {name} ({})",
                    one_line(&e.to_string())
                ),
            })?;
        Ok(VideoEncoder {
            path: path.to_path_buf(),
            encoder,
            choice,
            converter: None,
            packed: ffmpeg_next::frame::Video::empty(),
            yuv: ffmpeg_next::frame::Video::empty(),
            time_base: tb,
            tags,
            rgb_output,
            width: spec.width,
            height: spec.height,
        })
    }

    /// Codec parameters for the muxer's stream.
    pub fn encoder(&self) -> &ffmpeg_next::encoder::Video {
        &self.encoder
    }

    /// Converts and sends one frame with `pts` (in the encoder time base); appends finished
    /// packets to `out`.
    pub fn encode(
        &mut self,
        frame: &Frame,
        pts: i64,
        out: &mut Vec<Packet>,
    ) -> Result<(), MediaError> {
        if frame.width != self.width || frame.height != self.height {
            return Err(MediaError::FrameMismatch {
                path: self.path.clone(),
                frame: frame.index,
                reason: format!(
                    "frame is {}x{}, output is {}x{}",
                    frame.width, frame.height, self.width, self.height
                ),
            });
        }
        if frame.channels == 0
            || frame.channels > 4
            || frame.data.len() != frame.width * frame.height * frame.channels
        {
            return Err(MediaError::FrameMismatch {
                path: self.path.clone(),
                frame: frame.index,
                reason: format!(
                    "{} channels with {} samples",
                    frame.channels,
                    frame.data.len()
                ),
            });
        }
        let high = pix_info(self.choice.pix_fmt).bit_depth > 8;
        let packed_fmt = packed_format(
            frame.channels,
            if high {
                SampleDepth::High { bits: 16 }
            } else {
                SampleDepth::U8
            },
        );
        if self.packed.format() != packed_fmt
            || self.packed.width() as usize != frame.width
            || self.packed.height() as usize != frame.height
        {
            self.packed =
                ffmpeg_next::frame::Video::new(packed_fmt, frame.width as u32, frame.height as u32);
        }
        fill_packed(&mut self.packed, frame, high);
        let dst_matrix = sws_matrix(self.tags.matrix, self.width, self.height);
        let dst_full = self.rgb_output || is_full_range(self.choice.pix_fmt, self.tags.range);
        let key = (ffi::SWS_CS_DEFAULT, true, dst_matrix, dst_full);
        if !self
            .converter
            .as_ref()
            .is_some_and(|c| c.matches(packed_fmt, frame.width as u32, frame.height as u32, key))
        {
            self.converter = Some(
                Converter::new(
                    packed_fmt,
                    self.choice.pix_fmt,
                    frame.width as u32,
                    frame.height as u32,
                    key.0,
                    key.1,
                    key.2,
                    key.3,
                )
                .map_err(|r| MediaError::Encode {
                    path: self.path.clone(),
                    reason: r,
                })?,
            );
        }
        // Frame-threaded encoders (prores_ks, ffv1) keep a reference to the frame they were
        // sent: never overwrite a buffer that is still shared.
        // SAFETY: queries the refcount of our own frame's buffers.
        if unsafe { ffmpeg_next::ffi::av_frame_is_writable(self.yuv.as_mut_ptr()) } == 0 {
            self.yuv = ffmpeg_next::frame::Video::empty();
        }
        if let Some(conv) = self.converter.as_mut() {
            conv.run(&self.packed, &mut self.yuv)
                .map_err(|r| MediaError::Encode {
                    path: self.path.clone(),
                    reason: r,
                })?;
        }
        self.yuv.set_pts(Some(pts));
        // SAFETY: plain field writes on our own frame.
        unsafe {
            let f = self.yuv.as_mut_ptr();
            (*f).color_primaries = crate::colour::primaries_to_ff(self.tags.primaries);
            (*f).color_trc = crate::colour::transfer_to_ff(self.tags.transfer);
            if !self.rgb_output {
                (*f).colorspace = crate::colour::matrix_to_ff(self.tags.matrix);
                (*f).color_range = crate::colour::range_to_ff(self.tags.range);
            }
        }
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| MediaError::Encode {
                path: self.path.clone(),
                reason: one_line(&e.to_string()),
            })?;
        self.drain(out)
    }

    fn drain(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        loop {
            let mut packet = Packet::empty();
            match self.encoder.receive_packet(&mut packet) {
                Ok(()) => out.push(packet),
                Err(ffmpeg_next::Error::Eof) => return Ok(()),
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffi::EAGAIN => return Ok(()),
                Err(e) => {
                    return Err(MediaError::Encode {
                        path: self.path.clone(),
                        reason: one_line(&e.to_string()),
                    })
                }
            }
        }
    }

    /// Flushes delayed packets at the end of the stream.
    pub fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), MediaError> {
        self.encoder.send_eof().map_err(|e| MediaError::Encode {
            path: self.path.clone(),
            reason: one_line(&e.to_string()),
        })?;
        self.drain(out)
    }
}

/// Writes `frame`'s samples as 8- or 16-bit (little-endian) packed pixels.
fn fill_packed(packed: &mut ffmpeg_next::frame::Video, frame: &Frame, high: bool) {
    let stride = packed.stride(0);
    let row_len = frame.width * frame.channels;
    let data = packed.data_mut(0);
    for y in 0..frame.height {
        let src = &frame.data[y * row_len..(y + 1) * row_len];
        if high {
            let dst = &mut data[y * stride..y * stride + row_len * 2];
            for (d, s) in dst.chunks_exact_mut(2).zip(src) {
                let v = (s.clamp(0.0, 1.0) * 65535.0).round() as u16;
                d.copy_from_slice(&v.to_le_bytes());
            }
        } else {
            let dst = &mut data[y * stride..y * stride + row_len];
            for (d, s) in dst.iter_mut().zip(src) {
                *d = (s.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
}

/// Timestamps for the encoder: the frame's pts shifted by the window start, or one made from
/// the frame count, nudged to stay strictly increasing.
pub(crate) struct FrameClock {
    pub time_base: (i32, i32),
    /// Window start in the encoder time base, subtracted from every frame pts.
    pub offset_ts: i64,
    pub last_pts: Option<i64>,
    /// Frames seen so far (output frame index of the next frame).
    pub frames: u64,
}

impl FrameClock {
    pub fn new(spec: &OutputSpec, time_base: (i32, i32), frames: u64) -> Self {
        FrameClock {
            time_base,
            offset_ts: ff::s_to_ts(window_offset_s(spec), time_base),
            last_pts: None,
            frames,
        }
    }

    /// The encoder pts of `frame` (in `time_base`); counts the frame.
    pub fn stamp(&mut self, spec: &OutputSpec, path: &Path, frame: &Frame) -> i64 {
        let tb = self.time_base;
        let pts = match frame.pts {
            Some(p) => p - self.offset_ts,
            None => {
                let r = spec.frame_rate;
                ff::rescale(self.frames as i64, (r.1.max(1), r.0.max(1)), tb)
            }
        };
        // Encoders need strictly increasing timestamps.
        let pts = match self.last_pts {
            Some(last) if pts <= last => {
                tracing::warn!(
                    "{}: frame {} has a non-increasing timestamp; nudged",
                    path.display(),
                    frame.index
                );
                last + 1
            }
            _ => pts,
        };
        self.last_pts = Some(pts);
        self.frames += 1;
        pts
    }
}

/// Seconds subtracted from every timestamp: the window start (`--start`).
pub(crate) fn window_offset_s(spec: &OutputSpec) -> f64 {
    spec.start_s
        .or(spec.passthrough.as_ref().and_then(|p| p.start_s))
        .unwrap_or(0.0)
        .max(0.0)
}
