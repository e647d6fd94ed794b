//! The gateway's edge cache of audio bytes: blocks of the progressive files most listened to,
//! kept in memory so a byte range of a popular track is answered without a call to
//! player-svc. Plays are heavily skewed towards few tracks, and every hop of a byte range
//! through gRPC copies it several times (read, encode, two sockets, decode): at thousands of
//! listeners those copies, not the logic, were the gateway's CPU (see BENCHMARKS.md).
//!
//! A block is [`BLOCK`] bytes at a multiple of `BLOCK` (the last one of a file may be
//! shorter), keyed by the file's strong validator (track, quality and audio version), so a
//! block never changes: no invalidation, only eviction by size (least recently and
//! frequently used, moka's TinyLFU) and after a day unused. On a miss the route asks
//! player-svc for whole blocks — its chunks of a block-aligned read are blocks — keeps them
//! as they stream past, and sends the client its part; the client's socket still paces the
//! read from player-svc. `gateway.audio_cache_bytes = 0` turns the cache off.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use moka::sync::Cache;

/// Bytes per block: the largest chunk player-svc sends.
pub const BLOCK: u64 = 64 * 1024;

/// Audio ranges by how they were answered, `result` = `hit` (from memory) or `miss` (read
/// from player-svc): the hit rate says whether `gateway.audio_cache_bytes` is big enough.
pub const RANGES_TOTAL: &str = "tunemesh_gateway_audio_cache_ranges_total";

/// Blocks by (file validator, block index).
#[derive(Debug, Clone)]
pub struct AudioCache {
    blocks: Option<Cache<(Arc<str>, u64), Bytes>>,
}

impl AudioCache {
    /// A cache of at most `max_bytes` of audio; 0 keeps nothing.
    pub fn new(max_bytes: u64) -> Self {
        let blocks = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, block: &Bytes| u32::try_from(block.len()).unwrap_or(u32::MAX))
                .time_to_idle(Duration::from_secs(24 * 3600))
                .build()
        });
        Self { blocks }
    }

    /// The bytes `start..=end` of `file`, as slices of kept blocks, if every block is kept.
    pub fn get(&self, file: &Arc<str>, start: u64, end: u64) -> Option<Vec<Bytes>> {
        let blocks = self.blocks.as_ref()?;
        let found = kept(blocks, file, start, end);
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(RANGES_TOTAL, "result" => result).increment(1);
        found
    }

    /// The range to read from player-svc for `start..=end` of a file of `size` bytes: whole
    /// blocks when caching, so each chunk read is a block to keep; the range itself when not.
    pub fn read_range(&self, start: u64, end: u64, size: u64) -> (u64, u64) {
        if self.blocks.is_none() {
            return (start, end);
        }
        let first = start / BLOCK * BLOCK;
        let last = ((end / BLOCK + 1) * BLOCK).min(size) - 1;
        (first, last)
    }

    /// Keeps `data`, read at `offset` of `file` (of `size` bytes), if it is a whole block.
    pub fn put(&self, file: &Arc<str>, offset: u64, data: &Bytes, size: u64) {
        let Some(blocks) = &self.blocks else { return };
        let len = data.len() as u64;
        let whole = len == BLOCK || (len > 0 && offset + len == size);
        if offset.is_multiple_of(BLOCK) && whole {
            blocks.insert((Arc::clone(file), offset / BLOCK), data.clone());
        }
    }
}

fn kept(
    blocks: &Cache<(Arc<str>, u64), Bytes>,
    file: &Arc<str>,
    start: u64,
    end: u64,
) -> Option<Vec<Bytes>> {
    let mut out = Vec::with_capacity(usize::try_from((end - start) / BLOCK + 1).ok()?);
    for index in start / BLOCK..=end / BLOCK {
        let block = blocks.get(&(Arc::clone(file), index))?;
        out.push(part(&block, index * BLOCK, start, end)?);
    }
    Some(out)
}

/// The part of `data` (read at `offset`) inside `start..=end`, if any; shares its memory.
pub fn part(data: &Bytes, offset: u64, start: u64, end: u64) -> Option<Bytes> {
    let from = start.saturating_sub(offset);
    let to = (end + 1).saturating_sub(offset).min(data.len() as u64);
    if from >= to {
        return None;
    }
    Some(data.slice(usize::try_from(from).ok()?..usize::try_from(to).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(size: u64) -> Vec<u8> {
        (0..size).map(|i| (i % 251) as u8).collect()
    }

    /// Reads `start..=end` the way the route does on a miss, keeping the blocks.
    fn read_through(cache: &AudioCache, name: &Arc<str>, bytes: &[u8], start: u64, end: u64) {
        let size = bytes.len() as u64;
        let (first, last) = cache.read_range(start, end, size);
        let mut at = first;
        while at <= last {
            let stop = (at + BLOCK).min(last + 1);
            let chunk = Bytes::copy_from_slice(&bytes[at as usize..stop as usize]);
            cache.put(name, at, &chunk, size);
            at = stop;
        }
    }

    #[test]
    fn ranges_are_served_exactly_once_their_blocks_are_kept() {
        let size = 3 * BLOCK + 1000;
        let bytes = file_of(size);
        let cache = AudioCache::new(64 << 20);
        let name: Arc<str> = Arc::from("\"t1.NORMAL.v1\"");
        let ranges = [
            (0, 99),
            (BLOCK - 10, BLOCK + 10),
            (100, size - 1),
            (size - 1, size - 1),
            (3 * BLOCK, size - 1),
        ];
        assert!(cache.get(&name, 0, 99).is_none());
        for (start, end) in ranges {
            read_through(&cache, &name, &bytes, start, end);
            let parts = cache.get(&name, start, end).expect("kept after a read");
            let got: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
            assert_eq!(got, bytes[start as usize..=end as usize], "{start}-{end}");
        }
        // Another version of the file shares nothing.
        assert!(cache.get(&Arc::from("\"t1.NORMAL.v2\""), 0, 99).is_none());
    }

    #[test]
    fn reads_are_widened_to_whole_blocks_within_the_file() {
        let cache = AudioCache::new(1 << 20);
        assert_eq!(cache.read_range(10, 20, 1000), (0, 999));
        assert_eq!(
            cache.read_range(BLOCK + 1, BLOCK + 2, 5 * BLOCK),
            (BLOCK, 2 * BLOCK - 1)
        );
        assert_eq!(cache.read_range(0, BLOCK, 5 * BLOCK), (0, 2 * BLOCK - 1));
        let off = AudioCache::new(0);
        assert_eq!(off.read_range(10, 20, 1000), (10, 20));
        off.put(&Arc::from("x"), 0, &Bytes::from_static(b"abc"), 3);
        assert!(off.get(&Arc::from("x"), 0, 2).is_none());
    }

    #[test]
    fn only_whole_aligned_blocks_are_kept() {
        let cache = AudioCache::new(1 << 20);
        let name: Arc<str> = Arc::from("f");
        cache.put(&name, 5, &Bytes::from(vec![0; BLOCK as usize]), 10 * BLOCK);
        cache.put(&name, BLOCK, &Bytes::from(vec![0; 100]), 10 * BLOCK);
        assert!(cache.get(&name, 0, 10).is_none());
        assert!(cache.get(&name, BLOCK, BLOCK + 10).is_none());
        // The short last block of a file is whole.
        cache.put(
            &name,
            9 * BLOCK,
            &Bytes::from(vec![7; 100]),
            9 * BLOCK + 100,
        );
        assert!(cache.get(&name, 9 * BLOCK, 9 * BLOCK + 99).is_some());
    }
}
