//! `upframe-pipeline`: jobs that move frames from a source through processors to a sink.
//!
//! source → decode → frames → processors → encode → sink, each stage on its own thread with a
//! bounded queue between stages so memory stays flat however long the input is.
