//! Seek points of a stored Ogg Opus file, found once at ingest from its page headers (RFC
//! 3533), so streaming from a position is one lookup and one ranged read.

/// The Ogg page header length before the lacing table.
const HEADER: usize = 27;

/// Where the header pages end and where each audio page that begins a packet starts, with
/// its media time in µs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggIndex {
    /// Bytes of the OpusHead and OpusTags pages.
    pub header_size: u64,
    /// `[byte offset, media time µs]` of each audio page that does not continue a packet.
    pub pages: Vec<[u64; 2]>,
}

/// Indexes `ogg`; `None` when it is not a well-formed Ogg Opus file (ingest refuses it then:
/// our own muxer produced it, so this is a bug, not a user error).
pub fn index(ogg: &[u8]) -> Option<OggIndex> {
    let mut offset = 0usize;
    let mut pre_skip = 0u64;
    let mut header_size = None;
    let mut previous_granule = 0u64;
    let mut pages = Vec::new();
    let mut first = true;
    while offset < ogg.len() {
        let page = ogg.get(offset..)?;
        if page.len() < HEADER || &page[..4] != b"OggS" {
            return None;
        }
        let continued = page[5] & 1 != 0;
        let granule = i64::from_le_bytes(page[6..14].try_into().ok()?);
        let segments = usize::from(page[26]);
        let lacing = page.get(HEADER..HEADER + segments)?;
        let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let size = HEADER + segments + body;
        if page.len() < size {
            return None;
        }
        if first {
            // OpusHead: "OpusHead", version, channels, pre-skip (u16 LE) ...
            let head = &page[HEADER + segments..size];
            if head.len() < 12 || &head[..8] != b"OpusHead" {
                return None;
            }
            pre_skip = u64::from(u16::from_le_bytes([head[10], head[11]]));
            first = false;
        } else if header_size.is_none() && granule != 0 {
            // Header pages carry granule 0; the first page with another value is audio.
            header_size = Some(offset as u64);
        }
        if header_size.is_some() {
            if !continued {
                let samples = previous_granule.saturating_sub(pre_skip);
                pages.push([offset as u64, samples * 1_000_000 / 48_000]);
            }
            if let Ok(g) = u64::try_from(granule) {
                previous_granule = g;
            }
        }
        offset += size;
    }
    Some(OggIndex {
        header_size: header_size?,
        pages,
    })
}

/// The last entry of `points` (`[offset, µs]`, in order) at or before `at_us`.
pub fn at_or_before(points: &[[u64; 2]], at_us: u64) -> Option<[u64; 2]> {
    let after = points.partition_point(|p| p[1] <= at_us);
    points.get(after.checked_sub(1)?).copied()
}

/// The media time of the first seek point at or after byte `offset` of the file, or of the
/// last one before it when none follows.
pub fn time_at_offset(points: &[[u64; 2]], offset: u64) -> u64 {
    let i = points.partition_point(|p| p[0] < offset);
    points
        .get(i)
        .or_else(|| points.get(i.checked_sub(1)?))
        .map_or(0, |p| p[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_pick_the_enclosing_point() {
        let points = [[100, 0], [200, 1_000_000], [300, 2_000_000]];
        assert_eq!(at_or_before(&points, 1_500_000), Some([200, 1_000_000]));
        assert_eq!(at_or_before(&points, 0), Some([100, 0]));
        assert_eq!(time_at_offset(&points, 150), 1_000_000);
        assert_eq!(time_at_offset(&points, 999), 2_000_000);
    }

    #[test]
    fn garbage_is_not_an_index() {
        assert_eq!(index(b"not ogg at all, not even close......"), None);
        assert_eq!(index(b""), None);
    }
}
