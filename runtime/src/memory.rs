//! How a tunemesh process takes memory from the kernel: in 4 KiB pages, not transparent huge
//! pages.
//!
//! mimalloc (the `tunemesh` binary's allocator) asks the kernel for huge pages on its arenas,
//! so the first touch of a fresh region faults in and zeroes 2 MiB at once. A burst of audio
//! streams starting, each taking a few fresh 64 KiB buffers, then spends most of its CPU in
//! the kernel zeroing memory it barely uses: 1.6-2x the CPU per stream of 4 KiB pages
//! (BENCHMARKS.md, "StreamAudio's first chunk: the allocator"). The kernel's per-process
//! switch (`prctl(PR_SET_THP_DISABLE)`) turns them off whatever the allocator and the
//! machine's THP mode; child processes inherit it.

/// Turns transparent huge pages off for this process; a kernel that refuses (not Linux, a
/// seccomp filter) leaves them as they were, which costs CPU, not correctness.
pub fn no_transparent_huge_pages() {
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(%error, "transparent huge pages stay as the kernel has them");
    }
}
