//! Fuzz target: the resume journal's text format through `Journal::parse` (bytes as lossy
//! UTF-8). Any input must give `Ok` or a one-line error: no panic, no hang; whatever parses must
//! survive `to_text` and parse back to the same journal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use upframe_pipeline::resume::journal::Journal;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Journal::parse(&text) {
        Ok(journal) => {
            let again = journal.to_text();
            assert_eq!(Journal::parse(&again), Ok(journal));
        }
        Err(e) => assert!(!e.contains('\n'), "multi-line error: {e:?}"),
    }
});
