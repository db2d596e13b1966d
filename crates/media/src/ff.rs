//! Small FFmpeg helpers: one-time init, opening inputs with one-line errors, rationals, stream
//! side data.

use std::path::Path;
use std::sync::Once;

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;

use crate::error::{check_input_file, one_line, MediaError};

static INIT: Once = Once::new();

/// Initialises FFmpeg once and keeps its log quiet (errors only) so progress output stays
/// readable; set `UPFRAME_FFMPEG_LOG=warning` (or any FFmpeg level name) to see more.
pub(crate) fn init() {
    INIT.call_once(|| {
        let _ = ffmpeg_next::init();
        let level = match std::env::var("UPFRAME_FFMPEG_LOG").as_deref() {
            Ok("quiet") => ffmpeg_next::log::Level::Quiet,
            Ok("warning") => ffmpeg_next::log::Level::Warning,
            Ok("info") => ffmpeg_next::log::Level::Info,
            Ok("verbose") => ffmpeg_next::log::Level::Verbose,
            Ok("debug") => ffmpeg_next::log::Level::Debug,
            _ => ffmpeg_next::log::Level::Fatal,
        };
        ffmpeg_next::log::set_level(level);
        crate::fflog::install();
    });
}

/// Opens a media file for demuxing (stream info probed), with one-line errors.
pub(crate) fn open_input(path: &Path) -> Result<Input, MediaError> {
    init();
    check_input_file(path)?;
    ffmpeg_next::format::input(&path).map_err(|e| {
        let reason = one_line(&e.to_string());
        match sniff_format(path) {
            Some(format) => MediaError::Damaged {
                path: path.to_path_buf(),
                format,
                reason,
            },
            None => MediaError::NotMedia {
                path: path.to_path_buf(),
                reason,
            },
        }
    })
}

/// The container FFmpeg recognises from the first bytes of `path` with a confident score
/// (tells "damaged video" apart from "not a video at all").
fn sniff_format(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    let mut file = std::fs::File::open(path).ok()?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    // FFmpeg wants AVPROBE_PADDING_SIZE zero bytes after the data.
    buf.truncate(n);
    buf.extend(std::iter::repeat_n(0u8, ffi::AVPROBE_PADDING_SIZE as usize));
    let name = std::ffi::CString::new(path.to_string_lossy().as_bytes()).ok()?;
    let pd = ffi::AVProbeData {
        filename: name.as_ptr(),
        buf: buf.as_mut_ptr(),
        buf_size: n as i32,
        mime_type: std::ptr::null(),
    };
    let mut score = 0;
    // SAFETY: pd points at our buffer (with padding) for the duration of the call.
    let fmt = unsafe { ffi::av_probe_input_format2(&pd, 1, &mut score) };
    if fmt.is_null() || score <= ffi::AVPROBE_SCORE_EXTENSION {
        return None;
    }
    // SAFETY: static demuxer description.
    let long = unsafe { std::ffi::CStr::from_ptr((*fmt).name) }
        .to_string_lossy()
        .into_owned();
    Some(long)
}

pub(crate) fn rat(r: ffmpeg_next::Rational) -> (i32, i32) {
    (r.numerator(), r.denominator())
}

pub(crate) fn to_rat(r: (i32, i32)) -> ffmpeg_next::Rational {
    ffmpeg_next::Rational::new(r.0, r.1)
}

/// Seconds of `ts` in `tb`.
pub(crate) fn ts_to_s(ts: i64, tb: (i32, i32)) -> f64 {
    ts as f64 * tb.0 as f64 / tb.1 as f64
}

/// `s` seconds as a timestamp in `tb` (rounded to nearest).
pub(crate) fn s_to_ts(s: f64, tb: (i32, i32)) -> i64 {
    (s * tb.1 as f64 / tb.0 as f64).round() as i64
}

/// Rescales a timestamp between time bases, rounding to nearest (as av_rescale_q).
pub(crate) fn rescale(ts: i64, from: (i32, i32), to: (i32, i32)) -> i64 {
    // SAFETY: pure arithmetic.
    unsafe {
        ffi::av_rescale_q(
            ts,
            ffi::AVRational {
                num: from.0,
                den: from.1,
            },
            ffi::AVRational {
                num: to.0,
                den: to.1,
            },
        )
    }
}

/// The display rotation of a stream (degrees counter-clockwise, 0 when none).
pub(crate) fn stream_rotation(stream: &ffmpeg_next::format::stream::Stream) -> f64 {
    // SAFETY: reads the stream's side data; the matrix is 9 int32 when present.
    unsafe {
        let mut size: usize = 0;
        let data = ffi::av_stream_get_side_data(
            stream.as_ptr(),
            ffi::AVPacketSideDataType::AV_PKT_DATA_DISPLAYMATRIX,
            &mut size,
        );
        if data.is_null() || size < 36 {
            return 0.0;
        }
        let r = ffi::av_display_rotation_get(data as *const i32);
        if r.is_nan() {
            0.0
        } else {
            normalise_degrees(r)
        }
    }
}

/// Maps an angle to (-180, 180], cleaning float noise like -0.0 and 179.99999.
pub(crate) fn normalise_degrees(d: f64) -> f64 {
    let mut r = d % 360.0;
    if r <= -180.0 {
        r += 360.0;
    } else if r > 180.0 {
        r -= 360.0;
    }
    let rounded = (r * 1000.0).round() / 1000.0;
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// FFmpeg's short name of a codec id.
pub(crate) fn codec_name(id: ffmpeg_next::codec::Id) -> String {
    // SAFETY: avcodec_get_name returns a static string for any id.
    unsafe {
        let p = ffi::avcodec_get_name(id.into());
        if p.is_null() {
            return "unknown".into();
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// "avcodec A.B.C, avformat A.B.C, swscale A.B.C" of the linked libraries.
pub(crate) fn library_versions() -> String {
    let v = |n: u32| format!("{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff);
    // SAFETY: the version functions return constants of the linked libraries.
    let (c, f, s) = unsafe {
        (
            ffmpeg_next::ffi::avcodec_version(),
            ffmpeg_next::ffi::avformat_version(),
            ffmpeg_next::ffi::swscale_version(),
        )
    };
    format!("avcodec {}, avformat {}, swscale {}", v(c), v(f), v(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_normalise_to_half_open_range() {
        assert_eq!(normalise_degrees(-180.0), 180.0);
        assert_eq!(normalise_degrees(270.0), -90.0);
        assert_eq!(normalise_degrees(-0.0), 0.0);
        assert_eq!(normalise_degrees(179.99999), 180.0);
    }

    #[test]
    fn rescale_rounds_to_nearest() {
        assert_eq!(rescale(1, (1, 24), (1, 1_200_000)), 50_000);
        assert_eq!(rescale(3, (1, 90000), (1, 1000)), 0);
        assert_eq!(s_to_ts(5.0, (1, 1000)), 5000);
    }
}
