//! Fuzz target: the `.upseg` segment file reader (resumable output). Any bytes must give `Ok` or
//! an error: no panic, no hang, no allocation beyond the declared bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = upframe_media::fuzz_parse_segment(data);
});
