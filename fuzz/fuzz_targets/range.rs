//! `Range` headers (gateway/src/media/range.rs) against files of any size, and the edge cache's
//! arithmetic on the answer (gateway/src/media/edge_cache.rs): an answer always lies inside the
//! file, and the block-widened read covers it.
//!
//! Input: the header value, then optionally a newline and the file size in decimal (1000 when
//! absent), so seeds read like `bytes=0-99\n1000`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tunemesh_gateway::media::edge_cache::{AudioCache, part};
use tunemesh_gateway::media::range::{RangeAnswer, resolve};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, size) = match text.rsplit_once('\n') {
        Some((header, size)) => (header, size.trim().parse::<u64>().unwrap_or(1000)),
        None => (text, 1000),
    };
    // Files are at most a few GB; sizes near u64::MAX are not a client's to choose.
    let size = size % (1 << 40);
    for cached in [false, true] {
        check(
            header,
            size,
            &AudioCache::new(if cached { 1 << 20 } else { 0 }),
        );
    }
});

fn check(header: &str, size: u64, cache: &AudioCache) {
    let answer = resolve(Some(header), size);
    let RangeAnswer::Partial { start, end } = answer else {
        return;
    };
    assert!(
        start <= end && end < size,
        "{header:?} on {size}: {answer:?}"
    );
    let (read_start, read_end) = cache.read_range(start, end, size);
    assert!(read_start <= start && end <= read_end && read_end < size);
    // The client's part of the first chunk read.
    let chunk = usize::try_from((read_end - read_start + 1).min(1 << 16)).unwrap_or(0);
    if let Some(bytes) = part(&Bytes::from(vec![0u8; chunk]), read_start, start, end) {
        assert!(bytes.len() as u64 <= end - start + 1);
    }
}
