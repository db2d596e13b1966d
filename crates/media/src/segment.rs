//! Segmented, resumable video output: frames are encoded into numbered segment files in a work
//! directory (one fresh encoder per segment, so every segment starts with a keyframe and
//! depends on nothing before it), and at the end the segments' packets are joined by stream
//! copy, with the passthrough streams, into the final file (temporary name, then rename).
//!
//! Segments hold a fixed number of output frames (the last may be shorter), so segment `k`
//! always starts at output frame `k · segment_frames`: a resumed job that skips the frames of
//! the segments already done produces the same segments an uninterrupted job would.
//!
//! The segment file format is ours (`.upseg`): it keeps each packet's timestamps in the
//! encoder's own time base, exactly (containers such as Matroska would round them to 1 ms),
//! plus the codec extradata and the packet side data muxers need (VP9 alpha):
//!
//! ```text
//! header   "UPSEG01\n"  i32 tb_num  i32 tb_den  u32 extradata_len  extradata
//! packet   'P'  i64 pts  i64 dts  i64 duration  i32 flags  u32 size  data
//!               u32 side_count  { u32 kind  u32 len  data }*
//! end      'E'  u64 packets  u64 frames
//! ```
//! All integers little-endian; `i64::MIN` is "no timestamp". A segment is written under a
//! `.partial` name, flushed and renamed only once complete, so a crash leaves either a whole
//! segment or a partial file that the next run deletes.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ffmpeg_next::packet::Mut as _;
use ffmpeg_next::{ffi, Packet};

use crate::encode::{
    choose_codec, encoder_time_base, window_offset_s, CodecChoice, FrameClock, VideoEncoder,
};
use crate::error::MediaError;
use crate::ff;
use crate::frame::Frame;
use crate::mux::Muxer;
use crate::pixfmt::pixel_name;
use crate::types::{OutputSpec, OutputSummary};
use crate::FrameSink;

const MAGIC: &[u8; 8] = b"UPSEG01\n";
/// Largest packet or extradata a segment file may declare (a 16K ProRes 4444 XQ frame is far
/// below this); bounds what a damaged file can make us allocate.
const MAX_CHUNK: u32 = 512 << 20;
const MAX_SIDE_DATA: u32 = 16;
/// Our code for `AV_PKT_DATA_MATROSKA_BLOCKADDITIONAL` (VP9/VP8 alpha in WebM). Only side data
/// a muxer uses is kept, under our own codes, so no foreign number becomes a C enum value.
const SIDE_BLOCK_ADDITIONAL: u32 = 1;

/// The file name of segment `index`.
pub fn segment_file_name(index: u64) -> String {
    format!("seg-{index:06}.upseg")
}

/// A complete segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRecord {
    pub index: u64,
    pub frames: u64,
    /// Size of the segment file.
    pub bytes: u64,
    /// File name inside the work directory.
    pub file: String,
}

/// Called after each segment is complete on disk (e.g. to append it to a journal); an error
/// stops the job.
pub type OnSegment = Box<dyn FnMut(&SegmentRecord) -> Result<(), MediaError> + Send>;

/// Where segments go and which are already done.
pub struct SegmentPlan {
    /// The work directory (must exist).
    pub dir: PathBuf,
    /// Output frames per segment (at least 1).
    pub segment_frames: u64,
    /// Segments complete from an earlier run, in order from index 0; the first frame this sink
    /// receives is output frame `sum(done.frames)`.
    pub done: Vec<SegmentRecord>,
    pub on_segment: OnSegment,
    /// Checked while joining: once set, the join stops with [`MediaError::Interrupted`]
    /// (the segments stay for the next run).
    pub cancel: Option<Arc<AtomicBool>>,
    /// The index of the first segment this sink holds (`done[0]`, or the first it writes):
    /// 0 for a whole job; a chunk of a job run on many machines starts mid-video.
    pub first_segment: u64,
    /// Join the segments into the final file in `finish` (a whole job); `false`: `finish`
    /// only completes the last segment (a chunk; the join happens once every chunk is done).
    pub join: bool,
}

impl std::fmt::Debug for SegmentPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentPlan")
            .field("dir", &self.dir)
            .field("segment_frames", &self.segment_frames)
            .field("done", &self.done)
            .field("first_segment", &self.first_segment)
            .field("join", &self.join)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The segment file format.

/// One packet as stored in a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredPacket {
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: i64,
    pub flags: i32,
    pub data: Vec<u8>,
    /// (our side-data code, bytes)
    pub side: Vec<(u32, Vec<u8>)>,
}

impl StoredPacket {
    fn from_packet(p: &Packet) -> Self {
        let side = p
            .side_data()
            .filter(|s| s.kind() == ffmpeg_next::packet::side_data::Type::MatroskaBlockAdditional)
            .map(|s| (SIDE_BLOCK_ADDITIONAL, s.data().to_vec()))
            .collect();
        StoredPacket {
            pts: p.pts(),
            dts: p.dts(),
            duration: p.duration(),
            flags: p.flags().bits(),
            data: p.data().map(<[u8]>::to_vec).unwrap_or_default(),
            side,
        }
    }

    fn to_packet(&self, path: &Path) -> Result<Packet, MediaError> {
        let mut p = Packet::copy(&self.data);
        p.set_pts(self.pts);
        p.set_dts(self.dts);
        p.set_duration(self.duration);
        p.set_flags(ffmpeg_next::packet::Flags::from_bits_truncate(self.flags));
        for (kind, bytes) in &self.side {
            if *kind != SIDE_BLOCK_ADDITIONAL {
                continue;
            }
            // SAFETY: allocates `len` bytes of side data owned by the packet, then fills them.
            unsafe {
                let dst = ffi::av_packet_new_side_data(
                    p.as_mut_ptr(),
                    ffi::AVPacketSideDataType::AV_PKT_DATA_MATROSKA_BLOCKADDITIONAL,
                    bytes.len(),
                );
                if dst.is_null() {
                    return Err(MediaError::other(
                        path,
                        "out of memory for packet side data",
                    ));
                }
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
            }
        }
        Ok(p)
    }
}

fn ts_out(t: Option<i64>) -> i64 {
    t.unwrap_or(i64::MIN)
}

fn ts_in(t: i64) -> Option<i64> {
    (t != i64::MIN).then_some(t)
}

/// Writes one segment file under a temporary name; `commit` renames it.
struct SegmentWriter {
    out: BufWriter<File>,
    temp: PathBuf,
    path: PathBuf,
    packets: u64,
    committed: bool,
}

impl SegmentWriter {
    fn create(path: &Path, tb: (i32, i32), extradata: &[u8]) -> Result<Self, MediaError> {
        let temp = path.with_extension("upseg.partial");
        if extradata.len() > MAX_CHUNK as usize {
            return Err(MediaError::Write {
                path: temp,
                reason: format!("{} bytes of codec extradata", extradata.len()),
            });
        }
        let file = File::create(&temp).map_err(|e| io_error(&temp, e))?;
        let mut w = SegmentWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            temp,
            path: path.to_path_buf(),
            packets: 0,
            committed: false,
        };
        let mut head = Vec::with_capacity(20 + extradata.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&tb.0.to_le_bytes());
        head.extend_from_slice(&tb.1.to_le_bytes());
        head.extend_from_slice(&(extradata.len() as u32).to_le_bytes());
        head.extend_from_slice(extradata);
        w.put(&head)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), MediaError> {
        self.out
            .write_all(bytes)
            .map_err(|e| io_error(&self.temp, e))
    }

    fn write_packet(&mut self, p: &StoredPacket) -> Result<(), MediaError> {
        let too_big = p.data.len() > MAX_CHUNK as usize
            || p.side.len() > MAX_SIDE_DATA as usize
            || p.side.iter().any(|(_, b)| b.len() > MAX_CHUNK as usize);
        if too_big {
            return Err(MediaError::Write {
                path: self.temp.clone(),
                reason: format!(
                    "a {} byte packet is larger than a segment can hold",
                    p.data.len()
                ),
            });
        }
        let mut rec = Vec::with_capacity(41 + p.data.len());
        rec.push(b'P');
        rec.extend_from_slice(&ts_out(p.pts).to_le_bytes());
        rec.extend_from_slice(&ts_out(p.dts).to_le_bytes());
        rec.extend_from_slice(&p.duration.to_le_bytes());
        rec.extend_from_slice(&p.flags.to_le_bytes());
        rec.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        rec.extend_from_slice(&p.data);
        rec.extend_from_slice(&(p.side.len() as u32).to_le_bytes());
        for (kind, bytes) in &p.side {
            rec.extend_from_slice(&kind.to_le_bytes());
            rec.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            rec.extend_from_slice(bytes);
        }
        self.put(&rec)?;
        self.packets += 1;
        Ok(())
    }

    /// Writes the end record, syncs the data to disk and renames the file to its final name.
    fn commit(mut self, frames: u64) -> Result<u64, MediaError> {
        let mut end = vec![b'E'];
        end.extend_from_slice(&self.packets.to_le_bytes());
        end.extend_from_slice(&frames.to_le_bytes());
        self.put(&end)?;
        self.out.flush().map_err(|e| io_error(&self.temp, e))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| io_error(&self.temp, e))?;
        std::fs::rename(&self.temp, &self.path).map_err(|e| io_error(&self.path, e))?;
        self.committed = true;
        let bytes = std::fs::metadata(&self.path)
            .map_err(|e| io_error(&self.path, e))?
            .len();
        Ok(bytes)
    }
}

impl Drop for SegmentWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Reads a segment file packet by packet.
pub(crate) struct SegmentReader<R: Read> {
    input: R,
    pub time_base: (i32, i32),
    pub extradata: Vec<u8>,
    packets: u64,
    /// `Some(frames)` once the end record has been read.
    pub end: Option<u64>,
}

/// Why a segment file could not be read (the caller adds the path).
#[derive(Debug)]
pub(crate) struct FormatError(pub String);

fn read_exact<R: Read>(r: &mut R, n: usize, what: &str) -> Result<Vec<u8>, FormatError> {
    let mut buf = Vec::new();
    r.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|e| FormatError(format!("{what}: {e}")))?;
    if buf.len() != n {
        return Err(FormatError(format!("truncated in {what}")));
    }
    Ok(buf)
}

fn read_u32<R: Read>(r: &mut R, what: &str) -> Result<u32, FormatError> {
    let b = read_exact(r, 4, what)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_i64<R: Read>(r: &mut R, what: &str) -> Result<i64, FormatError> {
    let b = read_exact(r, 8, what)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(&b);
    Ok(i64::from_le_bytes(a))
}

fn read_len<R: Read>(r: &mut R, what: &str) -> Result<usize, FormatError> {
    let n = read_u32(r, what)?;
    if n > MAX_CHUNK {
        return Err(FormatError(format!("{what} of {n} bytes is too large")));
    }
    Ok(n as usize)
}

impl<R: Read> SegmentReader<R> {
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let magic = read_exact(&mut input, 8, "header")?;
        if magic != MAGIC {
            return Err(FormatError("not an upframe segment".into()));
        }
        let num = read_u32(&mut input, "time base")? as i32;
        let den = read_u32(&mut input, "time base")? as i32;
        if num <= 0 || den <= 0 {
            return Err(FormatError(format!("invalid time base {num}/{den}")));
        }
        let n = read_len(&mut input, "extradata")?;
        let extradata = read_exact(&mut input, n, "extradata")?;
        Ok(SegmentReader {
            input,
            time_base: (num, den),
            extradata,
            packets: 0,
            end: None,
        })
    }

    /// The next packet, or `None` after the end record. A file without an end record is an
    /// error (an incomplete segment).
    pub fn next_packet(&mut self) -> Result<Option<StoredPacket>, FormatError> {
        if self.end.is_some() {
            return Ok(None);
        }
        let tag = read_exact(&mut self.input, 1, "record tag")?[0];
        match tag {
            b'P' => {
                let pts = ts_in(read_i64(&mut self.input, "packet")?);
                let dts = ts_in(read_i64(&mut self.input, "packet")?);
                let duration = read_i64(&mut self.input, "packet")?;
                let flags = read_u32(&mut self.input, "packet")? as i32;
                let n = read_len(&mut self.input, "packet")?;
                let data = read_exact(&mut self.input, n, "packet data")?;
                let count = read_u32(&mut self.input, "side data count")?;
                if count > MAX_SIDE_DATA {
                    return Err(FormatError(format!("{count} side data entries")));
                }
                let mut side = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    let kind = read_u32(&mut self.input, "side data")?;
                    let n = read_len(&mut self.input, "side data")?;
                    side.push((kind, read_exact(&mut self.input, n, "side data")?));
                }
                self.packets += 1;
                Ok(Some(StoredPacket {
                    pts,
                    dts,
                    duration,
                    flags,
                    data,
                    side,
                }))
            }
            b'E' => {
                let packets = read_i64(&mut self.input, "end record")? as u64;
                let frames = read_i64(&mut self.input, "end record")? as u64;
                if packets != self.packets {
                    return Err(FormatError(format!(
                        "end record says {packets} packets, the file holds {}",
                        self.packets
                    )));
                }
                self.end = Some(frames);
                Ok(None)
            }
            other => Err(FormatError(format!("unknown record tag 0x{other:02x}"))),
        }
    }
}

/// A whole segment read into memory.
#[derive(Debug)]
pub(crate) struct SegmentContents {
    pub time_base: (i32, i32),
    pub extradata: Vec<u8>,
    pub packets: Vec<StoredPacket>,
    pub frames: u64,
}

/// Reads a whole segment from memory; for tests and the fuzz target.
pub(crate) fn parse_segment_bytes(bytes: &[u8]) -> Result<SegmentContents, FormatError> {
    let mut r = SegmentReader::new(bytes)?;
    let mut packets = Vec::new();
    while let Some(p) = r.next_packet()? {
        packets.push(p);
    }
    Ok(SegmentContents {
        time_base: r.time_base,
        extradata: r.extradata,
        packets,
        frames: r.end.unwrap_or(0),
    })
}

/// Parses a segment file held in memory and returns its packet and frame counts; for the
/// `segment` fuzz target (never panics, whatever the bytes).
#[doc(hidden)]
pub fn fuzz_parse_segment(bytes: &[u8]) -> Result<(usize, u64), String> {
    parse_segment_bytes(bytes)
        .map(|c| {
            // What the reader promises about any file it accepts.
            assert!(c.time_base.0 > 0 && c.time_base.1 > 0);
            assert!(c.extradata.len() <= MAX_CHUNK as usize);
            (c.packets.len(), c.frames)
        })
        .map_err(|e| e.0)
}

fn io_error(path: &Path, e: std::io::Error) -> MediaError {
    MediaError::Write {
        path: path.to_path_buf(),
        reason: crate::error::one_line(&e.to_string()),
    }
}

fn open_reader(path: &Path) -> Result<SegmentReader<BufReader<File>>, MediaError> {
    let file = File::open(path).map_err(|e| MediaError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    SegmentReader::new(BufReader::with_capacity(1 << 20, file)).map_err(|e| damaged(path, e))
}

fn damaged(path: &Path, e: FormatError) -> MediaError {
    MediaError::Damaged {
        path: path.to_path_buf(),
        format: "an upframe segment".into(),
        reason: e.0,
    }
}

// ---------------------------------------------------------------------------------------------
// The sink.

/// The segment being written.
struct OpenSegment {
    index: u64,
    encoder: VideoEncoder,
    writer: SegmentWriter,
    frames: u64,
}

/// A [`FrameSink`] that writes segments and joins them in `finish`.
pub struct SegmentedSink {
    final_path: PathBuf,
    spec: OutputSpec,
    choice: CodecChoice,
    global_header: bool,
    dir: PathBuf,
    segment_frames: u64,
    on_segment: OnSegment,
    cancel: Option<Arc<AtomicBool>>,
    records: Vec<SegmentRecord>,
    clock: FrameClock,
    current: Option<OpenSegment>,
    packets: Vec<Packet>,
    /// Where copied streams end (input seconds) when the video ended early.
    passthrough_end_s: Option<f64>,
    first_segment: u64,
    join: bool,
}

/// Opens a segmented sink for a video file output (see the module docs).
pub fn open_segmented_sink(
    final_path: &Path,
    spec: &OutputSpec,
    plan: SegmentPlan,
) -> Result<Box<dyn FrameSink>, MediaError> {
    ff::init();
    if spec.channels == 0 || spec.channels > 4 {
        return Err(MediaError::InvalidOutput {
            path: final_path.to_path_buf(),
            reason: format!("{} channels", spec.channels),
        });
    }
    if plan.segment_frames == 0 {
        return Err(MediaError::InvalidOutput {
            path: final_path.to_path_buf(),
            reason: "segments must hold at least one frame".into(),
        });
    }
    crate::output::check_output(
        final_path,
        spec.overwrite,
        spec.passthrough
            .as_ref()
            .map(|p| p.input.as_path())
            .or(spec.source_path.as_deref()),
    )?;
    for (i, r) in plan.done.iter().enumerate() {
        if r.index != plan.first_segment + i as u64 {
            return Err(MediaError::InvalidOutput {
                path: plan.dir.clone(),
                reason: format!("segment {} recorded out of order", r.index),
            });
        }
    }
    let choice = choose_codec(final_path, spec)?;
    let global_header = crate::mux::wants_global_header(final_path)?;
    // Segments before the first are full ones (only the video's last segment is short).
    let done_frames =
        plan.first_segment * plan.segment_frames + plan.done.iter().map(|r| r.frames).sum::<u64>();
    let clock = FrameClock::new(spec, encoder_time_base(spec), done_frames);
    Ok(Box::new(SegmentedSink {
        final_path: final_path.to_path_buf(),
        spec: spec.clone(),
        choice,
        global_header,
        dir: plan.dir,
        segment_frames: plan.segment_frames,
        on_segment: plan.on_segment,
        cancel: plan.cancel,
        records: plan.done,
        clock,
        current: None,
        packets: Vec::new(),
        passthrough_end_s: None,
        first_segment: plan.first_segment,
        join: plan.join,
    }))
}

impl SegmentedSink {
    fn open_segment(&mut self) -> Result<OpenSegment, MediaError> {
        let index = self.first_segment + self.records.len() as u64;
        let encoder = VideoEncoder::open(
            &self.final_path,
            &self.spec,
            self.choice.clone(),
            self.global_header,
        )?;
        // SAFETY: reads the opened encoder context's extradata buffer (size bytes, or null).
        let extradata = unsafe {
            let ctx = encoder.encoder().as_ptr();
            if (*ctx).extradata.is_null() || (*ctx).extradata_size <= 0 {
                Vec::new()
            } else {
                std::slice::from_raw_parts((*ctx).extradata, (*ctx).extradata_size as usize)
                    .to_vec()
            }
        };
        let path = self.dir.join(segment_file_name(index));
        let writer = SegmentWriter::create(&path, encoder.time_base, &extradata)?;
        Ok(OpenSegment {
            index,
            encoder,
            writer,
            frames: 0,
        })
    }

    fn store_packets(&mut self) -> Result<(), MediaError> {
        let Some(seg) = self.current.as_mut() else {
            return Ok(());
        };
        for p in self.packets.drain(..) {
            seg.writer.write_packet(&StoredPacket::from_packet(&p))?;
        }
        Ok(())
    }

    /// Flushes the open segment's encoder, commits its file and reports it.
    fn close_segment(&mut self) -> Result<(), MediaError> {
        let Some(seg) = self.current.as_mut() else {
            return Ok(());
        };
        seg.encoder.finish(&mut self.packets)?;
        self.store_packets()?;
        let Some(seg) = self.current.take() else {
            return Ok(());
        };
        let file = seg
            .writer
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = seg.writer.commit(seg.frames)?;
        let record = SegmentRecord {
            index: seg.index,
            frames: seg.frames,
            bytes,
            file,
        };
        (self.on_segment)(&record)?;
        self.records.push(record);
        Ok(())
    }

    /// Joins every segment, with the passthrough streams, into the final file.
    fn join(&mut self) -> Result<OutputSummary, MediaError> {
        let spec = &self.spec;
        let mut muxer = Muxer::create(
            &self.final_path,
            spec.overwrite,
            spec.source_path.as_deref(),
        )?;
        // An encoder opened with the same settings gives the stream parameters; its extradata
        // is replaced by the segments' own (the same bytes for deterministic encoders).
        let encoder = VideoEncoder::open(
            &self.final_path,
            spec,
            self.choice.clone(),
            muxer.global_header,
        )?;
        let tb = encoder.time_base;
        muxer.add_video(
            encoder.encoder(),
            tb,
            spec.frame_rate,
            spec.rotation_deg,
            spec.hdr.as_ref(),
        )?;
        let mut extradata = None;
        if let Some(first) = self.records.first() {
            let reader = open_reader(&self.dir.join(&first.file))?;
            if !reader.extradata.is_empty() {
                set_stream_extradata(&mut muxer, &reader.extradata)?;
            }
            extradata = Some(reader.extradata);
        }
        let offset_s = window_offset_s(spec);
        let mut copier = crate::mux::open_copier(&mut muxer, spec, offset_s)?;
        muxer.write_header()?;
        if let Some(c) = copier.as_mut() {
            c.after_header(&muxer.octx);
            if let Some(end) = self.passthrough_end_s {
                c.end_at(end);
            }
        }
        let mut last_dts: Option<i64> = None;
        let mut frames = 0u64;
        for record in &self.records {
            let path = self.dir.join(&record.file);
            let mut reader = open_reader(&path)?;
            if extradata.as_ref().is_some_and(|e| *e != reader.extradata) {
                // Another encoder build or setting: its stream would not decode after the
                // first segment's headers.
                return Err(damaged(
                    &path,
                    FormatError(
                        "its codec headers differ from the first segment's (written by another \
                         encoder build?); run with --restart"
                            .into(),
                    ),
                ));
            }
            if reader.time_base != tb {
                return Err(damaged(
                    &path,
                    FormatError(format!(
                        "time base {}/{} differs from the job's {}/{}",
                        reader.time_base.0, reader.time_base.1, tb.0, tb.1
                    )),
                ));
            }
            while let Some(stored) = reader.next_packet().map_err(|e| damaged(&path, e))? {
                if self
                    .cancel
                    .as_ref()
                    .is_some_and(|c| c.load(Ordering::Relaxed))
                {
                    return Err(MediaError::Interrupted {
                        path: self.final_path.clone(),
                    });
                }
                let mut packet = stored.to_packet(&path)?;
                // Segments restart the encoder's decode-time ramp; keep DTS strictly
                // increasing across the seams.
                if let (Some(d), Some(last)) = (packet.dts(), last_dts) {
                    if d <= last {
                        packet.set_dts(Some(last + 1));
                        if packet.pts().is_some_and(|p| p <= last) {
                            return Err(MediaError::InvalidOutput {
                                path: self.final_path.clone(),
                                reason: format!(
                                    "segment {} cannot follow the one before it (decode \
                                     timestamps overlap); use larger --segment-frames",
                                    record.index
                                ),
                            });
                        }
                    }
                }
                last_dts = packet.dts().or(last_dts);
                if let Some(c) = copier.as_mut() {
                    let t = packet.dts().or(packet.pts()).map(|d| ff::ts_to_s(d, tb));
                    c.copy_until(&mut muxer.octx, Some(t.unwrap_or(f64::MAX)))?;
                }
                muxer.write_video(packet, tb)?;
            }
            match reader.end {
                Some(n) if n == record.frames => frames += n,
                Some(n) => {
                    return Err(damaged(
                        &path,
                        FormatError(format!(
                            "it holds {n} frames, the journal says {}",
                            record.frames
                        )),
                    ));
                }
                None => {
                    return Err(damaged(&path, FormatError("no end record".into())));
                }
            }
        }
        let (copied_streams, copied_packets) = match copier.as_mut() {
            Some(c) => {
                c.copy_until(&mut muxer.octx, None)?;
                (c.stream_count(), c.copied_packets)
            }
            None => (0, 0),
        };
        drop(copier);
        drop(encoder);
        let bytes = muxer.finish()?;
        Ok(OutputSummary {
            path: self.final_path.clone(),
            frames,
            bytes,
            codec: self.choice.codec.clone(),
            pix_fmt: pixel_name(self.choice.pix_fmt),
            copied_streams,
            copied_packets,
            alpha_dropped: self.choice.alpha_dropped,
        })
    }
}

/// Replaces the codec extradata of the muxer's video stream.
fn set_stream_extradata(muxer: &mut Muxer, extradata: &[u8]) -> Result<(), MediaError> {
    let path = muxer.partial.final_path().to_path_buf();
    let Some(mut ost) = muxer.octx.stream_mut(muxer.video_index) else {
        return Err(MediaError::other(&path, "the video stream is missing"));
    };
    // SAFETY: frees the stream's old extradata and installs a padded copy allocated with
    // av_mallocz, which avcodec_parameters_free later releases.
    unsafe {
        let par = (*ost.as_mut_ptr()).codecpar;
        let buf = ffi::av_mallocz(extradata.len() + ffi::AV_INPUT_BUFFER_PADDING_SIZE as usize)
            as *mut u8;
        if buf.is_null() {
            return Err(MediaError::other(
                &path,
                "out of memory for codec extradata",
            ));
        }
        std::ptr::copy_nonoverlapping(extradata.as_ptr(), buf, extradata.len());
        ffi::av_freep(&mut (*par).extradata as *mut *mut u8 as *mut std::ffi::c_void);
        (*par).extradata = buf;
        (*par).extradata_size = extradata.len() as i32;
    }
    Ok(())
}

impl FrameSink for SegmentedSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        if self.current.is_none() {
            self.current = Some(self.open_segment()?);
        }
        let pts = self.clock.stamp(&self.spec, &self.final_path, frame);
        let mut packets = std::mem::take(&mut self.packets);
        if let Some(seg) = self.current.as_mut() {
            seg.encoder.encode(frame, pts, &mut packets)?;
            seg.frames += 1;
        }
        self.packets = packets;
        self.store_packets()?;
        if self
            .current
            .as_ref()
            .is_some_and(|s| s.frames >= self.segment_frames)
        {
            self.close_segment()?;
        }
        Ok(())
    }

    fn end_passthrough_at(&mut self, input_s: f64) {
        self.passthrough_end_s = Some(input_s);
    }

    fn finish(mut self: Box<Self>) -> Result<OutputSummary, MediaError> {
        self.close_segment()?;
        if !self.join {
            // A chunk: its segments are complete on disk; another process joins them.
            return Ok(OutputSummary {
                path: self.dir.clone(),
                frames: self.records.iter().map(|r| r.frames).sum(),
                bytes: self.records.iter().map(|r| r.bytes).sum(),
                codec: self.choice.codec.clone(),
                pix_fmt: pixel_name(self.choice.pix_fmt),
                copied_streams: 0,
                copied_packets: 0,
                alpha_dropped: self.choice.alpha_dropped,
            });
        }
        if self.records.is_empty() {
            return Err(MediaError::InvalidOutput {
                path: self.final_path.clone(),
                reason: "no frames were written".into(),
            });
        }
        self.join()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_packets() -> Vec<StoredPacket> {
        vec![
            StoredPacket {
                pts: Some(0),
                dts: Some(-2),
                duration: 1,
                flags: 1,
                data: vec![1, 2, 3],
                side: vec![],
            },
            StoredPacket {
                pts: None,
                dts: None,
                duration: 0,
                flags: 0,
                data: vec![],
                side: vec![(SIDE_BLOCK_ADDITIONAL, vec![9, 9])],
            },
        ]
    }

    #[test]
    fn segment_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_file_name(3));
        let mut w = SegmentWriter::create(&path, (1, 90000), &[7, 7, 7]).unwrap();
        for p in sample_packets() {
            w.write_packet(&p).unwrap();
        }
        let bytes = w.commit(5).unwrap();
        assert!(!path.with_extension("upseg.partial").exists());
        let data = std::fs::read(&path).unwrap();
        assert_eq!(data.len() as u64, bytes);
        let c = parse_segment_bytes(&data).unwrap();
        assert_eq!(c.time_base, (1, 90000));
        assert_eq!(c.extradata, vec![7, 7, 7]);
        assert_eq!(c.packets, sample_packets());
        assert_eq!(c.frames, 5);
        // Every truncation is an error, never a panic or a short success.
        for cut in 0..data.len() {
            assert!(parse_segment_bytes(&data[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn uncommitted_segment_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment_file_name(0));
        {
            let mut w = SegmentWriter::create(&path, (1, 25), &[]).unwrap();
            w.write_packet(&sample_packets()[0]).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut data = MAGIC.to_vec();
        data.extend_from_slice(&1i32.to_le_bytes());
        data.extend_from_slice(&25i32.to_le_bytes());
        data.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_segment_bytes(&data).is_err());
        let mut bad_tb = MAGIC.to_vec();
        bad_tb.extend_from_slice(&0i32.to_le_bytes());
        bad_tb.extend_from_slice(&25i32.to_le_bytes());
        bad_tb.extend_from_slice(&0u32.to_le_bytes());
        assert!(parse_segment_bytes(&bad_tb).is_err());
    }
}
