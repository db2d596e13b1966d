//! Still images (PNG, JPEG, WebP, TIFF, BMP) ↔ [`Frame`], with the `image` crate: 8/16-bit gray, gray+alpha,
//! RGB and RGBA. Writes are atomic (temporary file beside the target, then rename).

use std::path::Path;

use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat};

use crate::error::{check_input_file, MediaError};
use crate::frame::{Frame, SampleDepth};
use crate::output::PartialFile;
use crate::types::DEFAULT_MAX_PIXELS;

/// Reads an image into a frame: 8-bit images give `SampleDepth::U8`, 16-bit ones
/// `SampleDepth::High { bits: 16 }`; channels follow the file (1 gray … 4 RGBA). Images over
/// [`DEFAULT_MAX_PIXELS`] are refused (see [`read_image_limited`]).
pub fn read_image(path: &Path) -> Result<Frame, MediaError> {
    read_image_limited(path, DEFAULT_MAX_PIXELS)
}

/// [`read_image`] refusing images of more than `max_pixels` pixels from their header, before
/// anything is decoded, with the wording of the jobs' `--max-pixels` check. Up to that size
/// the decoder may allocate what the image needs (the `image` crate's own default, 512 MiB,
/// would refuse a 14000×14000 RGB image as "Memory limit exceeded").
pub fn read_image_limited(path: &Path, max_pixels: u64) -> Result<Frame, MediaError> {
    check_input_file(path)?;
    let mut reader = image::ImageReader::open(path)
        .map_err(|e| MediaError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| MediaError::io(path, e))?;
    let mut limits = image::Limits::default();
    // 16-bit RGBA at the pixel limit, plus the decoder's working rows.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    // The header is read without limits, so an oversized image meets the size check below,
    // not a decoder's memory limit.
    reader.limits(image::Limits::no_limits());
    let not_media = |e: image::ImageError| MediaError::NotMedia {
        path: path.to_path_buf(),
        reason: crate::error::one_line(&e.to_string()),
    };
    // One opening: the header gives the size, checked before anything is decoded; then the
    // steps of `ImageReader::decode` (reserve the image's bytes, decode).
    let mut decoder = reader.into_decoder().map_err(not_media)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > max_pixels {
        return Err(MediaError::Image {
            path: path.to_path_buf(),
            reason: format!(
                "invalid size {w}x{h}: the input frames are larger than the limit of \
                 {max_pixels} pixels (--max-pixels)"
            ),
        });
    }
    limits.reserve(decoder.total_bytes()).map_err(not_media)?;
    decoder.set_limits(limits).map_err(not_media)?;
    let img = DynamicImage::from_decoder(decoder).map_err(not_media)?;
    Ok(image_to_frame(img))
}

pub(crate) fn image_to_frame(img: DynamicImage) -> Frame {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let u8s = |v: &[u8]| v.iter().map(|&b| b as f32 / 255.0).collect::<Vec<f32>>();
    let u16s = |v: &[u16]| v.iter().map(|&b| b as f32 / 65535.0).collect::<Vec<f32>>();
    let high = SampleDepth::High { bits: 16 };
    let (channels, depth, data) = match img {
        DynamicImage::ImageLuma8(b) => (1, SampleDepth::U8, u8s(b.as_raw())),
        DynamicImage::ImageLumaA8(b) => (2, SampleDepth::U8, u8s(b.as_raw())),
        DynamicImage::ImageRgb8(b) => (3, SampleDepth::U8, u8s(b.as_raw())),
        DynamicImage::ImageRgba8(b) => (4, SampleDepth::U8, u8s(b.as_raw())),
        DynamicImage::ImageLuma16(b) => (1, high, u16s(b.as_raw())),
        DynamicImage::ImageLumaA16(b) => (2, high, u16s(b.as_raw())),
        DynamicImage::ImageRgb16(b) => (3, high, u16s(b.as_raw())),
        DynamicImage::ImageRgba16(b) => (4, high, u16s(b.as_raw())),
        DynamicImage::ImageRgb32F(b) => (
            3,
            high,
            b.as_raw().iter().map(|v| v.clamp(0.0, 1.0)).collect(),
        ),
        other => {
            let b = other.to_rgba32f();
            (
                4,
                high,
                b.as_raw().iter().map(|v| v.clamp(0.0, 1.0)).collect(),
            )
        }
    };
    Frame {
        width: w,
        height: h,
        channels,
        depth,
        data,
        pts: None,
        index: 0,
    }
}

/// Refuses an image output whose extension names no format we write.
pub(crate) fn check_image_format(path: &Path) -> Result<(), MediaError> {
    format_for(path).map(|_| ())
}

fn format_for(path: &Path) -> Result<ImageFormat, MediaError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => Ok(ImageFormat::Png),
        "jpg" | "jpeg" => Ok(ImageFormat::Jpeg),
        "webp" => Ok(ImageFormat::WebP),
        "tif" | "tiff" => Ok(ImageFormat::Tiff),
        "bmp" => Ok(ImageFormat::Bmp),
        _ => Err(MediaError::InvalidOutput {
            path: path.to_path_buf(),
            reason: format!("unknown image extension '.{ext}' (use png, jpg, webp, tif or bmp)"),
        }),
    }
}

fn to_u8(v: &[f32]) -> Vec<u8> {
    v.iter()
        .map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

fn to_u16(v: &[f32]) -> Vec<u16> {
    v.iter()
        .map(|x| (x.clamp(0.0, 1.0) * 65535.0).round() as u16)
        .collect()
}

/// Converts a frame to an image the target format can store: PNG and TIFF keep everything
/// (16-bit for high-depth frames; TIFF stores gray+alpha as RGBA); JPEG is 8-bit without alpha;
/// WebP (lossless) and BMP are 8-bit.
pub(crate) fn frame_to_image(
    path: &Path,
    frame: &Frame,
    format: ImageFormat,
) -> Result<DynamicImage, MediaError> {
    let (w, h) = (frame.width as u32, frame.height as u32);
    if frame.data.len() != frame.width * frame.height * frame.channels
        || frame.channels == 0
        || frame.channels > 4
    {
        return Err(MediaError::FrameMismatch {
            path: path.to_path_buf(),
            frame: frame.index,
            reason: format!(
                "{}x{}x{} frame holds {} samples",
                frame.width,
                frame.height,
                frame.channels,
                frame.data.len()
            ),
        });
    }
    let bad = || MediaError::other(path, "image buffer size mismatch");
    let high = matches!(frame.depth, SampleDepth::High { .. })
        && matches!(format, ImageFormat::Png | ImageFormat::Tiff);
    let img = if high {
        let d = to_u16(&frame.data);
        match frame.channels {
            1 => DynamicImage::ImageLuma16(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            2 => DynamicImage::ImageLumaA16(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            3 => DynamicImage::ImageRgb16(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            _ => DynamicImage::ImageRgba16(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
        }
    } else {
        let d = to_u8(&frame.data);
        match frame.channels {
            1 => DynamicImage::ImageLuma8(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            2 => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            3 => DynamicImage::ImageRgb8(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
            _ => DynamicImage::ImageRgba8(ImageBuffer::from_raw(w, h, d).ok_or_else(bad)?),
        }
    };
    Ok(match format {
        ImageFormat::Jpeg if frame.has_alpha() => {
            tracing::warn!("{}: JPEG cannot store alpha; dropping it", path.display());
            if frame.channels == 2 {
                DynamicImage::ImageLuma8(img.to_luma8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            }
        }
        // The TIFF encoder has no gray+alpha layout.
        ImageFormat::Tiff if frame.channels == 2 => {
            if high {
                DynamicImage::ImageRgba16(img.to_rgba16())
            } else {
                DynamicImage::ImageRgba8(img.to_rgba8())
            }
        }
        ImageFormat::WebP if frame.channels <= 2 => {
            // The WebP encoder takes RGB(A) only.
            if frame.channels == 2 {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            }
        }
        _ => img,
    })
}

/// Writes one frame as an image, atomically. Refuses to replace an existing file unless
/// `overwrite`.
pub fn write_image(path: &Path, frame: &Frame, overwrite: bool) -> Result<(), MediaError> {
    let format = format_for(path)?;
    let img = frame_to_image(path, frame, format)?;
    let partial = PartialFile::create(path, overwrite, None)?;
    img.save_with_format(partial.temp_path(), format)
        .map_err(|e| MediaError::Write {
            path: path.to_path_buf(),
            reason: crate::error::one_line(&e.to_string()),
        })?;
    partial.commit()?;
    Ok(())
}
