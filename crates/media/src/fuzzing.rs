//! Entry points for the fuzz targets in `fuzz/` (not part of the supported API): they expose
//! crate-private parsers to `cargo fuzz` without making them public.

use std::path::Path;

use crate::naming::{Pattern, MAX_PATTERN_WIDTH};

/// Frame numbers formatted through a parsed pattern: the first ones, the 32-bit edge, the
/// largest.
const NUMBERS: [u64; 5] = [0, 1, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX];

/// Parses `path` as an image-sequence pattern (`frames/%06d.png`) the way sources and sinks do.
/// `None` when it is not a pattern; otherwise the pattern's zero-pad width and, when the width
/// is one the sink accepts (at most `MAX_PATTERN_WIDTH`; the sink refuses larger ones before
/// formatting), the paths of frames 0, 1, 2^32-1, 2^32 and `u64::MAX` (lossy UTF-8). Never
/// panics.
pub fn sequence_pattern(path: &str) -> Option<(usize, Vec<String>)> {
    let pattern = Pattern::parse(Path::new(path))?;
    let width = pattern.width();
    if width > MAX_PATTERN_WIDTH {
        return Some((width, Vec::new()));
    }
    let names = NUMBERS
        .iter()
        .map(|&n| pattern.format(n).to_string_lossy().into_owned())
        .collect();
    Some((width, names))
}
