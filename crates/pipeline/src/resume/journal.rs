//! The resume journal of segmented output.
//!
//! A long job writes its video as numbered segment files in a work directory beside the output
//! (`/x/out.mp4` → `/x/.out.mp4.upframe-work/`, [`work_dir_for`]). This module owns that
//! directory and the two bookkeeping files in it:
//!
//! - `journal.txt`: what the job is (a [`JobKey`]: input identity, options, model hash) and which
//!   segments are complete, in a line-based text format ([`Journal`]);
//! - `lock`: held with an exclusive lock by the running job ([`JournalWriter`]), so a second run
//!   on the same output fails with [`JournalError::Busy`] instead of interleaving segments.
//!
//! [`prepare`] opens or creates the directory and decides what can be reused: a re-run of the
//! same command resumes after the last complete segment; a changed input, option or model
//! refuses to resume and says what changed (the user passes `--restart` to start over). The
//! segment files themselves are written by `upframe-media`; the job appends a segment to the
//! journal ([`JournalWriter::append`]) only after that file is complete and synced.
//!
//! Journal format (UTF-8, one record per line, each ending with `\n`):
//!
//! ```text
//! upframe-journal 1
//! key input.size=123
//! key option.scale=2
//! segment 0 240 123456 seg-000000.upseg
//! segment 1 240 130001 seg-000001.upseg
//! ```
//!
//! `segment INDEX FRAMES BYTES FILE`, indices 0, 1, 2… in order. A last line without its `\n`
//! (a crash while appending) is ignored.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

pub use crate::error::JournalError;
use crate::job_key::{check_key_name, check_key_value, shorten};
pub use crate::job_key::{JobKey, SegmentEntry};

/// The first line of every journal.
const HEADER: &str = "upframe-journal 1";
/// Name of the journal file inside the work directory.
pub const JOURNAL_FILE: &str = "journal.txt";
/// Name of the lock file inside the work directory.
pub const LOCK_FILE: &str = "lock";
/// Temporary name used while rewriting the journal atomically.
const JOURNAL_TMP: &str = "journal.tmp";
/// Suffix of work directory names (`.NAME.upframe-work`).
const WORK_DIR_SUFFIX: &str = ".upframe-work";
/// Longest accepted journal line, in bytes (without its `\n`).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most segments a journal may list.
pub const MAX_SEGMENTS: usize = 10_000_000;
/// Most key entries a journal may list.
pub use crate::job_key::MAX_KEYS;
/// Longest accepted segment file name, in bytes.
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Largest journal file `prepare` reads.
const MAX_JOURNAL_BYTES: u64 = 1 << 30;
/// How much of the input [`InputIdentity`] hashes.
const HEAD_BYTES: u64 = 1 << 20;

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// `.NAME.upframe-work` beside `output` (e.g. /x/out.mp4 -> /x/.out.mp4.upframe-work).
pub fn work_dir_for(output: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    match output.file_name() {
        Some(n) => name.push(n),
        None => name.push("upframe-output"),
    }
    name.push(WORK_DIR_SUFFIX);
    match output.parent() {
        Some(p) => p.join(name),
        None => PathBuf::from(name),
    }
}

/// The file name of segment `index` (`seg-000000.upseg`), as the segmented sink writes it.
pub use upframe_media::segment_file_name;

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Identity of the input file: size, mtime (ns since epoch), sha256 hex of its first MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputIdentity {
    pub size: u64,
    pub mtime_ns: i128,
    pub head_sha256: String,
}

impl InputIdentity {
    pub fn of(path: &Path) -> Result<Self, JournalError> {
        let meta = fs::metadata(path).map_err(io_err(path, "read the metadata of"))?;
        let modified = meta
            .modified()
            .map_err(io_err(path, "read the modification time of"))?;
        let mtime_ns = match modified.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        let file = File::open(path).map_err(io_err(path, "open"))?;
        let mut head = Vec::new();
        file.take(HEAD_BYTES)
            .read_to_end(&mut head)
            .map_err(io_err(path, "read"))?;
        Ok(InputIdentity {
            size: meta.len(),
            mtime_ns,
            head_sha256: hex(&Sha256::digest(&head)),
        })
    }
}

impl JobKey {
    /// Pushes `input.size`, `input.mtime_ns` and `input.head_sha256`.
    pub fn with_input(mut self, id: &InputIdentity) -> Self {
        self.push("input.size", id.size.to_string());
        self.push("input.mtime_ns", id.mtime_ns.to_string());
        self.push("input.head_sha256", id.head_sha256.clone());
        self
    }
}

/// Why `file` cannot be a segment file name, if it cannot.
fn check_segment_file(file: &str) -> Result<(), String> {
    if file.is_empty() {
        return Err("empty segment file name".into());
    }
    if file.len() > MAX_FILE_NAME_BYTES {
        return Err(format!(
            "segment file name {:?} is longer than {MAX_FILE_NAME_BYTES} bytes",
            shorten(file, 32)
        ));
    }
    if file == "." {
        return Err("segment file name \".\" is not a file name".into());
    }
    if file.contains("..") {
        return Err(format!("segment file name {file:?} contains \"..\""));
    }
    if file.contains(['/', '\\']) {
        return Err(format!(
            "segment file name {file:?} is not a plain file name"
        ));
    }
    if file.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "segment file name {file:?} contains whitespace or control characters"
        ));
    }
    if file == JOURNAL_FILE || file == LOCK_FILE || file == JOURNAL_TMP {
        return Err(format!(
            "segment file name {file:?} is reserved for the journal"
        ));
    }
    Ok(())
}

impl SegmentEntry {
    fn line(&self) -> String {
        format!(
            "segment {} {} {} {}\n",
            self.index, self.frames, self.bytes, self.file
        )
    }
}

/// A journal: the job key and the complete segments, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    pub key: JobKey,
    pub segments: Vec<SegmentEntry>,
}

/// A decimal u64 with only ASCII digits (no sign).
fn parse_u64(field: &str, what: &str) -> Result<u64, String> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {:?} is not a number", shorten(field, 40)));
    }
    field
        .parse()
        .map_err(|_| format!("{what} {} is too large", shorten(field, 40)))
}

impl Journal {
    /// Parses the journal text. A last line without its terminating '\n' (a crash while
    /// appending) is ignored; anything else malformed is an error naming the line number.
    pub fn parse(text: &str) -> Result<Journal, String> {
        let mut key = JobKey::new();
        let mut seen_keys = HashSet::new();
        let mut segments: Vec<SegmentEntry> = Vec::new();
        let mut files = HashSet::new();
        let mut total_frames: u64 = 0;
        let mut header = false;
        for (i, raw) in text.split_inclusive('\n').enumerate() {
            let n = i + 1;
            let Some(line) = raw.strip_suffix('\n') else {
                break; // unterminated last line: an interrupted append
            };
            if line.len() > MAX_LINE_BYTES {
                return Err(format!(
                    "line {n}: {} bytes long (at most {MAX_LINE_BYTES})",
                    line.len()
                ));
            }
            if !header {
                if line != HEADER {
                    return Err(format!(
                        "line {n}: not an upframe journal (expected {HEADER:?}, found {:?})",
                        shorten(line, 40)
                    ));
                }
                header = true;
                continue;
            }
            if let Some(entry) = line.strip_prefix("key ") {
                if !segments.is_empty() {
                    return Err(format!("line {n}: key line after a segment line"));
                }
                if key.entries.len() >= MAX_KEYS {
                    return Err(format!("line {n}: more than {MAX_KEYS} keys"));
                }
                let (k, v) = entry
                    .split_once('=')
                    .ok_or_else(|| format!("line {n}: key line without '='"))?;
                check_key_name(k).map_err(|e| format!("line {n}: {e}"))?;
                check_key_value(k, v).map_err(|e| format!("line {n}: {e}"))?;
                if !seen_keys.insert(k.to_string()) {
                    return Err(format!("line {n}: key {k} appears twice"));
                }
                key.push(k, v);
            } else if let Some(rest) = line.strip_prefix("segment ") {
                if segments.len() >= MAX_SEGMENTS {
                    return Err(format!("line {n}: more than {MAX_SEGMENTS} segments"));
                }
                let fields: Vec<&str> = rest.split(' ').collect();
                let [index, frames, bytes, file] = fields[..] else {
                    return Err(format!(
                        "line {n}: a segment line needs 4 fields (INDEX FRAMES BYTES FILE), found {}",
                        fields.len()
                    ));
                };
                let index =
                    parse_u64(index, "segment index").map_err(|e| format!("line {n}: {e}"))?;
                let frames =
                    parse_u64(frames, "frame count").map_err(|e| format!("line {n}: {e}"))?;
                let bytes = parse_u64(bytes, "byte count").map_err(|e| format!("line {n}: {e}"))?;
                check_segment_file(file).map_err(|e| format!("line {n}: {e}"))?;
                let expected = segments.len() as u64;
                if index != expected {
                    return Err(format!(
                        "line {n}: segment {index} where segment {expected} was expected"
                    ));
                }
                if !files.insert(file.to_string()) {
                    return Err(format!("line {n}: segment file {file} is listed twice"));
                }
                total_frames = total_frames
                    .checked_add(frames)
                    .ok_or_else(|| format!("line {n}: total frame count overflows"))?;
                segments.push(SegmentEntry {
                    index,
                    frames,
                    bytes,
                    file: file.to_string(),
                });
            } else {
                return Err(format!(
                    "line {n}: unknown record {:?} (expected \"key\" or \"segment\")",
                    shorten(line, 40)
                ));
            }
        }
        if !header {
            return Err("line 1: missing header (empty or truncated journal)".into());
        }
        Ok(Journal { key, segments })
    }

    /// The journal as text ([`Journal::parse`] reads it back).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(HEADER);
        s.push('\n');
        for (k, v) in &self.key.entries {
            s.push_str("key ");
            s.push_str(k);
            s.push('=');
            s.push_str(v);
            s.push('\n');
        }
        for seg in &self.segments {
            s.push_str(&seg.line());
        }
        s
    }
}

/// The state of a work directory after [`prepare`].
#[derive(Debug)]
pub struct ResumeState {
    pub dir: PathBuf,
    /// Complete segments to reuse, in order (indices 0..n contiguous, files verified to exist
    /// with the recorded size).
    pub done: Vec<SegmentEntry>,
    /// Sum of `done[i].frames`.
    pub done_frames: u64,
    /// Human explanation for logs, e.g. "resuming after 3 complete segments (720 frames)" or
    /// "starting a new work directory".
    pub summary: String,
    /// Appends further segments; holds the directory's lock.
    pub writer: JournalWriter,
}

/// Append handle. Holds an exclusive lock on the directory's lock file for the job's lifetime
/// (released when dropped); a second run on the same output gets [`JournalError::Busy`].
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    file: File,
    next_index: u64,
    _lock: File,
}

impl JournalWriter {
    /// Appends one `segment` line and fsyncs the journal. The segment's file must already be
    /// complete and synced; `entry.index` must be the next index ([`JournalWriter::next_index`]).
    pub fn append(&mut self, entry: &SegmentEntry) -> Result<(), JournalError> {
        let invalid = |reason: String| JournalError::InvalidSegment {
            path: self.path.clone(),
            reason,
        };
        if entry.index != self.next_index {
            return Err(invalid(format!(
                "segment {} appended where segment {} was expected",
                entry.index, self.next_index
            )));
        }
        check_segment_file(&entry.file).map_err(invalid)?;
        self.file
            .write_all(entry.line().as_bytes())
            .map_err(io_err(&self.path, "append to"))?;
        self.file.sync_data().map_err(io_err(&self.path, "sync"))?;
        self.next_index += 1;
        Ok(())
    }

    /// The index the next appended segment must have.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// The journal file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `text` to `dir/JOURNAL_FILE` atomically: temp file, fsync, rename, fsync the dir.
fn write_journal_atomic(dir: &Path, text: &str) -> Result<(), JournalError> {
    let tmp = dir.join(JOURNAL_TMP);
    let path = dir.join(JOURNAL_FILE);
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp, "create"))?;
        f.write_all(text.as_bytes())
            .map_err(io_err(&tmp, "write"))?;
        f.sync_all().map_err(io_err(&tmp, "sync"))?;
    }
    fs::rename(&tmp, &path).map_err(io_err(&path, "replace"))?;
    sync_dir(dir)
}

/// Makes a rename or creation in `dir` durable (a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    #[cfg(unix)]
    {
        let d = File::open(dir).map_err(io_err(dir, "open"))?;
        d.sync_all().map_err(io_err(dir, "sync"))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes every entry of `dir` except the names in `keep`.
fn remove_all_except(dir: &Path, keep: &HashSet<&str>) -> Result<(), JournalError> {
    let entries = fs::read_dir(dir).map_err(io_err(dir, "list"))?;
    for entry in entries {
        let entry = entry.map_err(io_err(dir, "list"))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| keep.contains(n)) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(io_err(&path, "read the type of"))?
            .is_dir();
        let removed = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path, "remove")(e)),
        }
    }
    Ok(())
}

/// A journal file as read from disk.
struct ReadJournal {
    /// The complete lines as text, or why they are not text.
    text: Result<String, String>,
    /// Whether the file ended with its last complete line (nothing was dropped).
    exact: bool,
}

/// Reads the journal, or `None` when there is none. Bytes after the last `\n` (an interrupted
/// append, possibly cut inside a character) are dropped before UTF-8 decoding.
fn read_journal(path: &Path) -> Result<Option<ReadJournal>, JournalError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "open")(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err(path, "read"))?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Ok(Some(ReadJournal {
            text: Err(format!("larger than {MAX_JOURNAL_BYTES} bytes")),
            exact: false,
        }));
    }
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let exact = complete == bytes.len();
    bytes.truncate(complete);
    Ok(Some(ReadJournal {
        text: String::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})")),
        exact,
    }))
}

/// Whether `dir/FILE` is a regular file of exactly the recorded size.
fn segment_ok(dir: &Path, seg: &SegmentEntry) -> bool {
    fs::symlink_metadata(dir.join(&seg.file)).is_ok_and(|m| m.is_file() && m.len() == seg.bytes)
}

/// Opens or creates the work directory for `output`:
/// - no directory / no journal: create the directory, write the journal header for `key`
///   atomically (temp file + fsync + rename), `done` = [];
/// - journal exists and its key equals `key` (same entries; order does not matter): keep the
///   contiguous prefix of segments whose files exist with the recorded size; delete every other
///   file in the directory except journal and lock (stray partial segments); rewrite the journal
///   atomically if some segments were dropped or it ended in a partial line;
/// - key differs: if `restart`, wipe the directory's contents and start fresh; else
///   [`JournalError::Changed`] ("cannot resume /x/out.mp4: the input file changed (size 1 -> 2);
///   run with --restart to start over");
/// - journal unparseable: if `restart`, wipe; else [`JournalError::Damaged`].
///
/// The directory's lock is taken before anything is read or changed ([`JournalError::Busy`]
/// if another job holds it); it is held by the returned [`ResumeState::writer`].
pub fn prepare(output: &Path, key: &JobKey, restart: bool) -> Result<ResumeState, JournalError> {
    let dir = work_dir_for(output);
    key.validate().map_err(|reason| JournalError::InvalidKey {
        dir: dir.clone(),
        reason,
    })?;
    fs::create_dir_all(&dir).map_err(io_err(&dir, "create the work directory"))?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io_err(&lock_path, "open"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(JournalError::Busy { dir }),
        Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path, "lock")(e)),
    }
    let journal_path = dir.join(JOURNAL_FILE);

    // The journal to resume from (and whether its file holds exactly its text), or why not.
    let mut resume: Option<(Journal, bool)> = None;
    let mut fresh_why = "starting a new work directory".to_string();
    if let Some(read) = read_journal(&journal_path)? {
        match read.text.and_then(|t| Journal::parse(&t)) {
            Err(reason) if restart => {
                fresh_why = format!("--restart: discarding a damaged journal ({reason})");
            }
            Err(reason) => {
                return Err(JournalError::Damaged {
                    output: output.to_path_buf(),
                    path: journal_path,
                    reason,
                })
            }
            Ok(journal) => match journal.key.describe_change(key) {
                None if restart => fresh_why = "--restart: starting over".to_string(),
                None => resume = Some((journal, read.exact)),
                Some(what) if restart => {
                    fresh_why = format!("--restart: starting over ({what})");
                }
                // An earlier run that completed no segment left nothing to lose: a corrected
                // command starts over instead of being refused.
                Some(what) if journal.segments.is_empty() => {
                    fresh_why =
                        format!("starting over: the earlier run completed no segment ({what})");
                }
                Some(what) => {
                    return Err(JournalError::Changed {
                        output: output.to_path_buf(),
                        dir,
                        what,
                    })
                }
            },
        }
    }

    let (done, summary) = match resume {
        None => {
            // No usable journal: nothing in the directory can be trusted.
            remove_all_except(&dir, &HashSet::from([LOCK_FILE]))?;
            let journal = Journal {
                key: key.clone(),
                segments: Vec::new(),
            };
            write_journal_atomic(&dir, &journal.to_text())?;
            (Vec::new(), fresh_why)
        }
        Some((journal, exact)) => {
            let recorded = journal.segments.len();
            let kept: Vec<SegmentEntry> = journal
                .segments
                .iter()
                .take_while(|seg| segment_ok(&dir, seg))
                .cloned()
                .collect();
            let mut keep: HashSet<&str> = HashSet::from([LOCK_FILE, JOURNAL_FILE]);
            keep.extend(kept.iter().map(|s| s.file.as_str()));
            remove_all_except(&dir, &keep)?;
            if kept.len() < recorded || !exact {
                let rewritten = Journal {
                    key: journal.key.clone(),
                    segments: kept.clone(),
                };
                write_journal_atomic(&dir, &rewritten.to_text())?;
            }
            let frames: u64 = kept.iter().map(|s| s.frames).sum();
            let mut summary = if kept.is_empty() {
                "resuming: no complete segments yet".to_string()
            } else {
                format!(
                    "resuming after {} complete segment{} ({frames} frames)",
                    kept.len(),
                    if kept.len() == 1 { "" } else { "s" }
                )
            };
            if kept.len() < recorded {
                let _ = write!(
                    summary,
                    "; dropped {} recorded segment{} whose file was missing or the wrong size",
                    recorded - kept.len(),
                    if recorded - kept.len() == 1 { "" } else { "s" }
                );
            }
            (kept, summary)
        }
    };
    let file = OpenOptions::new()
        .append(true)
        .open(&journal_path)
        .map_err(io_err(&journal_path, "open for appending"))?;
    let done_frames = done.iter().map(|s| s.frames).sum();
    Ok(ResumeState {
        writer: JournalWriter {
            path: journal_path,
            file,
            next_index: done.len() as u64,
            _lock: lock,
        },
        dir,
        done,
        done_frames,
        summary,
    })
}

/// Deletes the work directory (after the final output has been committed). A missing directory
/// is not an error. Refuses directories not named like [`work_dir_for`]'s.
pub fn remove_work_dir(dir: &Path) -> Result<(), JournalError> {
    let named_right = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n.starts_with('.') && n.ends_with(WORK_DIR_SUFFIX) && n.len() > WORK_DIR_SUFFIX.len() + 1
    });
    if !named_right {
        return Err(JournalError::NotWorkDir {
            dir: dir.to_path_buf(),
        });
    }
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(dir, "remove")(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> JobKey {
        let mut k = JobKey::new();
        for (a, b) in pairs {
            k.push(*a, *b);
        }
        k
    }

    fn sample_key() -> JobKey {
        key(&[
            ("input.size", "123"),
            ("input.mtime_ns", "1700000000000000000"),
            ("input.head_sha256", &"ab".repeat(32)),
            ("option.scale", "2"),
            ("option.crf", "18"),
            ("segment_frames", "240"),
        ])
    }

    fn seg(index: u64, frames: u64, bytes: u64) -> SegmentEntry {
        SegmentEntry {
            index,
            frames,
            bytes,
            file: segment_file_name(index),
        }
    }

    /// Writes segment `index` with `bytes` bytes into `dir` and records it.
    fn write_segment(state: &mut ResumeState, index: u64, frames: u64, bytes: u64) {
        let entry = seg(index, frames, bytes);
        fs::write(state.dir.join(&entry.file), vec![7u8; bytes as usize]).unwrap();
        state.writer.append(&entry).unwrap();
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn work_dir_is_hidden_beside_the_output() {
        assert_eq!(
            work_dir_for(Path::new("/x/out.mp4")),
            PathBuf::from("/x/.out.mp4.upframe-work")
        );
        assert_eq!(
            work_dir_for(Path::new("out.mkv")),
            PathBuf::from(".out.mkv.upframe-work")
        );
        assert_eq!(segment_file_name(3), "seg-000003.upseg");
    }

    #[test]
    fn text_round_trips() {
        let j = Journal {
            key: sample_key(),
            segments: vec![seg(0, 240, 123456), seg(1, 240, 130001), seg(2, 17, 0)],
        };
        let text = j.to_text();
        assert!(text.starts_with("upframe-journal 1\nkey input.size=123\n"));
        assert!(text.ends_with("segment 2 17 0 seg-000002.upseg\n"));
        assert_eq!(Journal::parse(&text), Ok(j));
        // Values may hold '=', spaces and any other non-line-break text.
        let odd = Journal {
            key: key(&[("option.filter", "a=b c  d"), ("empty", ""), ("ü", "ß→")]),
            segments: vec![],
        };
        assert_eq!(Journal::parse(&odd.to_text()), Ok(odd));
    }

    #[test]
    fn unterminated_last_line_is_ignored() {
        let j = Journal {
            key: sample_key(),
            segments: vec![seg(0, 240, 10), seg(1, 240, 11)],
        };
        let text = j.to_text();
        let cut = format!("{text}segment 2 24");
        assert_eq!(Journal::parse(&cut), Ok(j.clone()));
        // A whole line without its '\n' is still ignored: it may be incomplete.
        let cut = format!("{text}segment 2 240 12 seg-000002.upseg");
        assert_eq!(Journal::parse(&cut), Ok(j));
        // Even a malformed partial line is ignored.
        let cut = "upframe-journal 1\nkey a=1\ngarbage!".to_string();
        assert_eq!(Journal::parse(&cut).unwrap().key, key(&[("a", "1")]));
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let cases: &[(&str, &str)] = &[
            ("", "line 1: missing header"),
            ("upframe-journal 1", "line 1: missing header"),
            ("upframe-journal 2\n", "line 1: not an upframe journal"),
            ("\n", "line 1: not an upframe journal"),
            ("upframe-journal 1\n\n", "line 2: unknown record"),
            ("upframe-journal 1\nkey a\n", "line 2: key line without '='"),
            ("upframe-journal 1\nkey =1\n", "line 2: empty key name"),
            ("upframe-journal 1\nkey a b=1\n", "line 2: key name \"a b\""),
            (
                "upframe-journal 1\nkey a=1\nkey a=2\n",
                "line 3: key a appears twice",
            ),
            (
                "upframe-journal 1\nkey a=1\r\n",
                "line 2: the value of a contains a line break",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2\n",
                "line 2: a segment line needs 4 fields",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 a b\n",
                "line 2: a segment line needs 4 fields",
            ),
            (
                "upframe-journal 1\nsegment 0  1 2 a\n",
                "line 2: a segment line needs 4 fields",
            ),
            (
                "upframe-journal 1\nsegment 1 1 2 a\n",
                "line 2: segment 1 where segment 0 was expected",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 a\nsegment 0 1 2 b\n",
                "line 3: segment 0 where segment 1",
            ),
            (
                "upframe-journal 1\nsegment x 1 2 a\n",
                "line 2: segment index \"x\" is not a number",
            ),
            (
                "upframe-journal 1\nsegment +0 1 2 a\n",
                "line 2: segment index \"+0\" is not a number",
            ),
            (
                "upframe-journal 1\nsegment 0 -1 2 a\n",
                "line 2: frame count \"-1\" is not a number",
            ),
            (
                "upframe-journal 1\nsegment 0 1 99999999999999999999 a\n",
                "line 2: byte count 99999999999999999999 is too large",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 ../a\n",
                "line 2: segment file name \"../a\" contains \"..\"",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 .\n",
                "line 2: segment file name \".\" is not a file name",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 ..\n",
                "line 2: segment file name \"..\"",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 d/a\n",
                "line 2: segment file name \"d/a\" is not a plain file name",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 d\\a\n",
                "line 2: segment file name \"d\\\\a\" is not a plain file name",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 \n",
                "line 2: empty segment file name",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 journal.txt\n",
                "line 2: segment file name \"journal.txt\" is reserved",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 a\nsegment 1 1 2 a\n",
                "line 3: segment file a is listed twice",
            ),
            (
                "upframe-journal 1\nsegment 0 1 2 a\nkey b=1\n",
                "line 3: key line after a segment line",
            ),
            (
                "upframe-journal 1\nsegment 0 18446744073709551615 2 a\nsegment 1 1 2 b\n",
                "line 3: total frame count overflows",
            ),
        ];
        for (text, want) in cases {
            let err = Journal::parse(text).expect_err(text);
            assert!(
                err.starts_with(want),
                "{text:?}: got {err:?}, want {want:?}…"
            );
            assert!(!err.contains('\n'), "{err:?}");
        }
        let long = format!("upframe-journal 1\nkey a={}\n", "x".repeat(MAX_LINE_BYTES));
        let err = Journal::parse(&long).unwrap_err();
        assert!(err.starts_with("line 2: 65542 bytes long"), "{err}");
        let long = format!("upframe-journal 1\nsegment 0 1 1 {}\n", "x".repeat(300));
        let err = Journal::parse(&long).unwrap_err();
        assert!(
            err.starts_with("line 2: segment file name \"xxxxxxxx")
                && err.ends_with("…\" is longer than 255 bytes"),
            "{err}"
        );
    }

    #[test]
    fn key_validation() {
        assert_eq!(sample_key().validate(), Ok(()));
        assert!(key(&[("a=b", "1")]).validate().is_err());
        assert!(key(&[("a\tb", "1")]).validate().is_err());
        assert!(key(&[("", "1")]).validate().is_err());
        assert!(key(&[("a", "1\n2")]).validate().is_err());
        assert!(key(&[("a", "1"), ("a", "1")]).validate().is_err());
    }

    #[test]
    fn describe_change_names_the_first_difference() {
        let old = sample_key();
        assert_eq!(old.describe_change(&old), None);
        let mut reordered = old.clone();
        reordered.entries.reverse();
        assert_eq!(
            old.describe_change(&reordered),
            None,
            "order does not matter"
        );

        let with = |k: &str, v: &str| {
            let mut n = old.clone();
            for e in &mut n.entries {
                if e.0 == k {
                    e.1 = v.to_string();
                }
            }
            n
        };
        assert_eq!(
            old.describe_change(&with("input.size", "456")).as_deref(),
            Some("the input file changed (size 123 -> 456)")
        );
        assert_eq!(
            old.describe_change(&with("input.head_sha256", &"cd".repeat(32)))
                .as_deref(),
            Some("the input file changed (sha256 of the first MiB abababababab… -> cdcdcdcdcdcd…)")
        );
        assert_eq!(
            old.describe_change(&with("option.crf", "20")).as_deref(),
            Some("option crf changed (18 -> 20)")
        );
        assert_eq!(
            old.describe_change(&with("segment_frames", "120"))
                .as_deref(),
            Some("segment_frames changed (240 -> 120)")
        );
        let mut m1 = old.clone();
        m1.push("model.sha256", "ab12cd34ef56".repeat(6));
        let mut m2 = old.clone();
        m2.push("model.sha256", "ef5678901234".repeat(6));
        assert_eq!(
            m1.describe_change(&m2).as_deref(),
            Some("model.sha256 changed (ab12cd34ef56… -> ef5678901234…)")
        );
        let mut added = old.clone();
        added.push("option.denoise", "0.5");
        assert_eq!(
            old.describe_change(&added).as_deref(),
            Some("option denoise was added (= 0.5)")
        );
        assert_eq!(
            added.describe_change(&old).as_deref(),
            Some("option denoise was removed (was 0.5)")
        );
    }

    #[test]
    fn input_identity_follows_the_first_mib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.mp4");
        let mut data = vec![1u8; (HEAD_BYTES as usize) + 1000];
        fs::write(&path, &data).unwrap();
        let a = InputIdentity::of(&path).unwrap();
        assert_eq!(a.size, data.len() as u64);
        assert_eq!(a.head_sha256.len(), 64);
        assert!(a.mtime_ns > 0);
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();

        // Same size and mtime, a byte changed inside the first MiB: a different identity.
        data[HEAD_BYTES as usize - 1] = 2;
        fs::write(&path, &data).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let b = InputIdentity::of(&path).unwrap();
        assert_eq!((b.size, b.mtime_ns), (a.size, a.mtime_ns));
        assert_ne!(b.head_sha256, a.head_sha256);

        // A change past the first MiB is not hashed (size and mtime catch most of those).
        data[HEAD_BYTES as usize + 10] = 3;
        fs::write(&path, &data).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(InputIdentity::of(&path).unwrap(), b);

        let key = JobKey::new().with_input(&b);
        assert_eq!(key.get("input.size"), Some(b.size.to_string().as_str()));
        assert_eq!(key.get("input.head_sha256"), Some(b.head_sha256.as_str()));
        assert_eq!(key.entries.len(), 3);

        let err = InputIdentity::of(&dir.path().join("missing.mp4")).unwrap_err();
        assert!(err.to_string().contains("missing.mp4"), "{err}");
    }

    #[test]
    fn prepare_fresh_then_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let k = sample_key();
        let mut s = prepare(&out, &k, false).unwrap();
        assert_eq!(s.dir, tmp.path().join(".out.mp4.upframe-work"));
        assert!(s.done.is_empty());
        assert_eq!(s.done_frames, 0);
        assert_eq!(s.summary, "starting a new work directory");
        assert_eq!(names_in(&s.dir), [JOURNAL_FILE, LOCK_FILE]);
        write_segment(&mut s, 0, 240, 100);
        write_segment(&mut s, 1, 240, 50);
        write_segment(&mut s, 2, 120, 70);
        // Out-of-order and bad names are refused and leave the journal as it was.
        let err = s.writer.append(&seg(5, 1, 1)).unwrap_err();
        assert!(
            err.to_string()
                .contains("segment 5 appended where segment 3"),
            "{err}"
        );
        let mut bad = seg(3, 1, 1);
        bad.file = "../x".into();
        assert!(s.writer.append(&bad).is_err());
        drop(s);

        let s = prepare(&out, &k, false).unwrap();
        assert_eq!(
            s.done,
            vec![seg(0, 240, 100), seg(1, 240, 50), seg(2, 120, 70)]
        );
        assert_eq!(s.done_frames, 600);
        assert_eq!(s.writer.next_index(), 3);
        assert_eq!(s.summary, "resuming after 3 complete segments (600 frames)");
        let text = fs::read_to_string(s.dir.join(JOURNAL_FILE)).unwrap();
        assert_eq!(
            Journal::parse(&text).unwrap(),
            Journal {
                key: k.clone(),
                segments: s.done.clone()
            }
        );
        // Key order in the new command does not matter.
        drop(s);
        let mut reordered = k.clone();
        reordered.entries.reverse();
        assert_eq!(prepare(&out, &reordered, false).unwrap().done.len(), 3);
    }

    #[test]
    fn a_bad_segment_truncates_the_list_and_strays_are_deleted() {
        for damage in ["missing", "short", "long"] {
            let tmp = tempfile::tempdir().unwrap();
            let out = tmp.path().join("out.mkv");
            let k = sample_key();
            let mut s = prepare(&out, &k, false).unwrap();
            for i in 0..4 {
                write_segment(&mut s, i, 10, 20 + i);
            }
            let dir = s.dir.clone();
            drop(s);
            let victim = dir.join(segment_file_name(1));
            match damage {
                "missing" => fs::remove_file(&victim).unwrap(),
                "short" => fs::write(&victim, [0u8; 3]).unwrap(),
                _ => fs::write(&victim, vec![0u8; 100]).unwrap(),
            }
            // A partial segment the crashed job was writing, and a stray directory.
            fs::write(dir.join(segment_file_name(4)), b"partial").unwrap();
            fs::create_dir(dir.join("tmpdir")).unwrap();
            fs::write(dir.join("tmpdir/x"), b"x").unwrap();

            let mut s = prepare(&out, &k, false).unwrap();
            assert_eq!(s.done, vec![seg(0, 10, 20)], "{damage}");
            assert_eq!(s.done_frames, 10);
            assert_eq!(
                s.summary,
                "resuming after 1 complete segment (10 frames); dropped 3 recorded segments whose file was missing or the wrong size"
            );
            assert_eq!(
                names_in(&dir),
                [JOURNAL_FILE, LOCK_FILE, "seg-000000.upseg"]
            );
            let text = fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
            assert_eq!(Journal::parse(&text).unwrap().segments, s.done);
            // Appending continues at the first dropped index.
            write_segment(&mut s, 1, 10, 5);
            drop(s);
            assert_eq!(prepare(&out, &k, false).unwrap().done.len(), 2);
        }
    }

    #[test]
    fn a_partial_append_is_cut_before_appending_again() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let k = sample_key();
        let mut s = prepare(&out, &k, false).unwrap();
        write_segment(&mut s, 0, 5, 9);
        let journal = s.writer.path().to_path_buf();
        drop(s);
        // A crash in the middle of appending segment 1 (cut inside a multi-byte character, too).
        let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
        f.write_all(b"segment 1 5 9 s\xc3").unwrap();
        drop(f);
        let mut s = prepare(&out, &k, false).unwrap();
        assert_eq!(s.done, vec![seg(0, 5, 9)]);
        write_segment(&mut s, 1, 5, 9);
        drop(s);
        let text = fs::read_to_string(&journal).unwrap();
        assert!(text.ends_with("segment 0 5 9 seg-000000.upseg\nsegment 1 5 9 seg-000001.upseg\n"));
        assert_eq!(prepare(&out, &k, false).unwrap().done.len(), 2);
    }

    #[test]
    fn a_changed_key_is_refused_unless_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let k = sample_key();
        let mut s = prepare(&out, &k, false).unwrap();
        write_segment(&mut s, 0, 10, 10);
        let dir = s.dir.clone();
        drop(s);

        let mut changed = k.clone();
        changed.entries[0].1 = "456".into();
        let err = prepare(&out, &changed, false).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot resume {}: the input file changed (size 123 -> 456); run with --restart to start over",
                out.display()
            )
        );
        assert!(matches!(&err, JournalError::Changed { dir: d, .. } if *d == dir));
        // Nothing was touched.
        assert_eq!(
            names_in(&dir),
            [JOURNAL_FILE, LOCK_FILE, "seg-000000.upseg"]
        );
        assert_eq!(prepare(&out, &k, false).unwrap().done.len(), 1);

        let s = prepare(&out, &changed, true).unwrap();
        assert!(s.done.is_empty());
        assert_eq!(
            s.summary,
            "--restart: starting over (the input file changed (size 123 -> 456))"
        );
        assert_eq!(names_in(&dir), [JOURNAL_FILE, LOCK_FILE]);
        drop(s);
        // The new key is the journal's now.
        assert!(prepare(&out, &changed, false).is_ok());
        // It has no complete segment, so there is nothing to lose: another job starts over
        // instead of being refused (a corrected command after an early failure).
        let s = prepare(&out, &k, false).unwrap();
        assert!(s.done.is_empty());
        assert!(
            s.summary.starts_with(
                "starting over: the earlier run completed no segment (the input file changed"
            ),
            "{}",
            s.summary
        );
        drop(s);
        // With a complete segment, a changed key is refused again.
        let mut w = prepare(&out, &k, false).unwrap().writer;
        w.append(&SegmentEntry {
            index: 0,
            frames: 5,
            bytes: 1,
            file: "seg-000000.upseg".into(),
        })
        .unwrap();
        drop(w);
        assert!(matches!(
            prepare(&out, &changed, false),
            Err(JournalError::Changed { .. })
        ));
    }

    #[test]
    fn a_damaged_journal_is_refused_unless_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let k = sample_key();
        let s = prepare(&out, &k, false).unwrap();
        let dir = s.dir.clone();
        drop(s);
        fs::write(
            dir.join(JOURNAL_FILE),
            "upframe-journal 1\nsegment 7 1 1 x\n",
        )
        .unwrap();
        fs::write(dir.join("x"), b"x").unwrap();
        let err = prepare(&out, &k, false).err().unwrap();
        let msg = err.to_string();
        assert!(matches!(err, JournalError::Damaged { .. }));
        assert!(
            msg.starts_with(&format!("cannot resume {}: the journal ", out.display()))
                && msg.contains("damaged (line 2: segment 7 where segment 0 was expected)")
                && msg.ends_with("; run with --restart to start over"),
            "{msg}"
        );
        fs::write(dir.join(JOURNAL_FILE), b"\xff\xfe\n").unwrap();
        let msg = prepare(&out, &k, false).err().unwrap().to_string();
        assert!(msg.contains("not UTF-8"), "{msg}");
        assert!(!msg.contains('\n'));

        let s = prepare(&out, &k, true).unwrap();
        assert!(s.done.is_empty());
        assert!(s
            .summary
            .starts_with("--restart: discarding a damaged journal"));
        assert_eq!(names_in(&dir), [JOURNAL_FILE, LOCK_FILE]);
    }

    #[test]
    fn a_second_job_on_the_same_output_is_busy() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let k = sample_key();
        let s = prepare(&out, &k, false).unwrap();
        let err = prepare(&out, &k, false).err().unwrap();
        assert!(matches!(err, JournalError::Busy { .. }), "{err}");
        assert!(err.to_string().contains(".out.mp4.upframe-work"), "{err}");
        // Even --restart does not take a locked directory away from its job.
        assert!(matches!(
            prepare(&out, &k, true).err().unwrap(),
            JournalError::Busy { .. }
        ));
        drop(s);
        assert!(
            prepare(&out, &k, false).is_ok(),
            "the lock goes with the writer"
        );
    }

    #[test]
    fn invalid_keys_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let err = prepare(&out, &key(&[("bad key", "1")]), false)
            .err()
            .unwrap();
        assert!(matches!(err, JournalError::InvalidKey { .. }), "{err}");
        assert!(!work_dir_for(&out).exists());
    }

    #[test]
    fn remove_work_dir_removes_only_work_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out.mp4");
        let mut s = prepare(&out, &sample_key(), false).unwrap();
        write_segment(&mut s, 0, 1, 1);
        let dir = s.dir.clone();
        drop(s);
        remove_work_dir(&dir).unwrap();
        assert!(!dir.exists());
        remove_work_dir(&dir).unwrap();
        let err = remove_work_dir(tmp.path()).unwrap_err();
        assert!(matches!(err, JournalError::NotWorkDir { .. }));
        assert!(tmp.path().exists());
    }
}
