//! What a path names, told from its name (and, where the name leaves it open, whether it
//! exists as a file or folder): image extensions, printf frame patterns (`frames/%06d.png`),
//! how an input is read ([`classify`]), whether an output is a video file, one image or a
//! sequence, and the temporary name an output is written under. Everything that opens,
//! checks or writes files builds on these, so they sit below all of it.

use std::path::{Path, PathBuf};

use crate::error::MediaError;
use crate::types::InputKind;

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
    if is_pattern(path) {
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

/// The widest zero-padding accepted in an output frame pattern (`%032d`).
pub(crate) const MAX_PATTERN_WIDTH: usize = 32;

/// A parsed printf pattern in a file name: prefix, zero-pad width, suffix.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Pattern {
    pub(crate) dir: PathBuf,
    pub(crate) prefix: String,
    pub(crate) width: usize,
    pub(crate) suffix: String,
}

impl Pattern {
    pub fn parse(path: &Path) -> Option<Pattern> {
        let name = path.file_name()?.to_str()?;
        let pos = name.find('%')?;
        let rest = &name[pos + 1..];
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let after = &rest[digits.len()..];
        if !after.starts_with('d') {
            return None;
        }
        let width = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Some(Pattern {
            dir,
            prefix: name[..pos].to_string(),
            width,
            suffix: after[1..].to_string(),
        })
    }

    /// The folder the numbered files are in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The zero-pad width (`%06d` -> 6; `%d` -> 0).
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    pub fn format(&self, n: u64) -> PathBuf {
        self.dir.join(format!(
            "{}{:0w$}{}",
            self.prefix,
            n,
            self.suffix,
            w = self.width
        ))
    }

    /// The number in `name` if it matches the pattern.
    pub(crate) fn number_of(&self, name: &str) -> Option<u64> {
        let mid = name
            .strip_prefix(&self.prefix)?
            .strip_suffix(&self.suffix)?;
        if mid.is_empty() || !mid.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if self.width > 0 && mid.len() < self.width {
            return None;
        }
        mid.parse().ok()
    }
}

/// Whether `path` is a frame pattern: a printf `%d`/`%0Nd` in an image file name that is not
/// itself an existing file (so `50%done.mp4` or an existing `a%d.png` are plain files).
pub(crate) fn is_pattern(path: &Path) -> bool {
    has_image_extension(path) && !path.is_file() && Pattern::parse(path).is_some()
}

/// The frame pattern a sequence output writes: `path` itself, or `path/%06d.png` for a folder.
pub(crate) fn output_pattern_path(path: &Path) -> PathBuf {
    if is_pattern(path) {
        path.to_path_buf()
    } else {
        path.join("%06d.png")
    }
}

/// Whether `open_sink` writes `final_path` as numbered images: a frame pattern, a path ending
/// with `/`, or an existing folder.
pub(crate) fn is_sequence_output(final_path: &Path) -> bool {
    is_pattern(final_path)
        || final_path.as_os_str().to_string_lossy().ends_with('/')
        || final_path.is_dir()
}

/// Whether `open_sink` writes `final_path` as a video file (not as images).
pub(crate) fn is_video_file_output(final_path: &Path) -> bool {
    !(is_sequence_output(final_path) || has_image_extension(final_path))
}

/// The temporary name for `final_path` (keeps the extension so tools recognise the type).
pub(crate) fn partial_path(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    final_path.with_file_name(format!(".{stem}.upframe-partial{ext}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_name_keeps_extension_beside_output() {
        assert_eq!(
            partial_path(Path::new("/a/b/out.mp4")),
            PathBuf::from("/a/b/.out.upframe-partial.mp4")
        );
        assert_eq!(
            partial_path(Path::new("clip.tar.mkv")),
            PathBuf::from(".clip.tar.upframe-partial.mkv")
        );
        assert_eq!(
            partial_path(Path::new("noext")),
            PathBuf::from(".noext.upframe-partial")
        );
    }
    #[test]
    fn patterns_parse_and_format() {
        let p = Pattern::parse(Path::new("out/frame_%06d.png")).unwrap();
        assert_eq!(p.format(7), PathBuf::from("out/frame_000007.png"));
        assert_eq!(p.number_of("frame_000123.png"), Some(123));
        assert_eq!(
            p.number_of("frame_12.png"),
            None,
            "shorter than the pad width"
        );
        assert_eq!(p.number_of("other_000001.png"), None);
        let q = Pattern::parse(Path::new("%d.jpg")).unwrap();
        assert_eq!(q.format(12), PathBuf::from("./12.jpg"));
        assert_eq!(q.number_of("12.jpg"), Some(12));
        assert!(Pattern::parse(Path::new("100%.png")).is_none());
        assert!(Pattern::parse(Path::new("video.mp4")).is_none());
        assert!(
            !is_pattern(Path::new("50%done.mp4")),
            "videos are never patterns"
        );
        assert!(is_pattern(Path::new("/nonexistent/f_%04d.png")));
    }
}
