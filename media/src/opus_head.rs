//! The Opus identification and comment headers (RFC 7845 §5), shared by WebM and Ogg.

use super::tags::TrackMetadata;

/// Longest comment value written into OpusTags; tags are display hints, not an archive.
const MAX_COMMENT_BYTES: usize = 1024;

/// The 19-byte OpusHead for a mono/stereo stream (channel mapping family 0).
///
/// Also the WebM CodecPrivate. It carries no bitrate, so every rendition's is identical.
pub(crate) fn opus_head(channels: u8, pre_skip: u16, input_rate: u32) -> [u8; 19] {
    let mut head = [0u8; 19];
    head[..8].copy_from_slice(b"OpusHead");
    head[8] = 1; // version
    head[9] = channels;
    head[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    head[12..16].copy_from_slice(&input_rate.to_le_bytes());
    // Output gain 0 dB and mapping family 0 are already zero.
    head
}

/// The OpusTags packet: our vendor string and the track's main tags as Vorbis comments.
pub(crate) fn opus_tags(tags: &TrackMetadata) -> Vec<u8> {
    let vendor = format!("tunemesh (libopus {})", opus::version());
    let comments: Vec<String> = [
        ("TITLE", tags.title.as_deref()),
        ("ARTIST", tags.artist.as_deref()),
        ("ALBUM", tags.album.as_deref()),
        ("ALBUMARTIST", tags.album_artist.as_deref()),
        ("GENRE", tags.genre.as_deref()),
        ("DATE", tags.date.as_deref()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|v| format!("{key}={}", cut(v))))
    .chain(tags.track_number.map(|n| format!("TRACKNUMBER={n}")))
    .collect();
    let mut packet = b"OpusTags".to_vec();
    push_string(&mut packet, &vendor);
    packet.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    comments.iter().for_each(|c| push_string(&mut packet, c));
    packet
}

fn push_string(packet: &mut Vec<u8>, s: &str) {
    packet.extend_from_slice(&(s.len() as u32).to_le_bytes());
    packet.extend_from_slice(s.as_bytes());
}

fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_COMMENT_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_tags_lists_present_tags_only() {
        let tags = TrackMetadata {
            title: Some("Nebula".into()),
            track_number: Some(3),
            ..Default::default()
        };
        let packet = opus_tags(&tags);
        assert!(packet.starts_with(b"OpusTags"));
        let text = String::from_utf8_lossy(&packet);
        assert!(text.contains("TITLE=Nebula") && text.contains("TRACKNUMBER=3"));
        assert!(!text.contains("ARTIST="));
    }
}
