//! Allocator tuning for a streaming process that allocates a few large frame buffers per frame.
//!
//! glibc raises its mmap threshold each time a large mmapped block is freed, after which
//! frame-sized buffers (tens of MB) come from per-thread heap arenas and freed ones stay
//! cached there: measured on vtest.avi ×2, peak RSS grew from 250 MiB (100 frames) to
//! 332 MiB (795 frames). A fixed 1 MiB threshold keeps big buffers in mmap, returned to the OS
//! on free: 229 MiB vs 222 MiB, flat in the video's length, at no measurable speed cost.

/// Call once at start, before other threads exist.
pub fn keep_frame_buffers_out_of_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
    // is started, and M_MMAP_THRESHOLD with a value below the 32 MiB maximum is always valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
