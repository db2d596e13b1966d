//! Pixel formats: FFmpeg's names for them (both ways), what a format holds (depth, alpha,
//! gray) and the packed format a frame layout converts through. Shared by the decoder, the
//! encoder and the colour converter, none of which owns them.

use std::path::Path;

use ffmpeg_next::ffi;
use ffmpeg_next::format::Pixel;

use crate::error::MediaError;
use crate::frame::SampleDepth;

/// The pixel format FFmpeg calls `name`; an unknown name is an invalid output `path`.
pub(crate) fn pixel_named(path: &Path, name: &str) -> Result<Pixel, MediaError> {
    let c = std::ffi::CString::new(name).map_err(|_| MediaError::InvalidOutput {
        path: path.to_path_buf(),
        reason: format!("bad pixel format name '{name}'"),
    })?;
    // SAFETY: av_get_pix_fmt takes a NUL-terminated name and returns NONE when unknown.
    let fmt = unsafe { ffi::av_get_pix_fmt(c.as_ptr()) };
    if fmt == ffi::AVPixelFormat::AV_PIX_FMT_NONE {
        return Err(MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: format!("unknown pixel format '{name}'"),
        });
    }
    Ok(Pixel::from(fmt))
}

/// FFmpeg's name of `p` ("yuv420p", ...).
pub(crate) fn pixel_name(p: Pixel) -> String {
    p.descriptor()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|| format!("pixel format #{}", ffi::AVPixelFormat::from(p) as i32))
}

/// What a pixel format holds: its bit depth, whether it has alpha, whether it is gray.
pub(crate) struct PixInfo {
    pub bit_depth: u8,
    pub has_alpha: bool,
    pub gray: bool,
}

/// [`PixInfo`] of `fmt` from FFmpeg's descriptor (8-bit colour without alpha when unknown).
pub(crate) fn pix_info(fmt: Pixel) -> PixInfo {
    let raw: ffi::AVPixelFormat = fmt.into();
    // SAFETY: av_pix_fmt_desc_get returns null or a static descriptor.
    unsafe {
        let d = ffi::av_pix_fmt_desc_get(raw);
        if d.is_null() {
            return PixInfo {
                bit_depth: 8,
                has_alpha: false,
                gray: false,
            };
        }
        let d = &*d;
        let has_alpha = d.flags & ffi::AV_PIX_FMT_FLAG_ALPHA as u64 != 0;
        let is_rgb = d.flags & ffi::AV_PIX_FMT_FLAG_RGB as u64 != 0;
        let is_pal = d.flags & ffi::AV_PIX_FMT_FLAG_PAL as u64 != 0;
        let colour_comps = d.nb_components as i32 - has_alpha as i32;
        PixInfo {
            bit_depth: if is_pal {
                8
            } else {
                d.comp[0].depth.clamp(1, 32) as u8
            },
            has_alpha,
            gray: colour_comps == 1 && !is_rgb && !is_pal,
        }
    }
}

/// Target swscale format for a frame layout.
pub(crate) fn packed_format(channels: usize, depth: SampleDepth) -> Pixel {
    let high = matches!(depth, SampleDepth::High { .. });
    match (channels, high) {
        (1, false) => Pixel::GRAY8,
        (2, false) => Pixel::YA8,
        (3, false) => Pixel::RGB24,
        (4, false) => Pixel::RGBA,
        (1, true) => Pixel::GRAY16LE,
        (2, true) => Pixel::YA16LE,
        (3, true) => Pixel::RGB48LE,
        _ => Pixel::RGBA64LE,
    }
}
