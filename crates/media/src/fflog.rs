//! FFmpeg log capture: one process-wide `av_log` callback that records error-level messages per
//! logging context, so a decoder can notice damage FFmpeg only *logs* (e.g. H.264
//! "decode_slice_header error") and name the frame; other messages are printed at the level
//! chosen with `UPFRAME_FFMPEG_LOG` (default: fatal only).

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Mutex, OnceLock};

use ffmpeg_next::ffi;

/// Contexts being watched → error messages logged since the last `take`.
fn registry() -> &'static Mutex<HashMap<usize, Vec<String>>> {
    static REG: OnceLock<Mutex<HashMap<usize, Vec<String>>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

unsafe extern "C" fn callback(
    avcl: *mut c_void,
    level: c_int,
    fmt: *const c_char,
    vl: *mut ffi::__va_list_tag,
) {
    let print = level <= ffi::av_log_get_level();
    let watched = level <= ffi::AV_LOG_ERROR && !avcl.is_null() && {
        let reg = registry().lock();
        reg.map(|r| r.contains_key(&(avcl as usize)))
            .unwrap_or(false)
    };
    if !print && !watched {
        return;
    }
    let mut buf = [0 as c_char; 1024];
    let mut prefix: c_int = 1;
    // SAFETY: formats the message into our buffer (consumes `vl`, which we use only here).
    ffi::av_log_format_line2(
        avcl,
        level,
        fmt,
        vl,
        buf.as_mut_ptr(),
        buf.len() as c_int,
        &mut prefix,
    );
    let line = CStr::from_ptr(buf.as_ptr())
        .to_string_lossy()
        .trim_end()
        .to_string();
    if watched {
        if let Ok(mut reg) = registry().lock() {
            if let Some(v) = reg.get_mut(&(avcl as usize)) {
                // Strip the "[h264 @ 0x...] " prefix: it is noise in a one-line error.
                let msg = line
                    .split_once("] ")
                    .map(|(_, m)| m)
                    .unwrap_or(&line)
                    .to_string();
                v.push(msg);
            }
        }
    }
    if print {
        eprintln!("{line}");
    }
}

pub(crate) fn install() {
    // SAFETY: installs a plain extern "C" function; FFmpeg may call it from any thread and it
    // only touches a Mutex.
    unsafe { ffi::av_log_set_callback(Some(callback)) }
}

/// Starts recording error messages logged by the context at `ptr`.
pub(crate) fn watch(ptr: *const c_void) {
    if let Ok(mut reg) = registry().lock() {
        reg.insert(ptr as usize, Vec::new());
    }
}

pub(crate) fn unwatch(ptr: *const c_void) {
    if let Ok(mut reg) = registry().lock() {
        reg.remove(&(ptr as usize));
    }
}

/// Error messages logged by `ptr` since the last call.
pub(crate) fn take(ptr: *const c_void) -> Vec<String> {
    registry()
        .lock()
        .ok()
        .and_then(|mut r| r.get_mut(&(ptr as usize)).map(std::mem::take))
        .unwrap_or_default()
}
