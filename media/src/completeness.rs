//! Telling a cut file from a complete one where the demuxer alone cannot.
//!
//! Ogg: symphonia's reader stops quietly at the last whole page of a cut file, and measures
//! the duration from that page too, so nothing it reports shows the cut. A complete Ogg stream
//! always ends with a page flagged end-of-stream (RFC 3533 §6); a cut one ends without it.
//!
//! Matroska/WebM: a Segment of unknown size (live recordings, MediaRecorder, our own MSE
//! output) legitimately ends wherever the data ends, which the demuxer reports as an
//! unexpected end of data.

/// Longest possible page: 27-byte header, 255 lacing values, 255 × 255 body bytes.
const MAX_PAGE: usize = 27 + 255 + 255 * 255;

/// Header flag: this is the last page of its logical stream.
const EOS_FLAG: u8 = 0x04;

/// True when `bytes` is an Ogg file whose last complete page is not an end-of-stream page.
pub(crate) fn is_truncated_ogg(bytes: &[u8]) -> bool {
    if !bytes.starts_with(b"OggS") {
        return false;
    }
    let window_start = bytes.len().saturating_sub(2 * MAX_PAGE);
    let last_page = (window_start..bytes.len().saturating_sub(27))
        .rev()
        .filter(|&at| bytes[at..].starts_with(b"OggS\0"))
        .find_map(|at| valid_page(&bytes[at..]));
    last_page.is_none_or(|header_type| header_type & EOS_FLAG == 0)
}

/// The header-type byte of the page at the start of `data`, if a whole page with a correct
/// CRC is there (a capture pattern inside compressed data fails the CRC).
fn valid_page(data: &[u8]) -> Option<u8> {
    let segments = usize::from(*data.get(26)?);
    let lacing = data.get(27..27 + segments)?;
    let len = 27 + segments + lacing.iter().map(|&l| usize::from(l)).sum::<usize>();
    let page = data.get(..len)?;
    let stored = u32::from_le_bytes(page[22..26].try_into().ok()?);
    (crc32(page) == stored).then_some(page[5])
}

/// The Ogg CRC-32 (polynomial 0x04C11DB7, unreflected, zero initial value), computed with the
/// checksum field taken as zero.
fn crc32(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0u32, |crc, (i, &byte)| {
        let byte = if (22..26).contains(&i) { 0 } else { byte };
        (0..8).fold(crc ^ (u32::from(byte) << 24), |c, _| {
            if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            }
        })
    })
}

/// True when `bytes` is Matroska/WebM whose Segment declares an unknown size.
pub(crate) fn is_open_ended_matroska(bytes: &[u8]) -> bool {
    const EBML: &[u8] = &[0x1A, 0x45, 0xDF, 0xA3];
    const SEGMENT: &[u8] = &[0x18, 0x53, 0x80, 0x67];
    let Some((header_len, header_size)) = bytes.get(4..).and_then(read_vint) else {
        return false;
    };
    let segment_at = 4 + header_len + usize::try_from(header_size).unwrap_or(usize::MAX);
    let segment = bytes.get(segment_at..).unwrap_or_default();
    if !bytes.starts_with(EBML) || !segment.starts_with(SEGMENT) {
        return false;
    }
    // An unknown size has every value bit set.
    segment
        .get(4..)
        .and_then(read_vint)
        .is_some_and(|(len, value)| value == (1u64 << (7 * len)) - 1)
}

/// An EBML variable-length integer at the start of `data`: (length in bytes, value).
fn read_vint(data: &[u8]) -> Option<(usize, u64)> {
    let first = *data.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let rest = data.get(1..len)?;
    let marker_cleared = u64::from(first) & (0xFF >> len);
    Some((
        len,
        rest.iter()
            .fold(marker_cleared, |v, &b| (v << 8) | u64::from(b)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut p = b"OggS\0".to_vec();
        p.push(flags);
        p.extend([0; 20]); // granule, serial, sequence, crc
        p.push(1);
        p.push(u8::try_from(body.len()).unwrap_or(255));
        p.extend(body);
        let crc = crc32(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn a_stream_ending_in_an_eos_page_is_complete() {
        let file = [
            page(0x02, b"head"),
            page(0, b"data"),
            page(EOS_FLAG, b"end"),
        ]
        .concat();
        assert!(!is_truncated_ogg(&file));
    }

    #[test]
    fn a_stream_cut_inside_a_page_is_truncated() {
        let file = [
            page(0x02, b"head"),
            page(0, b"data"),
            page(EOS_FLAG, b"end"),
        ]
        .concat();
        assert!(is_truncated_ogg(&file[..file.len() - 2]));
    }

    #[test]
    fn matroska_segment_sizes_are_read() {
        let header = [0x1A, 0x45, 0xDF, 0xA3, 0x81, 0x00];
        let open = [
            &header[..],
            &[
                0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ],
        ]
        .concat();
        let sized = [&header[..], &[0x18, 0x53, 0x80, 0x67, 0x84, 0, 0, 0, 0]].concat();
        assert!(is_open_ended_matroska(&open));
        assert!(!is_open_ended_matroska(&sized));
        assert!(!is_open_ended_matroska(b"OggS"));
    }

    #[test]
    fn non_ogg_data_is_not_judged() {
        assert!(!is_truncated_ogg(b"ID3 something else"));
    }
}
