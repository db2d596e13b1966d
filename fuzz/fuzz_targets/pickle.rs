//! Fuzz target: the restricted pickle machine alone (`pickle::load`) on raw pickle bytes, with a
//! consumer that walks nothing (the machine itself must never panic or loop forever).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The consumer ignores the value: Debug-printing it could recurse forever on a (legal)
    // self-referencing list, which is a harness artefact, not a parser bug.
    let _ = upframe_models::pickle::load(data, |_value| Ok(()));
});
