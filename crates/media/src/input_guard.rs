//! The input is never written. Before a job reads anything, [`check_not_input`] compares what
//! the job will read (one file, the image files of a folder, the files a pattern matches) with
//! what it will write (one file, or numbered images in a folder/pattern) and refuses any overlap:
//! the same file by path, through a symlink or as a hard link (same device and inode), a file
//! the job reads inside the input folder, and an output folder that is the input folder. Output
//! paths that are not regular files (devices, FIFOs, sockets) are refused too. `--overwrite`
//! never overrides any of this: it only allows replacing an earlier *output*.

use std::fs::Metadata;
use std::path::{Component, Path, PathBuf};

use crate::error::MediaError;
use crate::naming::{
    has_image_extension, is_pattern, is_sequence_output, output_pattern_path, partial_path, Pattern,
};

/// How an input selects the files it reads.
enum Selection {
    /// One file (a video or an image).
    One,
    /// The image files of a folder (the folder's own files, not its subfolders).
    ImagesIn,
    /// The files of the pattern's folder whose names match it.
    Pattern(Pattern),
}

/// What a job reads: the selection and the files it picks today, with their identities.
struct InputSet {
    path: PathBuf,
    selection: Selection,
    /// The folder the selection reads from (canonical), if any.
    dir: Option<PathBuf>,
    files: Vec<(PathBuf, Option<FileId>)>,
}

/// A file's identity: device and inode on Unix (hard links and symlinks share it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(m: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId(m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_m: &Metadata) -> Option<FileId> {
    None
}

/// `path` made absolute with symlinks resolved as far as it exists; the part that does not exist
/// yet is applied by hand (`..` removes one level, as it will once the folders are created), so
/// `new/../in` names `in` before `new` exists.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(c) = path.canonicalize() {
        return c;
    }
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(path),
            Err(_) => return path.to_path_buf(),
        }
    };
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(c) = out.canonicalize() {
                    out = c;
                }
            }
        }
    }
    out
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

impl InputSet {
    fn of(input: &Path) -> InputSet {
        // The same order as the source's classification: a pattern first (a folder may be
        // named like one), then a folder.
        let pattern = is_pattern(input).then(|| Pattern::parse(input)).flatten();
        let (selection, dir) = if let Some(p) = pattern {
            let dir = canonical(p.dir());
            (Selection::Pattern(p), Some(dir))
        } else if input.is_dir() {
            let dir = canonical(input);
            (Selection::ImagesIn, Some(dir))
        } else {
            (Selection::One, None)
        };
        let mut set = InputSet {
            path: input.to_path_buf(),
            selection,
            dir,
            files: Vec::new(),
        };
        match &set.dir {
            None => {
                if let Ok(m) = std::fs::metadata(input) {
                    set.files.push((canonical(input), file_id(&m)));
                }
            }
            Some(dir) => {
                if let Ok(entries) = std::fs::read_dir(dir) {
                    for entry in entries.flatten() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        if !set.reads_name(&name) {
                            continue;
                        }
                        if let Ok(m) = std::fs::metadata(entry.path()) {
                            if m.is_file() {
                                set.files.push((dir.join(&name), file_id(&m)));
                            }
                        }
                    }
                }
            }
        }
        set
    }

    /// Whether a file called `name` in the input folder is (or, once it exists, would be)
    /// read by the job.
    fn reads_name(&self, name: &str) -> bool {
        match &self.selection {
            Selection::One => false,
            Selection::ImagesIn => !is_hidden(name) && has_image_extension(Path::new(name)),
            Selection::Pattern(p) => p.number_of(name).is_some(),
        }
    }

    /// The input file that `candidate` (an existing file, or a path about to be written) is,
    /// if any: same canonical path, or same device and inode.
    fn same_file_as(&self, candidate: &Path) -> Option<&Path> {
        let canon = canonical(candidate);
        let id = std::fs::metadata(candidate).ok().and_then(|m| file_id(&m));
        self.files
            .iter()
            .find(|(path, fid)| *path == canon || (id.is_some() && *fid == id))
            .map(|(path, _)| path.as_path())
    }
}

/// Refuses a path that exists and is not a regular file or folder (writing there would feed a
/// device or a pipe, or, since outputs are renamed into place, replace the node itself).
pub(crate) fn check_regular_or_absent(path: &Path) -> Result<(), MediaError> {
    let Ok(m) = std::fs::metadata(path) else {
        return Ok(());
    };
    let ft = m.file_type();
    let what = special_kind(&ft);
    match what {
        Some(what) => Err(MediaError::OutputNotRegular {
            path: path.to_path_buf(),
            what,
        }),
        None => Ok(()),
    }
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_char_device() {
        Some("a character device")
    } else if ft.is_block_device() {
        Some("a block device")
    } else if ft.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if ft.is_socket() {
        Some("a socket")
    } else {
        None
    }
}

#[cfg(not(unix))]
fn special_kind(ft: &std::fs::FileType) -> Option<&'static str> {
    if ft.is_file() || ft.is_dir() {
        None
    } else {
        Some("not a regular file")
    }
}

/// Refuses an `output` that is, or would write over, something `input` reads. `input` and
/// `output` are what the user gave: files, folders or printf patterns. Runs before anything is
/// read or written; `--overwrite` does not matter here.
pub fn check_not_input(input: &Path, output: &Path) -> Result<(), MediaError> {
    let inputs = InputSet::of(input);
    let refuse = |reason: String| {
        Err(MediaError::OutputIsInput {
            path: output.to_path_buf(),
            reason,
        })
    };
    if !is_sequence_output(output) {
        check_regular_or_absent(output)?;
        // The temporary file upframe writes beside the output is written over too.
        let partial = partial_path(output);
        if let Some(same) = inputs.same_file_as(&partial) {
            return refuse(format!(
                "the input {} has the name of the temporary file this output is written to",
                same.display()
            ));
        }
        if let Some(same) = inputs.same_file_as(output) {
            let how = match std::fs::symlink_metadata(output) {
                Ok(m) if m.file_type().is_symlink() => "a symbolic link to the input file",
                _ if canonical(output) != same => "a hard link to the input file",
                _ => "the same file as the input",
            };
            return refuse(format!("{how} {}", same.display()));
        }
        if let (Some(dir), Some(name)) = (&inputs.dir, output.file_name()) {
            let parent = canonical(output).parent().map(Path::to_path_buf);
            if parent.as_deref() == Some(dir.as_path())
                && inputs.reads_name(&name.to_string_lossy())
            {
                return refuse(format!(
                    "it is one of the files the job reads from {}",
                    inputs.path.display()
                ));
            }
        }
        return Ok(());
    }
    // Numbered images in a folder: `out/%06d.png` for a folder output.
    let Some(pattern) = Pattern::parse(&output_pattern_path(output)) else {
        return Ok(());
    };
    let out_dir = canonical(pattern.dir());
    if inputs.dir.as_deref() == Some(out_dir.as_path()) {
        match &inputs.selection {
            Selection::ImagesIn => {
                return refuse(format!(
                    "the output folder is the input folder {}",
                    inputs.path.display()
                ))
            }
            Selection::Pattern(_) => {
                let first = pattern.format(1);
                let first_name = first
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let overlaps = inputs.reads_name(&first_name)
                    || inputs.files.iter().any(|(p, _)| {
                        p.file_name()
                            .is_some_and(|n| pattern.number_of(&n.to_string_lossy()).is_some())
                    });
                if overlaps {
                    return refuse(format!(
                        "the output frames would be named like the input frames {}",
                        inputs.path.display()
                    ));
                }
            }
            Selection::One => {}
        }
    }
    // One input file in the output folder whose name the output numbering produces, or an
    // existing output frame that is a link to an input file.
    if let Ok(entries) = std::fs::read_dir(pattern.dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if pattern.number_of(&name).is_none() {
                continue;
            }
            let path = entry.path();
            check_regular_or_absent(&path)?;
            if let Some(same) = inputs.same_file_as(&path) {
                return refuse(format!(
                    "{} would be replaced, and it is the input file {}",
                    path.display(),
                    same.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keeps_the_name_of_a_missing_file() {
        let dir = std::env::temp_dir();
        let c = canonical(&dir.join("upframe-no-such-file.mp4"));
        assert_eq!(
            c.file_name().and_then(|n| n.to_str()),
            Some("upframe-no-such-file.mp4")
        );
        assert!(c.is_absolute());
    }
}
