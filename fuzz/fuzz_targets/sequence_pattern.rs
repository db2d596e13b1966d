//! Fuzz target: the image-sequence pattern parser (`frames/%06d.png`) and its frame-path
//! formatting, through `upframe_media::fuzzing::sequence_pattern`. Any path string must parse or
//! not without a panic; distinct frame numbers must give distinct paths.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((_width, names)) = upframe_media::fuzzing::sequence_pattern(path) {
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b, "two frame numbers formatted to the same path");
            }
        }
    }
});
