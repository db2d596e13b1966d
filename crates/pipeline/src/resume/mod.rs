//! Resumable output for whole-file jobs: decides whether a job writes segments, builds the
//! job's key (input identity, every option that changes the output, the caller's own options
//! and model hashes), prepares the work directory through [`crate::resume::journal`], opens the
//! segmented sink with the segments already done, and tells the job how many output frames
//! to skip. After the final file is committed the work directory is removed.
//!
//! Video file outputs are segmented by default ([`SegmentOptions`]); one image or an image
//! sequence is written directly (there is nothing to join).

pub mod chunks;
pub mod journal;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use upframe_media::{
    check_output, is_video_file_output, open_segmented_sink, open_sink, FrameSink, MediaError,
    OutputSpec, SegmentPlan, SegmentRecord,
};

use self::chunks::{ChunkMode, Commit, CommittedChunk};
use self::journal::{InputIdentity, JobKey, SegmentEntry};
use crate::error::{JobError, JournalError};
use crate::job_spec::{Notice, VideoJob};

/// Seconds of output per segment when [`SegmentOptions::frames`] is not set: a crash loses at
/// most this much work, and joining costs one encoder start per segment.
pub const DEFAULT_SEGMENT_SECONDS: f64 = 10.0;

/// The sink a job writes to, and where a resumed job starts.
pub(crate) struct JobOutput {
    pub sink: Box<dyn FrameSink>,
    /// Output frames already in complete segments: the job computes and writes only the
    /// frames after them.
    pub skip_frames: u64,
    /// The job stops after this many output frames (a chunk's end; the join of all chunks
    /// stops at once). `None`: at the end of the input.
    pub stop_frames: Option<u64>,
    work_dir: Option<WorkDir>,
    /// A chunk: committed once its segments are complete.
    commit: Option<Commit>,
    /// The join of chunks: their directories, removed once the output is committed.
    joined: Option<(PathBuf, Vec<CommittedChunk>)>,
}

impl JobOutput {
    /// Whether every output frame the job is asked for is already done (no frame needs
    /// reading: the job only finishes, which joins or commits).
    pub fn nothing_to_make(&self) -> bool {
        self.stop_frames
            .is_some_and(|stop| stop <= self.skip_frames)
    }
}

/// A job's work directory while the job runs.
struct WorkDir {
    dir: PathBuf,
    /// Complete segments so far (earlier runs' and this one's).
    segments: Arc<AtomicU64>,
    /// Set once the final file is committed.
    finished: bool,
}

impl Drop for WorkDir {
    /// After success the directory has done its work; a job that fails or is interrupted
    /// before its first segment is complete leaves nothing worth resuming. Either way it goes.
    fn drop(&mut self) {
        if !self.finished && self.segments.load(Ordering::SeqCst) == 0 {
            let _ = journal::remove_work_dir(&self.dir);
        }
    }
}

impl JobOutput {
    fn plain(sink: Box<dyn FrameSink>) -> Self {
        JobOutput {
            sink,
            skip_frames: 0,
            stop_frames: None,
            work_dir: None,
            commit: None,
            joined: None,
        }
    }

    /// Finishes the sink (joining segments) and removes the work directory; a chunk is
    /// committed instead, and the join of chunks removes their directories.
    pub fn finish(self, notice: &Notice) -> Result<upframe_media::OutputSummary, JobError> {
        let JobOutput {
            sink,
            work_dir,
            commit,
            joined,
            ..
        } = self;
        let summary = sink.finish()?;
        if let Some(commit) = commit {
            commit.commit()?;
        }
        if let Some((dir, chunks)) = joined {
            if let Err(e) = chunks::remove_chunks(&dir, &chunks) {
                notice.say(&format!("warning: {e}"));
            }
        }
        if let Some(mut work) = work_dir {
            work.finished = true;
            // The output is complete and committed: a leftover directory is only untidy.
            if let Err(e) = journal::remove_work_dir(&work.dir) {
                notice.say(&format!("warning: {e}"));
            }
        }
        Ok(summary)
    }
}

/// Segment length for an output running at `fps`.
pub fn default_segment_frames(fps: f64) -> u64 {
    if fps.is_finite() && fps > 0.0 {
        (fps * DEFAULT_SEGMENT_SECONDS).round().max(1.0) as u64
    } else {
        250
    }
}

/// The key of `job`: its input's identity, its own options, then `extra` (the caller's).
fn job_key(
    job: &VideoJob,
    extra: &JobKey,
    processors: &[(String, String)],
    segment_frames: u64,
) -> Result<JobKey, JobError> {
    let mut key = JobKey::new();
    if job.input.is_file() {
        key = key.with_input(&InputIdentity::of(&job.input)?);
    } else {
        // A directory or pattern of frames: the names, sizes and mtimes of the files there.
        key.push("input.path", job.input.display().to_string());
        key.push("input.files_sha256", directory_fingerprint(&job.input));
    }
    // The caller's entries come before the job's own, so a change is described in the
    // caller's words (`option crf`) when both record it.
    key.entries.extend(extra.entries.iter().cloned());
    let d = &job.decode;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    key.push("job.start", opt(d.start_s.map(|v| v.to_string())));
    key.push("job.duration", opt(d.duration_s.map(|v| v.to_string())));
    key.push("job.frames", opt(d.max_frames.map(|v| v.to_string())));
    // Not the decode-error policy: segments completed under `Abort` decoded every frame they
    // cover, so `Skip` gives the same frames there, and a `Skip` run's segments resumed under
    // `Abort` re-decode the frames before the resume point, where a bad frame stops the job.
    // So an input found short at the end can be finished with `--on-decode-error skip` without
    // redoing the work.
    let (num, den) = d.sequence_frame_rate;
    key.push("job.sequence_fps", format!("{num}/{den}"));
    let e = &job.encode;
    key.push("job.codec", opt(e.codec.clone()));
    key.push("job.crf", opt(e.crf.map(|v| v.to_string())));
    key.push("job.bitrate", opt(e.bitrate.map(|v| v.to_string())));
    key.push("job.preset", opt(e.preset.clone()));
    key.push("job.pix_fmt", opt(e.pix_fmt.clone()));
    let encoder_options: Vec<String> = e.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
    key.push(
        "job.encoder_options",
        opt(Some(encoder_options.join(",")).filter(|o| !o.is_empty())),
    );
    key.push("job.audio", job.audio.to_string());
    key.push("job.subtitles", job.subtitles.to_string());
    key.push("job.segment_frames", segment_frames.to_string());
    key.push("upframe.version", env!("CARGO_PKG_VERSION"));
    key.push("ffmpeg.versions", upframe_media::library_versions());
    for (k, v) in processors {
        key.push(k.clone(), v.clone());
    }
    Ok(key)
}

/// Opens the output of `job` for frames described by `spec` at `output_fps`: segmented and
/// resumable for video files when `job.segments` is set, else a plain sink.
pub(crate) fn open_job_output(
    job: &VideoJob,
    spec: &OutputSpec,
    output_fps: f64,
    processors: &[(String, String)],
) -> Result<JobOutput, JobError> {
    let segments = match &job.segments {
        Some(s) if is_video_file_output(&job.output) && s.frames != Some(0) => s,
        _ => return Ok(JobOutput::plain(open_sink(&job.output, spec)?)),
    };
    // Refuse a clobbering or impossible output before any work directory appears.
    check_output(&job.output, job.overwrite, Some(&job.input))?;
    let segment_frames = segments
        .frames
        .unwrap_or_else(|| default_segment_frames(output_fps));
    let key = job_key(job, &segments.key, processors, segment_frames)?;
    match &segments.chunk {
        None => {}
        Some(ChunkMode::Run {
            work_dir,
            chunk,
            plan_id,
        }) => {
            let mut key = key;
            key.push("output.size", format!("{}x{}", spec.width, spec.height));
            key.push("output.channels", spec.channels.to_string());
            chunks::push_chunk_key(&mut key, plan_id, chunk);
            return open_chunk_output(job, spec, key, segment_frames, work_dir, chunk);
        }
        Some(ChunkMode::Join { work_dir, chunks }) => {
            return open_join_output(job, spec, segment_frames, work_dir, chunks);
        }
    }
    let state = journal::prepare(&job.output, &key, segments.restart)?;
    if !state.done.is_empty() {
        job.notice.say(&format!(
            "{}: resuming after {} complete segment{} ({} frames) in {}",
            job.output.display(),
            state.done.len(),
            if state.done.len() == 1 { "" } else { "s" },
            state.done_frames,
            state.dir.display()
        ));
    }
    let done: Vec<SegmentRecord> = state
        .done
        .iter()
        .map(|e| SegmentRecord {
            index: e.index,
            frames: e.frames,
            bytes: e.bytes,
            file: e.file.clone(),
        })
        .collect();
    let mut writer = state.writer;
    let output_path = job.output.clone();
    let segments = Arc::new(AtomicU64::new(state.done.len() as u64));
    // From here the guard owns the directory: a sink that cannot open leaves nothing behind
    // (unless earlier segments are worth resuming).
    let work_dir = WorkDir {
        dir: state.dir.clone(),
        segments: segments.clone(),
        finished: false,
    };
    let counted = segments;
    let plan = SegmentPlan {
        dir: state.dir,
        segment_frames,
        done,
        cancel: Some(job.cancel.clone()),
        first_segment: 0,
        join: true,
        on_segment: Box::new(move |r: &SegmentRecord| {
            writer
                .append(&SegmentEntry {
                    index: r.index,
                    frames: r.frames,
                    bytes: r.bytes,
                    file: r.file.clone(),
                })
                .map_err(|e| MediaError::Write {
                    path: output_path.clone(),
                    reason: e.to_string(),
                })?;
            counted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }),
    };
    let sink = open_segmented_sink(&job.output, spec, plan)?;
    Ok(JobOutput {
        sink,
        skip_frames: state.done_frames,
        stop_frames: None,
        work_dir: Some(work_dir),
        commit: None,
        joined: None,
    })
}

/// The output of one chunk: its segments in its own directory of the shared work directory,
/// resuming a partial run of the same chunk (one with another key is started over), stopping
/// at the chunk's end.
fn open_chunk_output(
    job: &VideoJob,
    spec: &OutputSpec,
    key: JobKey,
    segment_frames: u64,
    work_dir: &Path,
    chunk: &chunks::ChunkRange,
) -> Result<JobOutput, JobError> {
    let lock = chunks::ChunkLock::acquire(work_dir, chunk.index)?;
    let manifest = chunks::manifest_path(work_dir, chunk.index);
    if manifest.exists() {
        // Committed while this run waited to start: its segments are not touched.
        return Err(JournalError::ChunkCommitted { manifest }.into());
    }
    let name = chunks::chunk_output(work_dir, chunk.index);
    let state = match journal::prepare(&name, &key, false) {
        Err(JournalError::Changed { .. } | JournalError::Damaged { .. }) => {
            journal::prepare(&name, &key, true)?
        }
        other => other?,
    };
    let first = chunk.first_segment;
    let done: Vec<SegmentRecord> = state
        .done
        .iter()
        .map(|e| SegmentRecord {
            index: first + e.index,
            frames: e.frames,
            bytes: e.bytes,
            file: e.file.clone(),
        })
        .collect();
    if !done.is_empty() {
        job.notice.say(&format!(
            "chunk {}: resuming after {} complete segment{} in {}",
            chunk.index,
            done.len(),
            if done.len() == 1 { "" } else { "s" },
            state.dir.display()
        ));
    }
    let skip_frames = first * segment_frames + state.done_frames;
    // A short segment is the video's last: the chunk is complete.
    let ended = done.last().is_some_and(|r| r.frames < segment_frames);
    let stop_frames = if ended {
        Some(skip_frames)
    } else {
        chunk.end_segment.map(|e| e * segment_frames)
    };
    let mut writer = state.writer;
    let output_path = job.output.clone();
    let plan = SegmentPlan {
        dir: state.dir,
        segment_frames,
        done,
        cancel: Some(job.cancel.clone()),
        first_segment: first,
        join: false,
        on_segment: Box::new(move |r: &SegmentRecord| {
            writer
                .append(&SegmentEntry {
                    index: r.index - first,
                    frames: r.frames,
                    bytes: r.bytes,
                    file: r.file.clone(),
                })
                .map_err(|e| MediaError::Write {
                    path: output_path.clone(),
                    reason: e.to_string(),
                })
        }),
    };
    let sink = open_segmented_sink(&job.output, spec, plan)?;
    Ok(JobOutput {
        sink,
        skip_frames,
        stop_frames,
        work_dir: None,
        commit: Some(Commit {
            lock,
            work_dir: work_dir.to_path_buf(),
            index: chunk.index,
        }),
        joined: None,
    })
}

/// The join of every chunk ([`chunks::verify`]'s result) into the job's output, with the
/// output shape the chunks recorded (the join runs no processor).
fn open_join_output(
    job: &VideoJob,
    spec: &OutputSpec,
    segment_frames: u64,
    work_dir: &Path,
    committed: &[CommittedChunk],
) -> Result<JobOutput, JobError> {
    let mut spec = spec.clone();
    if let Some(first) = committed.first() {
        let bad = |what: &str| JournalError::InvalidKey {
            dir: chunks::chunk_dir(work_dir, first.range.index),
            reason: format!("the chunk records no {what}"),
        };
        let size = first
            .key
            .get("output.size")
            .ok_or_else(|| bad("output.size"))?;
        let (w, h) = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .ok_or_else(|| bad("valid output.size"))?;
        let channels = first
            .key
            .get("output.channels")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| bad("output.channels"))?;
        spec.width = w;
        spec.height = h;
        spec.channels = channels;
    }
    let mut done = Vec::new();
    for c in committed {
        let dir_name = chunks::chunk_dir(work_dir, c.range.index)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (i, s) in c.segments.iter().enumerate() {
            done.push(SegmentRecord {
                index: c.range.first_segment + i as u64,
                frames: s.frames,
                bytes: s.bytes,
                file: format!("{dir_name}/{}", s.file),
            });
        }
    }
    let total: u64 = done.iter().map(|r| r.frames).sum();
    let plan = SegmentPlan {
        dir: work_dir.to_path_buf(),
        segment_frames,
        done,
        cancel: Some(job.cancel.clone()),
        first_segment: 0,
        join: true,
        on_segment: Box::new(|_: &SegmentRecord| Ok(())),
    };
    let sink = open_segmented_sink(&job.output, &spec, plan)?;
    Ok(JobOutput {
        sink,
        skip_frames: total,
        stop_frames: Some(total),
        work_dir: None,
        commit: None,
        joined: Some((work_dir.to_path_buf(), committed.to_vec())),
    })
}

/// Refuses an input inside the work directory `output`'s job would use: preparing it removes
/// every file there that the journal does not list.
pub(crate) fn check_input_outside_work_dir(input: &Path, output: &Path) -> Result<(), MediaError> {
    let Ok(work) = journal::work_dir_for(output).canonicalize() else {
        return Ok(());
    };
    let input_abs = input
        .canonicalize()
        .or_else(|_| {
            // A pattern: its folder.
            input
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .canonicalize()
        })
        .unwrap_or_else(|_| input.to_path_buf());
    if input_abs.starts_with(&work) {
        return Err(MediaError::OutputIsInput {
            path: output.to_path_buf(),
            reason: format!(
                "the input {} is inside the work directory {} this output uses",
                input.display(),
                work.display()
            ),
        });
    }
    Ok(())
}

/// The complete segments an interrupted or failed job left in its work directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptSegments {
    pub segments: usize,
    pub frames: u64,
    pub dir: PathBuf,
}

impl fmt::Display for KeptSegments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} complete segment{} ({} frames) kept in {}",
            self.segments,
            if self.segments == 1 { "" } else { "s" },
            self.frames,
            self.dir.display()
        )
    }
}

/// What `output`'s work directory holds for a re-run: `None` when there is no work directory
/// with complete segments.
pub fn kept_segments(output: &Path) -> Option<KeptSegments> {
    let dir = journal::work_dir_for(output);
    let text = std::fs::read_to_string(dir.join(journal::JOURNAL_FILE)).ok()?;
    let journal = journal::Journal::parse(&text).ok()?;
    let segments = journal.segments.len();
    if segments == 0 {
        return None;
    }
    Some(KeptSegments {
        segments,
        frames: journal.segments.iter().map(|s| s.frames).sum(),
        dir,
    })
}

/// What an interrupted or failed job left for a re-run, as a phrase for the user: `None` when
/// `output` has no work directory with complete segments.
pub fn resume_hint(output: &Path) -> Option<String> {
    kept_segments(output).map(|kept| {
        format!("{kept}; run the same command again to resume, or add --restart to start over")
    })
}

/// SHA-256 over the sorted (name, size, mtime) of the files in `input` (a directory) or in the
/// directory of `input` (a pattern): replaced, added or removed frames change it.
fn directory_fingerprint(input: &Path) -> String {
    use sha2::{Digest, Sha256};
    let dir = if input.is_dir() {
        input.to_path_buf()
    } else {
        match input.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let mut entries: Vec<(String, u64, u128)> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    if !m.is_file() {
                        return None;
                    }
                    let mtime = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    Some((e.file_name().to_string_lossy().into_owned(), m.len(), mtime))
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    let mut h = Sha256::new();
    for (name, size, mtime) in &entries {
        h.update(format!("{name}\0{size}\0{mtime}\n").as_bytes());
    }
    journal::hex(&h.finalize())
}
