//! Jobs on files: the threaded runner ([`runner`]: decode, process and encode on their own
//! threads with bounded queues), the per-frame video job ([`job`]: a processor chain over a
//! whole input), interpolation and enhancement ([`interpolate`]), the output timing of
//! interpolated video ([`timing`]) and scene-cut detection ([`scene`]).

pub mod interpolate;
pub mod job;
pub mod runner;
pub mod scene;
pub mod timing;
