//! Colour tags ↔ FFmpeg enums, and the pixel converter (swscale with explicit YUV matrix and
//! range, so conversion follows the stream's tags rather than swscale's guesses).

use ffmpeg_next::ffi;
use ffmpeg_next::format::Pixel;

use crate::types::{ColourRange, ColourTags};

/// Reads the tags of a decoder/encoder context or frame (raw FFmpeg enums).
pub(crate) fn tags_from_ff(
    primaries: ffi::AVColorPrimaries,
    transfer: ffi::AVColorTransferCharacteristic,
    matrix: ffi::AVColorSpace,
    range: ffi::AVColorRange,
) -> ColourTags {
    ColourTags {
        primaries: primaries as u32 as u8,
        transfer: transfer as u32 as u8,
        matrix: matrix as u32 as u8,
        range: match range {
            ffi::AVColorRange::AVCOL_RANGE_MPEG => ColourRange::Limited,
            ffi::AVColorRange::AVCOL_RANGE_JPEG => ColourRange::Full,
            _ => ColourRange::Unspecified,
        },
    }
}

pub(crate) fn primaries_to_ff(code: u8) -> ffi::AVColorPrimaries {
    use ffi::AVColorPrimaries::*;
    match code {
        1 => AVCOL_PRI_BT709,
        4 => AVCOL_PRI_BT470M,
        5 => AVCOL_PRI_BT470BG,
        6 => AVCOL_PRI_SMPTE170M,
        7 => AVCOL_PRI_SMPTE240M,
        8 => AVCOL_PRI_FILM,
        9 => AVCOL_PRI_BT2020,
        10 => AVCOL_PRI_SMPTE428,
        11 => AVCOL_PRI_SMPTE431,
        12 => AVCOL_PRI_SMPTE432,
        22 => AVCOL_PRI_EBU3213,
        _ => AVCOL_PRI_UNSPECIFIED,
    }
}

pub(crate) fn transfer_to_ff(code: u8) -> ffi::AVColorTransferCharacteristic {
    use ffi::AVColorTransferCharacteristic::*;
    match code {
        1 => AVCOL_TRC_BT709,
        4 => AVCOL_TRC_GAMMA22,
        5 => AVCOL_TRC_GAMMA28,
        6 => AVCOL_TRC_SMPTE170M,
        7 => AVCOL_TRC_SMPTE240M,
        8 => AVCOL_TRC_LINEAR,
        9 => AVCOL_TRC_LOG,
        10 => AVCOL_TRC_LOG_SQRT,
        11 => AVCOL_TRC_IEC61966_2_4,
        12 => AVCOL_TRC_BT1361_ECG,
        13 => AVCOL_TRC_IEC61966_2_1,
        14 => AVCOL_TRC_BT2020_10,
        15 => AVCOL_TRC_BT2020_12,
        16 => AVCOL_TRC_SMPTE2084,
        17 => AVCOL_TRC_SMPTE428,
        18 => AVCOL_TRC_ARIB_STD_B67,
        _ => AVCOL_TRC_UNSPECIFIED,
    }
}

pub(crate) fn matrix_to_ff(code: u8) -> ffi::AVColorSpace {
    use ffi::AVColorSpace::*;
    match code {
        0 => AVCOL_SPC_RGB,
        1 => AVCOL_SPC_BT709,
        4 => AVCOL_SPC_FCC,
        5 => AVCOL_SPC_BT470BG,
        6 => AVCOL_SPC_SMPTE170M,
        7 => AVCOL_SPC_SMPTE240M,
        8 => AVCOL_SPC_YCGCO,
        9 => AVCOL_SPC_BT2020_NCL,
        10 => AVCOL_SPC_BT2020_CL,
        11 => AVCOL_SPC_SMPTE2085,
        12 => AVCOL_SPC_CHROMA_DERIVED_NCL,
        13 => AVCOL_SPC_CHROMA_DERIVED_CL,
        14 => AVCOL_SPC_ICTCP,
        _ => AVCOL_SPC_UNSPECIFIED,
    }
}

pub(crate) fn range_to_ff(range: ColourRange) -> ffi::AVColorRange {
    match range {
        ColourRange::Limited => ffi::AVColorRange::AVCOL_RANGE_MPEG,
        ColourRange::Full => ffi::AVColorRange::AVCOL_RANGE_JPEG,
        ColourRange::Unspecified => ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED,
    }
}

/// The swscale coefficient set (`SWS_CS_*`) for a matrix tag. Untagged video follows FFmpeg's
/// and players' convention: BT.709 for HD (wider than 1024 or taller than 576), else BT.601.
pub(crate) fn sws_matrix(matrix: u8, width: usize, height: usize) -> i32 {
    match matrix {
        1 => ffi::SWS_CS_ITU709,
        4 => ffi::SWS_CS_FCC,
        5 | 6 => ffi::SWS_CS_ITU601,
        7 => ffi::SWS_CS_SMPTE240M,
        9 | 10 => ffi::SWS_CS_BT2020,
        _ if width > 1024 || height > 576 => ffi::SWS_CS_ITU709,
        _ => ffi::SWS_CS_ITU601,
    }
}

/// Whether YUV samples of `fmt` with `range` are full range (the deprecated `yuvj*` formats are).
pub(crate) fn is_full_range(fmt: Pixel, range: ColourRange) -> bool {
    matches!(
        fmt,
        Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P | Pixel::YUVJ411P
    ) || range == ColourRange::Full
}

/// `yuvj*` formats are deprecated aliases; swscale wants the plain format plus a range flag.
fn dejpeg(fmt: Pixel) -> Pixel {
    match fmt {
        Pixel::YUVJ420P => Pixel::YUV420P,
        Pixel::YUVJ422P => Pixel::YUV422P,
        Pixel::YUVJ444P => Pixel::YUV444P,
        Pixel::YUVJ440P => Pixel::YUV440P,
        Pixel::YUVJ411P => Pixel::YUV411P,
        other => other,
    }
}

/// A same-size pixel-format converter with explicit YUV matrix and range on both sides.
pub(crate) struct Converter {
    ctx: *mut ffi::SwsContext,
    pub src: Pixel,
    pub dst: Pixel,
    pub width: u32,
    pub height: u32,
    key: (i32, bool, i32, bool),
}

// SAFETY: the SwsContext is owned exclusively by this struct and only used through &mut self.
unsafe impl Send for Converter {}

impl Converter {
    /// `src_matrix`/`dst_matrix` are `SWS_CS_*` values; ranges say whether YUV is full range
    /// (ignored by swscale for RGB sides).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        src: Pixel,
        dst: Pixel,
        width: u32,
        height: u32,
        src_matrix: i32,
        src_full: bool,
        dst_matrix: i32,
        dst_full: bool,
    ) -> Result<Self, String> {
        let flags = ffi::SWS_BICUBIC
            | ffi::SWS_ACCURATE_RND
            | ffi::SWS_FULL_CHR_H_INT
            | ffi::SWS_FULL_CHR_H_INP
            | ffi::SWS_BITEXACT;
        // SAFETY: plain constructor; a null return is handled.
        let ctx = unsafe {
            ffi::sws_getContext(
                width as i32,
                height as i32,
                dejpeg(src).into(),
                width as i32,
                height as i32,
                dejpeg(dst).into(),
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        };
        if ctx.is_null() {
            return Err(format!(
                "no conversion from {} to {}",
                crate::pixfmt::pixel_name(src),
                crate::pixfmt::pixel_name(dst)
            ));
        }
        let conv = Converter {
            ctx,
            src,
            dst,
            width,
            height,
            key: (src_matrix, src_full, dst_matrix, dst_full),
        };
        // SAFETY: ctx is valid; coefficient tables are static in libswscale.
        unsafe {
            let ret = ffi::sws_setColorspaceDetails(
                ctx,
                ffi::sws_getCoefficients(src_matrix),
                src_full as i32,
                ffi::sws_getCoefficients(dst_matrix),
                dst_full as i32,
                0,
                1 << 16,
                1 << 16,
            );
            if ret < 0 {
                tracing::warn!("swscale ignored colour-space details for {src:?} -> {dst:?}");
            }
        }
        Ok(conv)
    }

    pub fn matches(&self, src: Pixel, w: u32, h: u32, key: (i32, bool, i32, bool)) -> bool {
        self.src == src && self.width == w && self.height == h && self.key == key
    }

    pub fn run(
        &mut self,
        input: &ffmpeg_next::frame::Video,
        output: &mut ffmpeg_next::frame::Video,
    ) -> Result<(), String> {
        if output.format() != self.dst
            || output.width() != self.width
            || output.height() != self.height
        {
            *output = ffmpeg_next::frame::Video::new(self.dst, self.width, self.height);
        }
        // SAFETY: both frames are allocated with the sizes/formats the context was built for.
        let ret = unsafe {
            let inp = input.as_ptr();
            let out = output.as_mut_ptr();
            ffi::sws_scale(
                self.ctx,
                (*inp).data.as_ptr() as *const *const u8,
                (*inp).linesize.as_ptr(),
                0,
                self.height as i32,
                (*out).data.as_ptr(),
                (*out).linesize.as_ptr(),
            )
        };
        if ret < 0 {
            return Err(format!("swscale failed ({ret})"));
        }
        Ok(())
    }
}

impl Drop for Converter {
    fn drop(&mut self) {
        // SAFETY: ctx came from sws_getContext and is freed once.
        unsafe { ffi::sws_freeContext(self.ctx) }
    }
}
