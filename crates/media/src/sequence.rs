//! Image sequences: a directory of frames (image files in natural name order), a printf pattern
//! (`frames/%06d.png`, `%d`) or a single image, as a [`FrameSource`]; and the matching sinks
//! (one image, or numbered images in a directory/pattern).
//!
//! A numbered sequence (a pattern, or a directory whose files are all `prefix<number>suffix`
//! with the numbers zero-padded to one width, as frame dumps are) with a gap in the numbering
//! of the frames to be read is [`ShortInput::MissingFrames`]:
//! an error under [`DecodeErrorPolicy::Abort`], read without the missing frames under `Skip`.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::error::MediaError;
use crate::frame::Frame;
use crate::images::{read_image_limited, write_image};
use crate::naming::{has_image_extension, output_pattern_path, Pattern, MAX_PATTERN_WIDTH};
use crate::types::{
    ColourTags, DecodeErrorPolicy, DecodeOptions, OutputSpec, OutputSummary, ShortInput, VideoInfo,
};
use crate::{FrameSink, FrameSource};

/// Natural order: runs of digits compare by value, everything else bytewise.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ai, mut bi) = (a.char_indices().peekable(), b.char_indices().peekable());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((_, ca)), Some((_, cb))) => {
                if ca.is_ascii_digit() && cb.is_ascii_digit() {
                    let mut na = String::new();
                    while let Some(&(_, c)) = ai.peek() {
                        if !c.is_ascii_digit() {
                            break;
                        }
                        na.push(c);
                        ai.next();
                    }
                    let mut nb = String::new();
                    while let Some(&(_, c)) = bi.peek() {
                        if !c.is_ascii_digit() {
                            break;
                        }
                        nb.push(c);
                        bi.next();
                    }
                    let ta = na.trim_start_matches('0');
                    let tb = nb.trim_start_matches('0');
                    let ord = ta
                        .len()
                        .cmp(&tb.len())
                        .then_with(|| ta.cmp(tb))
                        .then_with(|| na.len().cmp(&nb.len()));
                    if ord != Ordering::Equal {
                        return ord;
                    }
                } else {
                    if ca != cb {
                        return ca.cmp(&cb);
                    }
                    ai.next();
                    bi.next();
                }
            }
        }
    }
}

/// One file of a sequence input and its frame number, when the sequence is numbered.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SequenceFile {
    path: PathBuf,
    number: Option<u64>,
    /// The number as written in the name (`000123`), for naming a missing neighbour.
    digits: String,
}

/// The files of a sequence input, in order, with their frame numbers.
fn list_sequence(path: &Path) -> Result<Vec<SequenceFile>, MediaError> {
    if let Some(pat) = Pattern::parse(path) {
        let entries = std::fs::read_dir(&pat.dir).map_err(|e| MediaError::io(&pat.dir, e))?;
        let mut files: Vec<(u64, PathBuf, String)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let n = pat.number_of(&name)?;
                let digits = name[pat.prefix.len()..name.len() - pat.suffix.len()].to_string();
                Some((n, e.path(), digits))
            })
            .collect();
        files.sort();
        return Ok(files
            .into_iter()
            .map(|(n, path, digits)| SequenceFile {
                path,
                number: Some(n),
                digits,
            })
            .collect());
    }
    let entries = std::fs::read_dir(path).map_err(|e| MediaError::io(path, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && has_image_extension(p))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort_by(|a, b| {
        natural_cmp(
            &a.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            &b.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    });
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let numbered = directory_numbering(&names);
    Ok(files
        .into_iter()
        .enumerate()
        .map(|(i, path)| {
            let (number, digits) = match &numbered {
                Some(v) => (Some(v[i].0), v[i].1.clone()),
                None => (None, String::new()),
            };
            SequenceFile {
                path,
                number,
                digits,
            }
        })
        .collect())
}

/// Splits `name` around its last run of digits: (prefix, digits, suffix).
fn split_number(name: &str) -> Option<(&str, &str, &str)> {
    let end = name.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = name[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    Some((&name[..start], &name[start..end], &name[end..]))
}

/// The frame numbers of a directory's files, when all of them are `prefix<number>suffix` with
/// the same prefix and suffix and the numbers zero-padded to one width (`frame_0001.png`,
/// ...); `None` for names of any other shape (`f1.png f2.png f10.png` is a set of numbered
/// pictures, not necessarily a frame dump with a gap).
fn directory_numbering(names: &[String]) -> Option<Vec<(u64, String)>> {
    let (prefix, first_digits, suffix) = split_number(names.first()?)?;
    let width = first_digits.len();
    let mut padded = false;
    let numbers = names
        .iter()
        .map(|name| {
            let (p, digits, s) = split_number(name)?;
            if p != prefix || s != suffix || digits.len() != width {
                return None;
            }
            padded |= digits.starts_with('0');
            Some((digits.parse().ok()?, digits.to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    padded.then_some(numbers)
}

/// The first gap in the numbering of `files` (in order), as the missing frame's number and
/// file, with the count of missing numbers in all; `None` when the files are consecutive or
/// not numbered.
fn first_gap(files: &[SequenceFile]) -> Option<(u64, PathBuf, u64)> {
    let mut first = None;
    let mut missing = 0u64;
    for pair in files.windows(2) {
        let (Some(a), Some(b)) = (pair[0].number, pair[1].number) else {
            return None;
        };
        if b <= a.saturating_add(1) {
            continue;
        }
        missing = missing.saturating_add(b - a - 1);
        if first.is_none() {
            let n = a + 1;
            // The missing file's name: the neighbour's, with the number in its width when the
            // names are zero-padded.
            let name = pair[0]
                .path
                .file_name()
                .map(|x| x.to_string_lossy().into_owned())
                .unwrap_or_default();
            let digits = &pair[0].digits;
            let padded = digits.starts_with('0') || digits.len() == pair[1].digits.len();
            let number = if padded {
                format!("{n:0w$}", w = digits.len())
            } else {
                n.to_string()
            };
            let file = match name.rfind(digits.as_str()).filter(|_| !digits.is_empty()) {
                Some(i) => format!("{}{number}{}", &name[..i], &name[i + digits.len()..]),
                None => number,
            };
            first = Some((n, pair[0].path.with_file_name(file)));
        }
    }
    first.map(|(n, file)| (n, file, missing))
}

/// Reads a single image, a directory of images or a printf pattern, one frame per file. Frame
/// `pts` counts frames in a time base of 1/rate (`DecodeOptions::sequence_frame_rate`, default
/// 25 fps).
pub struct ImageSequenceSource {
    path: PathBuf,
    files: Vec<PathBuf>,
    next: usize,
    produced: u64,
    first: Option<Frame>,
    info: VideoInfo,
    max_frames: Option<u64>,
    /// A gap in the numbering, accepted under `Skip`.
    short: Option<ShortInput>,
    /// Images over this many pixels are refused before decoding.
    max_pixels: u64,
    /// Images read (the first one when the source opened included).
    images_read: u64,
}

impl ImageSequenceSource {
    pub fn single(path: &Path, opts: &DecodeOptions) -> Result<Self, MediaError> {
        let file = SequenceFile {
            path: path.to_path_buf(),
            number: None,
            digits: String::new(),
        };
        Self::from_files(path, vec![file], opts, "image")
    }

    pub fn open(path: &Path, opts: &DecodeOptions) -> Result<Self, MediaError> {
        let files = list_sequence(path)?;
        if files.is_empty() {
            return Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: "no image files (png, jpg, jpeg, webp, tif, tiff, bmp) found".into(),
            });
        }
        Self::from_files(path, files, opts, "image sequence")
    }

    fn from_files(
        path: &Path,
        mut files: Vec<SequenceFile>,
        opts: &DecodeOptions,
        _what: &str,
    ) -> Result<Self, MediaError> {
        let rate = if opts.sequence_frame_rate.0 > 0 && opts.sequence_frame_rate.1 > 0 {
            opts.sequence_frame_rate
        } else {
            (25, 1)
        };
        let fps = rate.0 as f64 / rate.1 as f64;
        // Windows in frames of the nominal rate.
        let skip = opts
            .start_s
            .map(|s| (s * fps).round().max(0.0) as usize)
            .unwrap_or(0);
        files.drain(..skip.min(files.len()));
        if let Some(d) = opts.duration_s {
            files.truncate((d * fps).round().max(0.0) as usize);
        }
        if files.is_empty() {
            return Err(MediaError::NotMedia {
                path: path.to_path_buf(),
                reason: "no frames in the requested window".into(),
            });
        }
        // Only the frames that will be read must be consecutive.
        let read = files.len().min(
            opts.max_frames
                .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX)),
        );
        let short =
            first_gap(&files[..read]).map(|(number, file, missing)| ShortInput::MissingFrames {
                path: path.to_path_buf(),
                number,
                file,
                missing,
            });
        if let Some(s) = &short {
            if opts.on_decode_error == DecodeErrorPolicy::Abort {
                return Err(MediaError::ShortInput(s.clone()));
            }
            tracing::warn!("{s}");
        }
        let files: Vec<PathBuf> = files.into_iter().map(|f| f.path).collect();
        let first = read_image_limited(&files[0], opts.max_pixels)?;
        let codec = files[0]
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| match e.to_ascii_lowercase().as_str() {
                "jpg" | "jpeg" => "mjpeg".to_string(),
                other => other.to_string(),
            })
            .unwrap_or_default();
        let bit_depth = match first.depth {
            crate::SampleDepth::U8 => 8,
            crate::SampleDepth::High { bits } => bits,
        };
        let n = files.len() as u64;
        let info = VideoInfo {
            stream_index: 0,
            codec,
            width: first.width,
            height: first.height,
            pix_fmt: match (first.channels, bit_depth > 8) {
                (1, false) => "gray",
                (2, false) => "ya8",
                (3, false) => "rgb24",
                (4, false) => "rgba",
                (1, true) => "gray16",
                (2, true) => "ya16",
                (3, true) => "rgb48",
                _ => "rgba64",
            }
            .to_string(),
            bit_depth,
            has_alpha: first.has_alpha(),
            time_base: (rate.1, rate.0),
            avg_frame_rate: rate,
            r_frame_rate: rate,
            frame_count: Some(n),
            vfr: false,
            colour: ColourTags::UNSPECIFIED,
            rotation_deg: 0.0,
            hdr: None,
            duration_s: Some(n as f64 / fps),
            channels: first.channels,
            depth: first.depth,
        };
        Ok(ImageSequenceSource {
            path: path.to_path_buf(),
            files,
            next: 0,
            produced: 0,
            first: Some(first),
            info,
            max_frames: opts.max_frames,
            short,
            max_pixels: opts.max_pixels,
            images_read: 1,
        })
    }
}

impl FrameSource for ImageSequenceSource {
    fn info(&self) -> &VideoInfo {
        &self.info
    }

    fn short_input(&self) -> Option<&ShortInput> {
        self.short.as_ref()
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, MediaError> {
        if self.next >= self.files.len() || self.max_frames.is_some_and(|m| self.produced >= m) {
            return Ok(None);
        }
        let mut frame = match self.first.take() {
            Some(f) => f,
            None => {
                self.images_read += 1;
                read_image_limited(&self.files[self.next], self.max_pixels)?
            }
        };
        if frame.width != self.info.width || frame.height != self.info.height {
            return Err(MediaError::FrameMismatch {
                path: self.files[self.next].clone(),
                frame: self.produced,
                reason: format!(
                    "{}x{} image in a {}x{} sequence ({})",
                    frame.width,
                    frame.height,
                    self.info.width,
                    self.info.height,
                    self.path.display()
                ),
            });
        }
        frame = conform_channels(frame, self.info.channels);
        frame.pts = Some(self.produced as i64);
        frame.index = self.produced;
        self.next += 1;
        self.produced += 1;
        Ok(Some(frame))
    }

    /// Frame `i` is the `i`-th file of the list (its timestamp is `i`): straight there.
    fn seek_to_frame(
        &mut self,
        index: u64,
        _cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::SeekReport, MediaError> {
        if index != self.produced {
            // The image read when the source opened is frame 0's.
            self.first = None;
            self.next = usize::try_from(index)
                .unwrap_or(usize::MAX)
                .min(self.files.len());
            self.produced = index;
        }
        Ok(crate::SeekReport {
            seeked: true,
            frames_decoded: 0,
            fallback: None,
        })
    }

    fn frame_times(&self) -> Result<Option<crate::FrameTimes>, MediaError> {
        let frames = self.files.len() as u64;
        Ok(Some(crate::FrameTimes::counted(
            self.max_frames.map_or(frames, |m| m.min(frames)),
        )))
    }

    fn frames_decoded(&self) -> u64 {
        self.images_read
    }
}

/// Converts a frame to `channels` (sequences may mix gray and RGB files; the first decides).
pub(crate) fn conform_channels(frame: Frame, channels: usize) -> Frame {
    if frame.channels == channels {
        return frame;
    }
    let px = frame.width * frame.height;
    let mut data = Vec::with_capacity(px * channels);
    for i in 0..px {
        let s = &frame.data[i * frame.channels..(i + 1) * frame.channels];
        let (rgb, a) = match frame.channels {
            1 => ([s[0]; 3], 1.0),
            2 => ([s[0]; 3], s[1]),
            3 => ([s[0], s[1], s[2]], 1.0),
            _ => ([s[0], s[1], s[2]], s[3]),
        };
        let gray = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
        match channels {
            1 => data.push(gray),
            2 => data.extend([gray, a]),
            3 => data.extend(rgb),
            _ => data.extend([rgb[0], rgb[1], rgb[2], a]),
        }
    }
    Frame {
        channels,
        data,
        ..frame
    }
}

/// Writes frames as numbered images: `pattern` like `out/%06d.png`, numbered from 1 as FFmpeg's
/// image2 muxer does. Each image is written atomically; images already written stay when the
/// sink is dropped early (a partially written sequence is still usable frames).
pub struct ImageSequenceSink {
    pattern: Pattern,
    display: PathBuf,
    overwrite: bool,
    written: u64,
    bytes: u64,
    spec: OutputSpec,
}

impl ImageSequenceSink {
    /// `path` is a pattern, or a directory (existing, or ending with `/`) that gets `%06d.png`.
    pub fn open(path: &Path, spec: &OutputSpec) -> Result<Self, MediaError> {
        let pattern_path = output_pattern_path(path);
        let pattern = Pattern::parse(&pattern_path).ok_or_else(|| MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: "not a frame pattern".into(),
        })?;
        // `format!` rejects runtime widths above u16::MAX; no real frame name needs more than this.
        if pattern.width > MAX_PATTERN_WIDTH {
            return Err(MediaError::InvalidOutput {
                path: path.to_path_buf(),
                reason: format!(
                    "zero-pad width {} in the frame pattern is too large (at most {MAX_PATTERN_WIDTH})",
                    pattern.width
                ),
            });
        }
        if let Some(input) = &spec.source_path {
            crate::input_guard::check_not_input(input, path)?;
        }
        if !pattern.dir.exists() {
            std::fs::create_dir_all(&pattern.dir).map_err(|e| {
                MediaError::OutputDirNotWritable {
                    path: path.to_path_buf(),
                    reason: crate::error::one_line(&e.to_string()),
                }
            })?;
            // Again, now that the folder exists and resolves.
            if let Some(input) = &spec.source_path {
                crate::input_guard::check_not_input(input, path)?;
            }
        }
        // Fail early (before any work) if the first frame's file is taken (its overlap with
        // the input was checked above, for every frame name).
        crate::output::check_output(&pattern.format(1), spec.overwrite, None)?;
        Ok(ImageSequenceSink {
            pattern,
            display: path.to_path_buf(),
            overwrite: spec.overwrite,
            written: 0,
            bytes: 0,
            spec: spec.clone(),
        })
    }
}

impl FrameSink for ImageSequenceSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        let path = self.pattern.format(self.written + 1);
        let frame = depth_for_spec(frame, &self.spec);
        write_image(&path, &frame, self.overwrite)?;
        self.bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        self.written += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<OutputSummary, MediaError> {
        let ext = self
            .pattern
            .suffix
            .rsplit('.')
            .next()
            .unwrap_or("png")
            .to_ascii_lowercase();
        Ok(OutputSummary {
            path: self.display,
            frames: self.written,
            bytes: self.bytes,
            codec: ext,
            pix_fmt: String::new(),
            copied_streams: 0,
            copied_packets: 0,
            alpha_dropped: false,
        })
    }
}

/// A frame with the sink's requested depth (so U8 specs write 8-bit files from any frame).
fn depth_for_spec(frame: &Frame, spec: &OutputSpec) -> Frame {
    let mut f = frame.clone();
    f.depth = spec.depth;
    f
}

/// Writes exactly one frame to one image file (atomically, in `finish`).
pub struct SingleImageSink {
    path: PathBuf,
    spec: OutputSpec,
    frame: Option<Frame>,
}

impl SingleImageSink {
    pub fn open(path: &Path, spec: &OutputSpec) -> Result<Self, MediaError> {
        crate::output::check_output(path, spec.overwrite, spec.source_path.as_deref())?;
        Ok(SingleImageSink {
            path: path.to_path_buf(),
            spec: spec.clone(),
            frame: None,
        })
    }
}

impl FrameSink for SingleImageSink {
    fn write_frame(&mut self, frame: &Frame) -> Result<(), MediaError> {
        if self.frame.is_some() {
            return Err(MediaError::InvalidOutput {
                path: self.path.clone(),
                reason: "a single image output got more than one frame; use a pattern such as frames/%06d.png".into(),
            });
        }
        self.frame = Some(depth_for_spec(frame, &self.spec));
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<OutputSummary, MediaError> {
        let frame = self.frame.ok_or_else(|| MediaError::InvalidOutput {
            path: self.path.clone(),
            reason: "no frame was written".into(),
        })?;
        write_image(&self.path, &frame, self.spec.overwrite)?;
        Ok(OutputSummary {
            path: self.path.clone(),
            frames: 1,
            bytes: std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0),
            codec: self
                .path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase(),
            pix_fmt: String::new(),
            copied_streams: 0,
            copied_packets: 0,
            alpha_dropped: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut v = vec![
            "f10.png", "f2.png", "f1.png", "f02.png", "a.png", "f100.png",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec!["a.png", "f1.png", "f2.png", "f02.png", "f10.png", "f100.png"]
        );
    }
}
