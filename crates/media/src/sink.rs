//! Sink selection by output path, and the FFmpeg video sink (encoder + muxer + passthrough).

use std::path::Path;

use crate::error::MediaError;
use crate::source::has_image_extension;
use crate::types::OutputSpec;
use crate::FrameSink;

pub(crate) fn open_sink(
    final_path: &Path,
    spec: &OutputSpec,
) -> Result<Box<dyn FrameSink>, MediaError> {
    let ends_with_slash = final_path.as_os_str().to_string_lossy().ends_with('/');
    if crate::sequence::is_pattern(final_path) || ends_with_slash || final_path.is_dir() {
        return Ok(Box::new(crate::sequence::ImageSequenceSink::open(
            final_path, spec,
        )?));
    }
    if has_image_extension(final_path) {
        return Ok(Box::new(crate::sequence::SingleImageSink::open(
            final_path, spec,
        )?));
    }
    Err(MediaError::Unsupported {
        path: final_path.to_path_buf(),
        what: "video output".into(),
        reason: "not implemented yet".into(),
    })
}
