//! Resume by seeking: where a resumed job's first frame is, without decoding what comes before.
//!
//! A frame's *index* is its position in a straight decode of the window (what
//! [`FrameSource::next_frame`](crate::FrameSource::next_frame) hands out from the start). Two
//! things are built here:
//!
//! - [`PacketTimes`]: the presentation timestamps of the window's frames in order, read from the
//!   video packets alone (demuxing, no decoding). Under the decode policy `Abort`, a straight
//!   decode gives one picture per packet and stamps each picture with the smallest timestamp
//!   among the packets not yet given a picture (see the `source` module docs): that is the
//!   packets' timestamps sorted, which is what this yields. Where that cannot be told from the
//!   packets (a packet without a timestamp, two with the same one, decode timestamps that do
//!   not increase, a reorder deeper than the decode timestamps allow, packets the decoder is
//!   told to discard, pictures before the first keyframe that a decoder may drop) it says so
//!   with an error instead of guessing.
//! - [`VideoFileSource::seek_to_frame_exact`]: the timestamp `T` of frame `n` from those
//!   times; a seek of the demuxer to the keyframe at or before `T` (avformat's seek with `T` as
//!   the latest timestamp allowed; a keyframe whose own picture comes after `T`, as with
//!   B-frames in MP4, sends it one keyframe back); then pictures are decoded, not converted,
//!   up to the one stamped `T`, which becomes frame `n`. Every picture decoded after the seek
//!   is checked against the packet times: each must be the next frame of the window in order
//!   (open-GOP leading pictures the decoder drops after a seek are before `T` and are not
//!   counted as losses, as for `--start`). Any disagreement, decode error or demuxer that cannot
//!   seek falls back to what a resumed job did before: reopen the input and decode every frame
//!   up to `n`, so the frame handed out is always the straight decode's frame `n`.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ffmpeg_next::format::context::Input;

use super::VideoFileSource;
use crate::error::{one_line, MediaError};
use crate::ff;
use crate::types::{DecodeErrorPolicy, DecodeOptions, SeekReport};
use crate::FrameSource;

/// Pictures a decoder may hold back for reordering when the packets carry no decode
/// timestamps (H.264 and HEVC allow at most 16).
const REORDER_LIMIT: usize = 32;

/// Seeks tried before falling back to decoding from the start, each from further back: the
/// first retry half a second before where the previous one landed, then twice as far each
/// time (indexed containers land on a keyframe before that; MPEG-TS on any packet).
const SEEK_ATTEMPTS: usize = 7;

/// The timestamps of a source's frames in order (frame 0 first), told without decoding them
/// ([`FrameSource::frame_times`]): a resumed job finds the frame it restarts from with them.
pub struct FrameTimes(Times);

enum Times {
    Packets(Box<PacketTimes>),
    /// Frame `i` at timestamp `i` (image sequences), `end` frames.
    Counted {
        next: u64,
        end: u64,
    },
}

impl FrameTimes {
    pub(crate) fn packets(times: PacketTimes) -> Self {
        FrameTimes(Times::Packets(Box::new(times)))
    }

    /// `frames` frames, frame `i` at timestamp `i` (an image sequence's).
    pub fn counted(frames: u64) -> Self {
        FrameTimes(Times::Counted {
            next: 0,
            end: frames,
        })
    }

    /// The next frame's timestamp (the source's time base), `None` after the last frame. An
    /// error means the timestamps cannot be told without decoding (see the `seek` module
    /// docs) or the input cannot be read: decode instead.
    pub fn next_pts(&mut self) -> Result<Option<i64>, MediaError> {
        match &mut self.0 {
            Times::Packets(p) => p.next_pts(),
            Times::Counted { next, end } => Ok((*next < *end).then(|| {
                *next += 1;
                *next as i64 - 1
            })),
        }
    }
}

/// The window's frame timestamps in presentation order, from packet timestamps alone (see
/// the module docs).
pub(crate) struct PacketTimes {
    path: PathBuf,
    input: Input,
    stream: usize,
    start_ts: Option<i64>,
    end_ts: Option<i64>,
    max_frames: Option<u64>,
    /// Timestamps read whose place in presentation order is not known yet.
    pending: BTreeSet<i64>,
    /// Timestamps whose place is known, in order, not handed out yet.
    ready: VecDeque<i64>,
    /// The largest timestamp moved to `ready`: every later packet must come after it.
    last_final: Option<i64>,
    last_dts: Option<i64>,
    /// Whether every packet so far had a decode timestamp.
    have_dts: bool,
    /// Presentation timestamp of the first packet (a keyframe): pictures before it may be
    /// dropped by the decoder.
    first_key_pts: Option<i64>,
    eof: bool,
    /// Frames of the window handed out.
    emitted: u64,
}

impl PacketTimes {
    /// Opens `path` a second time, positioned as [`VideoFileSource::open`] positions it.
    pub(crate) fn open(
        path: &Path,
        opts: &DecodeOptions,
        stream: usize,
        time_base: (i32, i32),
    ) -> Result<Self, MediaError> {
        let mut input = ff::open_input(path)?;
        let start_ts = opts
            .start_s
            .filter(|s| *s > 0.0)
            .map(|s| ff::s_to_ts(s, time_base));
        let end_ts = opts
            .duration_s
            .map(|d| ff::s_to_ts(opts.start_s.unwrap_or(0.0).max(0.0) + d, time_base));
        if let Some(s) = opts.start_s.filter(|s| *s > 0.0) {
            // The same seek as the source's, so the same packets follow.
            let target = (s * ffmpeg_next::ffi::AV_TIME_BASE as f64) as i64;
            input
                .seek(target, ..target)
                .map_err(|e| unreliable(path, format!("seek to --start failed ({e})")))?;
        }
        Ok(PacketTimes {
            path: path.to_path_buf(),
            input,
            stream,
            start_ts,
            end_ts,
            max_frames: opts.max_frames,
            pending: BTreeSet::new(),
            ready: VecDeque::new(),
            last_final: None,
            last_dts: None,
            have_dts: true,
            first_key_pts: None,
            eof: false,
            emitted: 0,
        })
    }

    /// The next frame's timestamp, `None` after the window's last frame.
    pub(crate) fn next_pts(&mut self) -> Result<Option<i64>, MediaError> {
        if self.max_frames.is_some_and(|m| self.emitted >= m) {
            return Ok(None);
        }
        loop {
            if let Some(p) = self.ready.pop_front() {
                if self.start_ts.is_some_and(|s| p < s) {
                    continue;
                }
                if self.end_ts.is_some_and(|e| p >= e) {
                    self.max_frames = Some(self.emitted);
                    return Ok(None);
                }
                if self.first_key_pts.is_some_and(|k| p < k) {
                    return Err(unreliable(
                        &self.path,
                        format!("frame at {p} comes before the first keyframe"),
                    ));
                }
                self.emitted += 1;
                return Ok(Some(p));
            }
            if self.eof {
                return Ok(None);
            }
            self.read_packet()?;
        }
    }

    /// Reads one video packet (or the end) and moves the timestamps whose place it settles.
    fn read_packet(&mut self) -> Result<(), MediaError> {
        let mut packet = ffmpeg_next::Packet::empty();
        loop {
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() != self.stream => continue,
                Ok(()) => break,
                Err(ffmpeg_next::Error::Eof) => {
                    self.eof = true;
                    self.ready.extend(std::mem::take(&mut self.pending));
                    return Ok(());
                }
                Err(e) => {
                    return Err(unreliable(&self.path, format!("the demuxer stopped ({e})")));
                }
            }
        }
        // SAFETY: a plain field read of the packet just filled.
        let discard = unsafe { (*ffmpeg_next::packet::Ref::as_ptr(&packet)).flags }
            & ffmpeg_next::ffi::AV_PKT_FLAG_DISCARD
            != 0;
        if discard || packet.is_corrupt() {
            return Err(unreliable(
                &self.path,
                "a packet is marked discard or corrupt",
            ));
        }
        let Some(pts) = packet.pts() else {
            return Err(unreliable(&self.path, "a packet has no timestamp"));
        };
        if self.first_key_pts.is_none() {
            if !packet.is_key() {
                return Err(unreliable(&self.path, "the first packet is not a keyframe"));
            }
            self.first_key_pts = Some(pts);
        }
        if self.last_final.is_some_and(|f| pts <= f) || !self.pending.insert(pts) {
            return Err(unreliable(
                &self.path,
                format!("packet timestamp {pts} repeats or comes too late"),
            ));
        }
        match packet.dts() {
            Some(dts) if self.have_dts => {
                if self.last_dts.is_some_and(|d| dts <= d) || dts > pts {
                    return Err(unreliable(
                        &self.path,
                        format!("decode timestamp {dts} does not increase or follows its pts"),
                    ));
                }
                self.last_dts = Some(dts);
                // Every later packet has pts >= its dts > this one's dts.
                while let Some(&p) = self.pending.first() {
                    if p > dts {
                        break;
                    }
                    self.settle(p);
                }
            }
            _ => {
                self.have_dts = false;
                while self.pending.len() > REORDER_LIMIT {
                    if let Some(&p) = self.pending.first() {
                        self.settle(p);
                    }
                }
            }
        }
        Ok(())
    }

    fn settle(&mut self, p: i64) {
        self.pending.remove(&p);
        self.ready.push_back(p);
        self.last_final = Some(p);
    }
}

fn unreliable(path: &Path, reason: impl Into<String>) -> MediaError {
    MediaError::Unsupported {
        path: path.to_path_buf(),
        what: "frame timestamps without decoding".into(),
        reason: reason.into(),
    }
}

impl VideoFileSource {
    /// Positions the source so that the next frame handed out is frame `n` of a straight
    /// decode (see the module docs); `cancel` stops a fallback decode.
    pub(super) fn seek_to_frame_exact(
        &mut self,
        n: u64,
        cancel: &AtomicBool,
    ) -> Result<SeekReport, MediaError> {
        if n == 0 && self.produced == 0 {
            return Ok(SeekReport::default());
        }
        let decoded_at_start = self.decoded_count;
        match self.try_seek(n) {
            Ok(()) => Ok(SeekReport {
                seeked: true,
                frames_decoded: (self.decoded_count - decoded_at_start).saturating_sub(1),
                fallback: None,
            }),
            Err(reason) => {
                tracing::debug!(
                    "{}: no seek to frame {n} ({reason}); decoding from the start",
                    self.path.display()
                );
                let tried = self.decoded_count - decoded_at_start;
                let mut fresh = VideoFileSource::open(&self.path, &self.opts)?;
                let mut read = 0;
                while read < n {
                    if cancel.load(Ordering::Relaxed) {
                        return Err(MediaError::Interrupted {
                            path: self.path.clone(),
                        });
                    }
                    match fresh.skip_frame()? {
                        Some(_) => read += 1,
                        None => break,
                    }
                }
                *self = fresh;
                Ok(SeekReport {
                    seeked: false,
                    frames_decoded: tried + self.decoded_count,
                    fallback: Some(reason),
                })
            }
        }
    }

    /// The seek itself; `Err` says why it cannot be frame-exact here (the caller falls back).
    fn try_seek(&mut self, n: u64) -> Result<(), String> {
        if self.opts.on_decode_error != DecodeErrorPolicy::Abort {
            return Err(
                "under --on-decode-error skip, frames before it may have been dropped".into(),
            );
        }
        let mut times = PacketTimes::open(
            &self.path,
            &self.opts,
            self.info.stream_index,
            self.info.time_base,
        )
        .map_err(|e| e.to_string())?;
        let wanted = usize::try_from(n).map_err(|_| "frame index too large".to_string())?;
        let mut list = Vec::with_capacity(wanted + 1);
        while list.len() <= wanted {
            match times.next_pts() {
                Ok(Some(p)) => list.push(p),
                Ok(None) => return Err(format!("the window holds fewer than {} frames", n + 1)),
                Err(e) => return Err(e.to_string()),
            }
        }
        drop(times);
        let target = list[wanted];
        let mut latest = target;
        let mut back = ff::s_to_ts(0.5, self.info.time_base).max(1);
        for _ in 0..SEEK_ATTEMPTS {
            self.reset_for_seek();
            // SAFETY: the context is open and owned by `self.input`; the stream index exists.
            let rc = unsafe {
                ffmpeg_next::ffi::avformat_seek_file(
                    self.input.as_mut_ptr(),
                    self.info.stream_index as i32,
                    i64::MIN,
                    latest,
                    latest,
                    0,
                )
            };
            if rc < 0 {
                return Err(format!(
                    "the demuxer cannot seek ({})",
                    one_line(&ffmpeg_next::Error::from(rc).to_string())
                ));
            }
            let mut previous: Option<usize> = None;
            loop {
                let frame = match self.decode_next(false) {
                    Ok(Some(f)) => f,
                    // Nothing decoded from the keyframe found up to the end (an open GOP's
                    // last keyframe and its leading pictures): from further back.
                    Ok(None) | Err(_) if previous.is_none() => break,
                    Ok(None) => return Err("the stream ended after the seek".into()),
                    Err(e) => return Err(format!("decoding after the seek: {e}")),
                };
                let pts = frame.pts.unwrap_or(i64::MIN);
                // Pictures before the keyframe the seek found (its leading pictures, or what
                // came before it) are not compared: none of them is the target.
                if self.seek_key.is_none_or(|k| pts < k) {
                    continue;
                }
                if pts > target && previous.is_none() {
                    // The keyframe found shows its picture after the target (its decode time
                    // was before it): one keyframe earlier.
                    break;
                }
                // Each picture must carry its own packet's timestamp (no picture went missing
                // in between) and be the window's next frame.
                if self.decoded.pts() != Some(pts) {
                    return Err(format!(
                        "the picture stamped {pts} after the seek is its packet's {:?}",
                        self.decoded.pts()
                    ));
                }
                let Ok(j) = list.binary_search(&pts) else {
                    return Err(format!(
                        "a picture at {pts} after the seek is not among the packet timestamps"
                    ));
                };
                if let Some(i) = previous {
                    if j != i + 1 {
                        return Err(format!(
                            "pictures after the seek skip from frame {i} to {j}"
                        ));
                    }
                }
                previous = Some(j);
                if j == wanted {
                    self.produced = n;
                    let frame = self.convert(pts).map_err(|e| e.to_string())?;
                    self.produced = n + 1;
                    self.first_pts = list.first().copied();
                    self.peeked = Some(frame);
                    // A straight decode holds no earlier timestamp at this point.
                    self.pending_pts = self.pending_pts.split_off(&(target + 1));
                    return Ok(());
                }
            }
            let first = self.first_packet_ts.unwrap_or(latest).min(latest);
            latest = first.saturating_sub(back);
            back = back.saturating_mul(2);
        }
        Err("no keyframe at or before it was found".into())
    }

    /// Whether a decoder error on the packet at `pts` only comes from a seek (to `--start`, or
    /// a resume seek): the packet is before the first keyframe read since, or is that
    /// keyframe or one of its leading pictures (at or before it in presentation order, after
    /// it in decode order), whose references before the keyframe were not decoded (an open
    /// GOP's recovery point; H.264 MMCO and missing-reference errors). The decoder drops
    /// such a picture. Pictures after the keyframe must decode without error. A resume
    /// seek then checks that the pictures it counts are all there (a dropped picture is a
    /// gap: it falls back), and a straight decode read them without error, or the run being
    /// resumed would have stopped there.
    pub(super) fn is_seek_artefact(&self, pts: Option<i64>) -> bool {
        self.after_seek
            && match (self.seek_key, pts) {
                // Packets before the first keyframe (a demuxer that lands before one).
                (None, _) => true,
                (Some(key), Some(p)) => p <= key,
                (Some(_), None) => false,
            }
    }

    /// Forgets everything decoded so far, as after opening (the demuxer is positioned next).
    fn reset_for_seek(&mut self) {
        self.decoder.flush();
        let _ = self.take_log();
        self.pending_pts.clear();
        self.packets_have_pts = true;
        self.seeked = true;
        self.input_done = false;
        self.finished = false;
        self.last_pts = None;
        self.first_pts = None;
        self.peeked = None;
        self.produced = 0;
        self.skipped = 0;
        self.damaged_tail = None;
        self.short = None;
        self.first_packet_ts = None;
        self.after_seek = true;
        self.seek_key = None;
    }
}
