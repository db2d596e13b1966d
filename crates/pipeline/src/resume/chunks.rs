//! One segmented job cut into chunks that run on many machines: the bookkeeping of a shared
//! work directory.
//!
//! A video job's output is already a sequence of independently encoded segments of
//! `segment_frames` output frames ([`crate::resume`]). A *chunk* is a contiguous range of
//! segment indices; chunk `K` is the ordinary job restricted to its range: it starts at its
//! first segment the way a resumed job does (seeking, and for interpolation rebuilding the
//! time grid from the global position), stops after its last segment, and writes its segments
//! into its own directory `WORK/.chunk-0000K.upframe-work/` with its own journal (so a partial
//! chunk resumes, and a run with another setup starts it over). When the range is written, the
//! chunk is *committed*: its journal is copied to `WORK/chunk-0000K.done` by an exclusive
//! create (a hard link of a complete temporary file, which works over NFS), while the chunk's
//! lock `WORK/chunk-0000K.lock` is held, so two workers on one chunk cannot both commit.
//! [`verify`] checks every chunk of a plan before the join; the join is the job's ordinary
//! final join over all chunks' segments ([`ChunkMode::Join`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::error::JournalError;
use crate::resume::journal::{self, JobKey, Journal, JOURNAL_FILE};

pub use crate::job_spec::{ChunkMode, ChunkRange, CommittedChunk};

/// Why the chunks of a plan cannot be joined (or one cannot be read). Each renders as one
/// line naming the chunk.
#[derive(Debug, Error)]
pub enum ChunkError {
    #[error("chunk {index} is missing: {} does not exist (run `upframe run-chunk PLAN --chunk {index}`)", .path.display())]
    Missing { index: usize, path: PathBuf },
    #[error("chunk {index} ({}) belongs to another plan: {what}", .path.display())]
    Foreign {
        index: usize,
        path: PathBuf,
        what: String,
    },
    #[error("chunk {index} is damaged: {}: {reason}", .path.display())]
    Damaged {
        index: usize,
        path: PathBuf,
        reason: String,
    },
    #[error("chunk {index} does not fit the other chunks: {what}")]
    Inconsistent { index: usize, what: String },
}

/// `chunk-00003`.
pub fn chunk_name(index: usize) -> String {
    format!("chunk-{index:05}")
}

/// The directory that holds chunk `index`'s segments and journal.
pub fn chunk_dir(work_dir: &Path, index: usize) -> PathBuf {
    journal::work_dir_for(&chunk_output(work_dir, index))
}

/// The name the chunk's journal is prepared for ([`journal::prepare`] puts the directory
/// beside it): never a file.
pub(crate) fn chunk_output(work_dir: &Path, index: usize) -> PathBuf {
    work_dir.join(chunk_name(index))
}

/// The committed chunk's manifest.
pub fn manifest_path(work_dir: &Path, index: usize) -> PathBuf {
    work_dir.join(format!("{}.done", chunk_name(index)))
}

fn lock_path(work_dir: &Path, index: usize) -> PathBuf {
    work_dir.join(format!("{}.lock", chunk_name(index)))
}

/// The key entries that tie a chunk to its plan and range.
pub(crate) fn push_chunk_key(key: &mut JobKey, plan_id: &str, chunk: &ChunkRange) {
    key.push("chunk.plan", plan_id);
    key.push("chunk.index", chunk.index.to_string());
    key.push("chunk.first_segment", chunk.first_segment.to_string());
    key.push(
        "chunk.end_segment",
        chunk
            .end_segment
            .map_or_else(|| "end".to_string(), |e| e.to_string()),
    );
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// The exclusive right to run and commit one chunk, held while the chunk runs (released when
/// dropped, or by the kernel when the process dies).
#[derive(Debug)]
pub(crate) struct ChunkLock {
    _file: File,
}

impl ChunkLock {
    pub(crate) fn acquire(work_dir: &Path, index: usize) -> Result<Self, JournalError> {
        fs::create_dir_all(work_dir).map_err(io_err(work_dir, "create the work directory"))?;
        let path = lock_path(work_dir, index);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path, "open"))?;
        match file.try_lock() {
            Ok(()) => Ok(ChunkLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(JournalError::Busy {
                dir: chunk_dir(work_dir, index),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path, "lock")(e)),
        }
    }
}

/// What commits a chunk once its segments are written.
#[derive(Debug)]
pub(crate) struct Commit {
    pub lock: ChunkLock,
    pub work_dir: PathBuf,
    pub index: usize,
}

impl Commit {
    /// Copies the chunk's journal to its manifest by an exclusive create. A manifest already
    /// there with the same text (another run committed the same segments) is success; any
    /// other is refused.
    pub(crate) fn commit(self) -> Result<(), JournalError> {
        let dir = chunk_dir(&self.work_dir, self.index);
        let journal_path = dir.join(JOURNAL_FILE);
        let text = fs::read_to_string(&journal_path).map_err(io_err(&journal_path, "read"))?;
        let manifest = manifest_path(&self.work_dir, self.index);
        let tmp = self.work_dir.join(format!(
            "{}.done.tmp-{}",
            chunk_name(self.index),
            std::process::id()
        ));
        {
            let mut f = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
            f.write_all(text.as_bytes())
                .map_err(io_err(&tmp, "write"))?;
            f.sync_all().map_err(io_err(&tmp, "sync"))?;
        }
        let linked = fs::hard_link(&tmp, &manifest);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let existing = fs::read_to_string(&manifest).unwrap_or_default();
                if existing != text {
                    return Err(JournalError::ChunkCommitted { manifest });
                }
            }
            Err(e) => return Err(io_err(&manifest, "create")(e)),
        }
        if let Ok(d) = File::open(&self.work_dir) {
            let _ = d.sync_all();
        }
        drop(self.lock);
        Ok(())
    }
}

/// Reads chunk `range`'s manifest: `None` when the chunk is not committed; an error when the
/// manifest is damaged, belongs to another plan or range, or a segment it lists is missing or
/// of another size.
pub fn read_manifest(
    work_dir: &Path,
    range: &ChunkRange,
    plan_id: &str,
) -> Result<Option<CommittedChunk>, ChunkError> {
    let index = range.index;
    let path = manifest_path(work_dir, index);
    let text = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ChunkError::Damaged {
                index,
                path,
                reason: crate::error::one_line(&e.to_string()),
            })
        }
    };
    let damaged = |reason: String| ChunkError::Damaged {
        index,
        path: path.clone(),
        reason,
    };
    let text = String::from_utf8(text).map_err(|_| damaged("not UTF-8 text".into()))?;
    if !text.ends_with('\n') {
        return Err(damaged("it is truncated".into()));
    }
    let journal = Journal::parse(&text).map_err(damaged)?;
    let foreign = |what: String| ChunkError::Foreign {
        index,
        path: path.clone(),
        what,
    };
    match journal.key.get("chunk.plan") {
        Some(id) if id == plan_id => {}
        Some(id) => {
            return Err(foreign(format!(
                "it was made for plan {} ({} job), this plan is {}",
                &id[..id.len().min(12)],
                journal.key.get("command").unwrap_or("another"),
                &plan_id[..plan_id.len().min(12)]
            )));
        }
        None => return Err(damaged("it names no plan".into())),
    }
    let mut expected = JobKey::new();
    push_chunk_key(&mut expected, plan_id, range);
    for (k, v) in &expected.entries {
        if journal.key.get(k) != Some(v.as_str()) {
            return Err(foreign(format!(
                "{k} is {} where the plan says {v}",
                journal.key.get(k).unwrap_or("missing")
            )));
        }
    }
    if let Some(end) = range.end_segment {
        let most = end.saturating_sub(range.first_segment);
        if journal.segments.len() as u64 > most {
            return Err(damaged(format!(
                "{} segments where the chunk has {most}",
                journal.segments.len()
            )));
        }
    }
    let dir = chunk_dir(work_dir, index);
    for (i, seg) in journal.segments.iter().enumerate() {
        let want = journal::segment_file_name(range.first_segment + i as u64);
        if seg.file != want {
            return Err(damaged(format!(
                "segment {i} is {} where {want} was expected",
                seg.file
            )));
        }
        let file = dir.join(&seg.file);
        match fs::symlink_metadata(&file) {
            Ok(m) if m.is_file() && m.len() == seg.bytes => {}
            Ok(m) => {
                return Err(ChunkError::Damaged {
                    index,
                    path: file,
                    reason: format!("{} bytes where the manifest says {}", m.len(), seg.bytes),
                })
            }
            Err(_) => {
                return Err(ChunkError::Damaged {
                    index,
                    path: file,
                    reason: "the segment file is missing".into(),
                })
            }
        }
    }
    Ok(Some(CommittedChunk {
        range: range.clone(),
        key: journal.key,
        segments: journal.segments,
    }))
}

/// The entries of `key` that every chunk of one job shares (the `chunk.*` ones left out).
fn shared_entries(key: &JobKey) -> JobKey {
    JobKey {
        entries: key
            .entries
            .iter()
            .filter(|(k, _)| !k.starts_with("chunk."))
            .cloned()
            .collect(),
    }
}

/// Checks that every chunk of the plan is committed and that together they are one job's
/// output: the same key (input, options, models, precision, device, output shape), full
/// segments of `segment_frames` frames up to the video's end, nothing after it.
pub fn verify(
    work_dir: &Path,
    ranges: &[ChunkRange],
    plan_id: &str,
    segment_frames: u64,
) -> Result<Vec<CommittedChunk>, ChunkError> {
    let mut chunks = Vec::with_capacity(ranges.len());
    for range in ranges {
        match read_manifest(work_dir, range, plan_id)? {
            Some(c) => chunks.push(c),
            None => {
                return Err(ChunkError::Missing {
                    index: range.index,
                    path: manifest_path(work_dir, range.index),
                })
            }
        }
    }
    let Some(first) = chunks.first() else {
        return Err(ChunkError::Inconsistent {
            index: 0,
            what: "the plan has no chunks".into(),
        });
    };
    let shared = shared_entries(&first.key);
    let mut ended_in: Option<usize> = None;
    for c in &chunks {
        let index = c.range.index;
        if let Some(what) = shared.describe_change(&shared_entries(&c.key)) {
            return Err(ChunkError::Inconsistent {
                index,
                what: format!(
                    "made with another setup than chunk {}: {what}",
                    first.range.index
                ),
            });
        }
        if let Some(end_chunk) = ended_in {
            if !c.segments.is_empty() {
                return Err(ChunkError::Inconsistent {
                    index,
                    what: format!("it holds frames after the video's end in chunk {end_chunk}"),
                });
            }
            continue;
        }
        let full = c
            .range
            .end_segment
            .map(|e| e.saturating_sub(c.range.first_segment));
        for (i, s) in c.segments.iter().enumerate() {
            let last = i + 1 == c.segments.len();
            if s.frames > segment_frames || (!last && s.frames != segment_frames) || s.frames == 0 {
                return Err(ChunkError::Damaged {
                    index,
                    path: chunk_dir(work_dir, index).join(&s.file),
                    reason: format!("{} frames in a segment of {segment_frames}", s.frames),
                });
            }
        }
        let short = c.segments.last().is_some_and(|s| s.frames < segment_frames)
            || full.is_some_and(|n| (c.segments.len() as u64) < n)
            || full.is_none();
        if short {
            ended_in = Some(index);
        }
    }
    if ended_in.is_none() {
        // Only the last chunk runs to the end of the video.
        let last = chunks.last().map_or(0, |c| c.range.index);
        return Err(ChunkError::Inconsistent {
            index: last,
            what: "the chunks do not reach the end of the video".into(),
        });
    }
    if chunks.iter().all(|c| c.segments.is_empty()) {
        return Err(ChunkError::Inconsistent {
            index: 0,
            what: "no chunk holds any frame".into(),
        });
    }
    Ok(chunks)
}

/// Removes the chunks' directories, manifests and locks (after the joined output is
/// committed), then `work_dir` itself when nothing else is left in it.
pub(crate) fn remove_chunks(
    work_dir: &Path,
    chunks: &[CommittedChunk],
) -> Result<(), JournalError> {
    for c in chunks {
        let index = c.range.index;
        journal::remove_work_dir(&chunk_dir(work_dir, index))?;
        for path in [manifest_path(work_dir, index), lock_path(work_dir, index)] {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path, "remove")(e)),
            }
        }
    }
    // Not empty (the user's own files): kept.
    let _ = fs::remove_dir(work_dir);
    Ok(())
}
