//! The muxer half of a video sink: output container (chosen from the FINAL name's extension,
//! written to the temporary file), the video stream (with rotation), and passthrough of audio/
//! subtitle packets, metadata and chapters from the input, interleaved by timestamp.

use std::path::{Path, PathBuf};

use ffmpeg_next::format::context::{Input, Output};
use ffmpeg_next::media::Type;
use ffmpeg_next::{ffi, Packet};

use crate::error::{one_line, MediaError};
use crate::ff::{self, rat};
use crate::output::PartialFile;
use crate::types::{OutputSpec, Passthrough};

/// The FFmpeg muxer for an output file name (from its extension): a static description.
fn guess_format(final_path: &Path) -> Result<*const ffi::AVOutputFormat, MediaError> {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let c = std::ffi::CString::new(name).map_err(|_| MediaError::InvalidOutput {
        path: final_path.to_path_buf(),
        reason: "file name contains a NUL byte".into(),
    })?;
    // SAFETY: av_guess_format reads the NUL-terminated name and returns a static muxer or null.
    let fmt = unsafe { ffi::av_guess_format(std::ptr::null(), c.as_ptr(), std::ptr::null()) };
    if fmt.is_null() {
        return Err(MediaError::InvalidOutput {
            path: final_path.to_path_buf(),
            reason:
                "unknown output container; use an extension such as .mp4, .mkv, .webm or .mov, \
                     or end the path with / for a directory of frames"
                    .into(),
        });
    }
    Ok(fmt)
}

/// The FFmpeg muxer name for an output file name (from its extension).
pub(crate) fn muxer_name(final_path: &Path) -> Result<String, MediaError> {
    let fmt = guess_format(final_path)?;
    // SAFETY: non-null static muxer with a NUL-terminated name.
    Ok(unsafe { std::ffi::CStr::from_ptr((*fmt).name) }
        .to_string_lossy()
        .into_owned())
}

/// Whether the container for `final_path` wants codec extradata in its header (what
/// `Muxer::create` reads from its opened context, known here before any file exists).
pub(crate) fn wants_global_header(final_path: &Path) -> Result<bool, MediaError> {
    let fmt = guess_format(final_path)?;
    // SAFETY: non-null static muxer description.
    Ok(unsafe { (*fmt).flags } & ffi::AVFMT_GLOBALHEADER != 0)
}

/// Refuses, before any file exists, a container (from `final_path`'s extension) that cannot hold
/// `id` video: `.gif` with H.264, an unknown extension, ...
pub(crate) fn container_accepts_codec(
    final_path: &Path,
    id: ffmpeg_next::codec::Id,
) -> Result<(), MediaError> {
    let fmt = guess_format(final_path)?;
    // SAFETY: `fmt` is a non-null static muxer description; the query only reads it.
    let r = unsafe { ffi::avformat_query_codec(fmt, id.into(), ffi::FF_COMPLIANCE_NORMAL) };
    if r == 0 {
        // SAFETY: static NUL-terminated muxer name.
        let name = unsafe { std::ffi::CStr::from_ptr((*fmt).name) }.to_string_lossy();
        return Err(MediaError::InvalidOutput {
            path: final_path.to_path_buf(),
            reason: format!(
                "the {name} container cannot hold {} video; choose another extension or --codec",
                ff::codec_name(id)
            ),
        });
    }
    Ok(())
}

/// Whether the container can hold `id` (unknown answers count as yes; write_header decides).
fn container_accepts(octx: &Output, id: ffmpeg_next::codec::Id) -> bool {
    // SAFETY: oformat is valid for an allocated output context.
    unsafe {
        let r = ffi::avformat_query_codec(
            (*octx.as_ptr()).oformat,
            id.into(),
            ffi::FF_COMPLIANCE_NORMAL,
        );
        r != 0
    }
}

/// One copied stream.
struct CopiedStream {
    out_index: usize,
    in_tb: (i32, i32),
    out_tb: (i32, i32),
}

/// Copies audio/subtitle packets from a second opening of the input.
pub(crate) struct PassthroughCopier {
    path: PathBuf,
    /// The output being written (named by write errors).
    out_path: PathBuf,
    input: Input,
    /// Indexed by input stream index.
    map: Vec<Option<CopiedStream>>,
    offset_s: f64,
    /// Packets are kept when `pts >= start_s` (only with an explicit window start).
    start_s: Option<f64>,
    end_s: Option<f64>,
    pending: Option<Packet>,
    done: bool,
    pub copied_packets: u64,
}

impl PassthroughCopier {
    /// Opens the input and adds its audio/subtitle streams (and metadata/chapters) to `octx`.
    pub fn new(
        octx: &mut Output,
        pt: &Passthrough,
        offset_s: f64,
        video_out_index: usize,
        out_path: &Path,
    ) -> Result<Self, MediaError> {
        let mut input = ff::open_input(&pt.input)?;
        let nb = input.streams().count();
        let mut map: Vec<Option<CopiedStream>> = (0..nb).map(|_| None).collect();
        let video_in = crate::probe::video_stream_index(&input);
        for s in input.streams() {
            let medium = s.parameters().medium();
            let wanted =
                (medium == Type::Audio && pt.audio) || (medium == Type::Subtitle && pt.subtitles);
            if !wanted {
                continue;
            }
            let id = s.parameters().id();
            if !container_accepts(octx, id) {
                tracing::warn!(
                    "{}: the output container cannot hold {} stream {} ({}); not copied",
                    pt.input.display(),
                    if medium == Type::Audio {
                        "audio"
                    } else {
                        "subtitle"
                    },
                    s.index(),
                    ff::codec_name(id)
                );
                continue;
            }
            let mut ost = octx
                .add_stream(ffmpeg_next::encoder::find(ffmpeg_next::codec::Id::None))
                .map_err(|e| MediaError::other(&pt.input, format!("cannot add stream ({e})")))?;
            ost.set_parameters(s.parameters());
            ost.set_time_base(s.time_base());
            // SAFETY: codecpar of a freshly added stream; clearing the tag lets the muxer pick
            // its own (AVI and MP4 tags differ).
            unsafe {
                (*(*ost.as_mut_ptr()).codecpar).codec_tag = 0;
                (*ost.as_mut_ptr()).disposition = (*s.as_ptr()).disposition;
            }
            if pt.metadata {
                ost.set_metadata(s.metadata().to_owned());
            }
            map[s.index()] = Some(CopiedStream {
                out_index: ost.index(),
                in_tb: rat(s.time_base()),
                out_tb: (0, 1),
            });
        }
        if pt.metadata {
            octx.set_metadata(input.metadata().to_owned());
            if let Some(vi) = video_in {
                if let (Some(ist), Some(mut ost)) =
                    (input.stream(vi), octx.stream_mut(video_out_index))
                {
                    // Encoder-specific tags describe the old stream, not ours.
                    let mut md = ffmpeg_next::Dictionary::new();
                    for (k, v) in ist.metadata().iter() {
                        if !k.eq_ignore_ascii_case("encoder") {
                            md.set(k, v);
                        }
                    }
                    ost.set_metadata(md);
                }
            }
            let end_s = pt.duration_s.map(|d| offset_s + d);
            let chapters: Vec<_> = input
                .chapters()
                .map(|c| {
                    (
                        c.id(),
                        rat(c.time_base()),
                        c.start(),
                        c.end(),
                        c.metadata().get("title").unwrap_or("").to_string(),
                    )
                })
                .collect();
            for (id, tb, start, end, title) in chapters {
                let (s, e) = (
                    ff::ts_to_s(start, tb) - offset_s,
                    ff::ts_to_s(end, tb) - offset_s,
                );
                if e <= 0.0 || end_s.is_some_and(|x| s >= x - offset_s) {
                    continue;
                }
                let _ = octx.add_chapter(
                    id,
                    ff::to_rat(tb),
                    ff::s_to_ts(s.max(0.0), tb),
                    ff::s_to_ts(e, tb),
                    title,
                );
            }
        }
        if let Some(start) = pt.start_s.filter(|s| *s > 0.0) {
            let target = (start * ffi::AV_TIME_BASE as f64) as i64;
            let _ = input.seek(target, ..target);
        }
        Ok(PassthroughCopier {
            path: pt.input.clone(),
            out_path: out_path.to_path_buf(),
            input,
            map,
            offset_s,
            start_s: pt.start_s.filter(|s| *s > 0.0),
            end_s: pt
                .duration_s
                .map(|d| pt.start_s.unwrap_or(0.0).max(0.0) + d),
            pending: None,
            done: false,
            copied_packets: 0,
        })
    }

    /// Leaves out packets that start at or after `end_s` seconds of input time (the video
    /// ended early), on top of the window's own end.
    pub fn end_at(&mut self, end_s: f64) {
        self.end_s = Some(self.end_s.map_or(end_s, |e| e.min(end_s)));
    }

    pub fn stream_count(&self) -> usize {
        self.map.iter().filter(|m| m.is_some()).count()
    }

    /// Records the time bases the muxer settled on (after `write_header`).
    pub fn after_header(&mut self, octx: &Output) {
        for c in self.map.iter_mut().flatten() {
            if let Some(s) = octx.stream(c.out_index) {
                c.out_tb = rat(s.time_base());
            }
        }
    }

    /// Copies input packets whose (input) decode time is at most `limit_s` output seconds, or all
    /// remaining ones when `limit_s` is `None`.
    pub fn copy_until(
        &mut self,
        octx: &mut Output,
        limit_s: Option<f64>,
    ) -> Result<(), MediaError> {
        loop {
            let packet = match self.pending.take() {
                Some(p) => p,
                None => {
                    if self.done {
                        return Ok(());
                    }
                    let mut p = Packet::empty();
                    match p.read(&mut self.input) {
                        Ok(()) => {}
                        Err(ffmpeg_next::Error::Eof) => {
                            self.done = true;
                            return Ok(());
                        }
                        Err(e) => {
                            // A damaged tail in the passthrough input ends copying, not the job.
                            tracing::warn!(
                                "{}: stopped copying streams ({e})",
                                self.path.display()
                            );
                            self.done = true;
                            return Ok(());
                        }
                    }
                    p
                }
            };
            let Some(Some(cs)) = self.map.get(packet.stream()) else {
                continue;
            };
            let Some(ts) = packet.dts().or(packet.pts()) else {
                // No timestamps at all: copy right away (muxer keeps order).
                self.write(octx, packet)?;
                continue;
            };
            let t_s = ff::ts_to_s(ts, cs.in_tb) - self.offset_s;
            if let Some(limit) = limit_s {
                if t_s > limit {
                    self.pending = Some(packet);
                    return Ok(());
                }
            }
            let pts_abs = ff::ts_to_s(packet.pts().unwrap_or(ts), cs.in_tb);
            if self.start_s.is_some_and(|s| pts_abs < s - 1e-9) {
                continue;
            }
            if self.end_s.is_some_and(|e| pts_abs >= e) {
                continue;
            }
            self.write(octx, packet)?;
        }
    }

    fn write(&mut self, octx: &mut Output, mut packet: Packet) -> Result<(), MediaError> {
        let Some(Some(cs)) = self.map.get(packet.stream()) else {
            return Ok(());
        };
        let offset = ff::s_to_ts(self.offset_s, cs.in_tb);
        if offset != 0 {
            packet.set_pts(packet.pts().map(|p| p - offset));
            packet.set_dts(packet.dts().map(|d| d - offset));
        }
        packet.rescale_ts(ff::to_rat(cs.in_tb), ff::to_rat(cs.out_tb));
        packet.set_stream(cs.out_index);
        packet.set_position(-1);
        packet
            .write_interleaved(octx)
            .map_err(|e| MediaError::Write {
                path: self.out_path.clone(),
                reason: format!(
                    "copying a packet from {} failed ({})",
                    self.path.display(),
                    one_line(&e.to_string())
                ),
            })?;
        self.copied_packets += 1;
        Ok(())
    }
}

/// The output container: temporary file, streams, header/trailer.
pub(crate) struct Muxer {
    // Field order matters: the context (which closes the file) drops before the partial file
    // (which deletes it when uncommitted).
    pub octx: Output,
    pub partial: PartialFile,
    pub video_index: usize,
    pub video_tb: (i32, i32),
    pub global_header: bool,
    pub header_written: bool,
}

impl Muxer {
    pub fn create(
        final_path: &Path,
        overwrite: bool,
        source: Option<&Path>,
    ) -> Result<Self, MediaError> {
        crate::ff::init();
        let name = muxer_name(final_path)?;
        let partial = PartialFile::create(final_path, overwrite, source)?;
        let octx = ffmpeg_next::format::output_as(partial.temp_path(), &name).map_err(|e| {
            MediaError::OutputDirNotWritable {
                path: final_path.to_path_buf(),
                reason: one_line(&e.to_string()),
            }
        })?;
        let global_header = octx
            .format()
            .flags()
            .contains(ffmpeg_next::format::Flags::GLOBAL_HEADER);
        Ok(Muxer {
            octx,
            partial,
            video_index: 0,
            video_tb: (1, 1),
            global_header,
            header_written: false,
        })
    }

    /// Adds the video stream from an opened encoder, with an optional display rotation.
    pub fn add_video(
        &mut self,
        encoder: &ffmpeg_next::encoder::Video,
        enc_tb: (i32, i32),
        frame_rate: (i32, i32),
        rotation_deg: f64,
        hdr: Option<&crate::types::HdrMetadata>,
    ) -> Result<(), MediaError> {
        let path = self.partial.final_path().to_path_buf();
        let codec_id = encoder.id();
        if !container_accepts(&self.octx, codec_id) {
            return Err(MediaError::InvalidOutput {
                path,
                reason: format!(
                    "the {} container cannot hold {} video",
                    self.octx.format().name(),
                    ff::codec_name(codec_id)
                ),
            });
        }
        let fmt_name = self.octx.format().name().to_string();
        let mut ost = self
            .octx
            .add_stream(ffmpeg_next::encoder::find(codec_id))
            .map_err(|e| MediaError::other(&path, format!("cannot add video stream ({e})")))?;
        ost.set_parameters(encoder);
        ost.set_time_base(ff::to_rat(enc_tb));
        if frame_rate.0 > 0 && frame_rate.1 > 0 {
            ost.set_avg_frame_rate(ff::to_rat(frame_rate));
        }
        let rot = ff::normalise_degrees(rotation_deg);
        if rot != 0.0 {
            // SAFETY: allocates 9 int32 of side data owned by the stream and fills it.
            unsafe {
                let data = ffi::av_stream_new_side_data(
                    ost.as_mut_ptr(),
                    ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
                    36,
                );
                if !data.is_null() {
                    // av_display_rotation_set takes the clockwise angle; ours is counter-clockwise.
                    ffi::av_display_rotation_set(data as *mut i32, -rot);
                }
            }
        }
        if codec_id == ffmpeg_next::codec::Id::HEVC && (fmt_name == "mp4" || fmt_name == "mov") {
            // hvc1 (parameter sets in the sample entry) is what Apple players accept.
            // SAFETY: plain field write on the new stream's codec parameters.
            unsafe {
                (*(*ost.as_mut_ptr()).codecpar).codec_tag = u32::from_le_bytes(*b"hvc1");
            }
        }
        if let Some(hdr) = hdr {
            // SAFETY: the stream pointer is valid while `ost` borrows the context.
            crate::hdr::attach_to_stream(unsafe { ost.as_mut_ptr() }, hdr);
        }
        self.video_index = ost.index();
        self.video_tb = enc_tb;
        Ok(())
    }

    pub fn write_header(&mut self) -> Result<(), MediaError> {
        self.octx.write_header().map_err(|e| MediaError::Write {
            path: self.partial.final_path().to_path_buf(),
            reason: format!(
                "could not write the container header ({})",
                one_line(&e.to_string())
            ),
        })?;
        if let Some(s) = self.octx.stream(self.video_index) {
            self.video_tb = rat(s.time_base());
        }
        self.header_written = true;
        Ok(())
    }

    pub fn write_video(
        &mut self,
        mut packet: Packet,
        enc_tb: (i32, i32),
    ) -> Result<(), MediaError> {
        packet.rescale_ts(ff::to_rat(enc_tb), ff::to_rat(self.video_tb));
        packet.set_stream(self.video_index);
        packet
            .write_interleaved(&mut self.octx)
            .map_err(|e| MediaError::Write {
                path: self.partial.final_path().to_path_buf(),
                reason: one_line(&e.to_string()),
            })
    }

    /// Writes the trailer, closes the file and renames it to the final name.
    pub fn finish(mut self) -> Result<u64, MediaError> {
        self.octx.write_trailer().map_err(|e| MediaError::Write {
            path: self.partial.final_path().to_path_buf(),
            reason: format!(
                "could not finish the container ({})",
                one_line(&e.to_string())
            ),
        })?;
        let Muxer { octx, partial, .. } = self;
        drop(octx);
        partial.commit()
    }
}

/// Adds the passthrough streams of `spec` (if any) to `muxer`, before its header is written.
pub(crate) fn open_copier(
    muxer: &mut Muxer,
    spec: &OutputSpec,
    offset_s: f64,
) -> Result<Option<PassthroughCopier>, MediaError> {
    let Some(pt) = &spec.passthrough else {
        return Ok(None);
    };
    let mut pt = pt.clone();
    if pt.start_s.is_none() {
        pt.start_s = spec.start_s;
    }
    Ok(Some(PassthroughCopier::new(
        &mut muxer.octx,
        &pt,
        offset_s,
        muxer.video_index,
        muxer.partial.final_path(),
    )?))
}
