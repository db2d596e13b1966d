//! HDR10 static metadata (SMPTE ST 2086 mastering display, CTA-861.3 content light level):
//! read from stream or frame side data, written as stream side data (containers) and as
//! libx265 parameters (SEI in the bitstream).

use std::ffi::{c_int, c_uint};

use ffmpeg_next::ffi;

use crate::types::{HdrMetadata, MasteringDisplay};

/// Layout of FFmpeg's `AVMasteringDisplayMetadata` (libavutil/mastering_display_metadata.h).
#[repr(C)]
#[derive(Clone, Copy)]
struct FfMastering {
    display_primaries: [[ffi::AVRational; 2]; 3],
    white_point: [ffi::AVRational; 2],
    min_luminance: ffi::AVRational,
    max_luminance: ffi::AVRational,
    has_primaries: c_int,
    has_luminance: c_int,
}

/// Layout of FFmpeg's `AVContentLightMetadata`.
#[repr(C)]
#[derive(Clone, Copy)]
struct FfLight {
    max_cll: c_uint,
    max_fall: c_uint,
}

fn q(r: ffi::AVRational) -> f64 {
    if r.den == 0 {
        0.0
    } else {
        r.num as f64 / r.den as f64
    }
}

fn rq(v: f64, den: i32) -> ffi::AVRational {
    ffi::AVRational {
        num: (v * den as f64).round() as i32,
        den,
    }
}

/// # Safety
/// `p` must point at `size` readable bytes of side data of the matching type (or be null).
unsafe fn parse(mastering: (*const u8, usize), light: (*const u8, usize)) -> Option<HdrMetadata> {
    let mut out = HdrMetadata::default();
    if !mastering.0.is_null() && mastering.1 >= std::mem::size_of::<FfMastering>() {
        let m = std::ptr::read_unaligned(mastering.0 as *const FfMastering);
        if m.has_primaries != 0 || m.has_luminance != 0 {
            let p = |i: usize| (q(m.display_primaries[i][0]), q(m.display_primaries[i][1]));
            out.mastering = Some(MasteringDisplay {
                red: p(0),
                green: p(1),
                blue: p(2),
                white_point: (q(m.white_point[0]), q(m.white_point[1])),
                min_luminance: q(m.min_luminance),
                max_luminance: q(m.max_luminance),
            });
        }
    }
    if !light.0.is_null() && light.1 >= std::mem::size_of::<FfLight>() {
        let l = std::ptr::read_unaligned(light.0 as *const FfLight);
        out.max_cll = Some((l.max_cll, l.max_fall));
    }
    (out.mastering.is_some() || out.max_cll.is_some()).then_some(out)
}

/// HDR metadata stored on a stream (Matroska Colour, MP4 mdcv/clli), if any.
pub(crate) fn from_stream(stream: &ffmpeg_next::format::stream::Stream) -> Option<HdrMetadata> {
    // SAFETY: reads the stream's side data with the sizes FFmpeg reports.
    unsafe {
        let get = |t| {
            let mut size = 0usize;
            let p = ffi::av_stream_get_side_data(stream.as_ptr(), t, &mut size);
            (p as *const u8, size)
        };
        parse(
            get(ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA),
            get(ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL),
        )
    }
}

/// HDR metadata attached to a decoded frame (HEVC/AV1 SEI/OBU), if any.
pub(crate) fn from_frame(frame: &ffmpeg_next::frame::Video) -> Option<HdrMetadata> {
    // SAFETY: reads side data entries of a valid frame.
    unsafe {
        let get = |t| {
            let sd = ffi::av_frame_get_side_data(frame.as_ptr(), t);
            if sd.is_null() {
                (std::ptr::null(), 0)
            } else {
                ((*sd).data as *const u8, (*sd).size)
            }
        };
        parse(
            get(ffi::AVFrameSideDataType::AV_FRAME_DATA_MASTERING_DISPLAY_METADATA),
            get(ffi::AVFrameSideDataType::AV_FRAME_DATA_CONTENT_LIGHT_LEVEL),
        )
    }
}

/// Attaches the metadata to an output stream (before the header is written).
pub(crate) fn attach_to_stream(stream: *mut ffi::AVStream, hdr: &HdrMetadata) {
    // SAFETY: allocates side data owned by the stream and fills it with plain values.
    unsafe {
        if let Some(m) = &hdr.mastering {
            let p = ffi::av_stream_new_side_data(
                stream,
                ffi::AVPacketSideDataType::AV_PKT_DATA_MASTERING_DISPLAY_METADATA,
                std::mem::size_of::<FfMastering>(),
            );
            if !p.is_null() {
                let c = |xy: (f64, f64)| [rq(xy.0, 50000), rq(xy.1, 50000)];
                let v = FfMastering {
                    display_primaries: [c(m.red), c(m.green), c(m.blue)],
                    white_point: c(m.white_point),
                    min_luminance: rq(m.min_luminance, 10000),
                    max_luminance: rq(m.max_luminance, 10000),
                    has_primaries: 1,
                    has_luminance: 1,
                };
                std::ptr::write_unaligned(p as *mut FfMastering, v);
            }
        }
        if let Some((cll, fall)) = hdr.max_cll {
            let p = ffi::av_stream_new_side_data(
                stream,
                ffi::AVPacketSideDataType::AV_PKT_DATA_CONTENT_LIGHT_LEVEL,
                std::mem::size_of::<FfLight>(),
            );
            if !p.is_null() {
                std::ptr::write_unaligned(
                    p as *mut FfLight,
                    FfLight {
                        max_cll: cll,
                        max_fall: fall,
                    },
                );
            }
        }
    }
}

/// libx265 parameters carrying the metadata (`master-display=G(..)B(..)R(..)WP(..)L(..)`,
/// `max-cll=`), in x265's units (0.00002 for chromaticity, 0.0001 cd/m² for luminance).
pub(crate) fn x265_params(hdr: &HdrMetadata) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(m) = &hdr.mastering {
        let c = |xy: (f64, f64)| {
            format!(
                "({},{})",
                (xy.0 * 50000.0).round() as i64,
                (xy.1 * 50000.0).round() as i64
            )
        };
        v.push(format!(
            "master-display=G{}B{}R{}WP{}L({},{})",
            c(m.green),
            c(m.blue),
            c(m.red),
            c(m.white_point),
            (m.max_luminance * 10000.0).round() as i64,
            (m.min_luminance * 10000.0).round() as i64
        ));
    }
    if let Some((cll, fall)) = hdr.max_cll {
        v.push(format!("max-cll={cll},{fall}"));
    }
    v
}
