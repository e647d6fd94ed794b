//! Track tags and cover art, read from symphonia's metadata revisions.
//!
//! symphonia already parses ID3v1/v2, APE, Vorbis comments (Ogg Vorbis, Ogg Opus, FLAC) and
//! MP4 atoms into one standard vocabulary while it probes, so a second parser (lofty) would
//! read every file twice for nothing.

use bytes::Bytes;
use symphonia::core::meta::{MetadataRevision, StandardTag, StandardVisualKey, Tag, Visual};

use super::MediaError;

/// Longest tag value kept, in bytes; longer values are cut at a character boundary.
const MAX_TAG_BYTES: usize = 1024;

/// The descriptive tags of a track. Every field is optional: files carry what they carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackMetadata {
    /// Track title.
    pub title: Option<String>,
    /// Performing artist.
    pub artist: Option<String>,
    /// Album title.
    pub album: Option<String>,
    /// Album artist, when it differs from the track artist (compilations).
    pub album_artist: Option<String>,
    /// Position on the disc, from 1.
    pub track_number: Option<u32>,
    /// Tracks on the disc.
    pub track_total: Option<u32>,
    /// Disc number, from 1.
    pub disc_number: Option<u32>,
    /// Genre, as written.
    pub genre: Option<String>,
    /// Release or recording date, as written (`2012-12-15`, `1999`).
    pub date: Option<String>,
    /// The year, from a year tag or the first four digits of `date`.
    pub year: Option<u16>,
}

/// An embedded picture, usually the front cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverArt {
    /// MIME type (`image/jpeg`, `image/png`...), sniffed from the bytes when the file omits it.
    pub mime_type: String,
    /// The encoded image.
    pub data: Bytes,
}

/// Tags and cover art merged over every metadata revision the demuxer produced.
#[derive(Debug, Default)]
pub(crate) struct TagReader {
    tags: TrackMetadata,
    cover: Option<Visual>,
}

impl TagReader {
    /// Folds one revision in; earlier revisions win, since containers put the primary tags first.
    pub(crate) fn merge(&mut self, revision: &MetadataRevision, track_id: u32) {
        let per_track = revision
            .per_track
            .iter()
            .filter(|t| t.track_id == u64::from(track_id))
            .map(|t| &t.metadata);
        for container in std::iter::once(&revision.media).chain(per_track) {
            container.tags.iter().for_each(|tag| self.merge_tag(tag));
            container.visuals.iter().for_each(|v| self.merge_visual(v));
        }
    }

    /// The merged tags and the cover, refusing a cover over `max_cover_bytes`.
    pub(crate) fn finish(
        mut self,
        max_cover_bytes: usize,
    ) -> Result<(TrackMetadata, Option<CoverArt>), MediaError> {
        if self.tags.year.is_none() {
            self.tags.year = self.tags.date.as_deref().and_then(leading_year);
        }
        let cover = self
            .cover
            .map(|v| cover_art(v, max_cover_bytes))
            .transpose()?;
        Ok((self.tags, cover))
    }

    fn merge_tag(&mut self, tag: &Tag) {
        let t = &mut self.tags;
        match &tag.std {
            Some(StandardTag::TrackTitle(s)) => set_text(&mut t.title, s),
            Some(StandardTag::Artist(s)) => set_text(&mut t.artist, s),
            Some(StandardTag::Album(s)) => set_text(&mut t.album, s),
            Some(StandardTag::AlbumArtist(s)) => set_text(&mut t.album_artist, s),
            Some(StandardTag::Genre(s)) => set_text(&mut t.genre, s),
            Some(StandardTag::TrackNumber(n)) => set_number(&mut t.track_number, *n),
            Some(StandardTag::TrackTotal(n)) => set_number(&mut t.track_total, *n),
            Some(StandardTag::DiscNumber(n)) => set_number(&mut t.disc_number, *n),
            Some(
                StandardTag::ReleaseDate(s)
                | StandardTag::RecordingDate(s)
                | StandardTag::OriginalReleaseDate(s),
            ) => set_text(&mut t.date, s),
            Some(
                StandardTag::ReleaseYear(y)
                | StandardTag::RecordingYear(y)
                | StandardTag::OriginalReleaseYear(y),
            ) => {
                t.year.get_or_insert(*y);
            }
            _ => {}
        }
    }

    fn merge_visual(&mut self, visual: &Visual) {
        let is_front = visual.usage == Some(StandardVisualKey::FrontCover);
        let have_front = self
            .cover
            .as_ref()
            .is_some_and(|c| c.usage == Some(StandardVisualKey::FrontCover));
        if self.cover.is_none() || (is_front && !have_front) {
            self.cover = Some(visual.clone());
        }
    }
}

fn set_text(field: &mut Option<String>, value: &str) {
    let value = value.trim();
    if field.is_none() && !value.is_empty() {
        *field = Some(truncate(value, MAX_TAG_BYTES).to_owned());
    }
}

fn set_number(field: &mut Option<u32>, value: u64) {
    if field.is_none() && value > 0 {
        *field = u32::try_from(value).ok();
    }
}

/// Cuts `s` to at most `max` bytes without splitting a character.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn leading_year(date: &str) -> Option<u16> {
    date.get(..4)
        .filter(|y| y.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|y| y.parse().ok())
}

fn cover_art(visual: Visual, max_bytes: usize) -> Result<CoverArt, MediaError> {
    if visual.data.len() > max_bytes {
        return Err(MediaError::CoverTooLarge {
            bytes: visual.data.len(),
            max: max_bytes,
        });
    }
    let mime_type = visual
        .media_type
        .filter(|m| m.starts_with("image/"))
        .unwrap_or_else(|| sniff_media_type(&visual.data).to_owned());
    Ok(CoverArt {
        mime_type,
        data: Bytes::from(Vec::from(visual.data)),
    })
}

/// The MIME type of an image from its magic bytes.
pub fn sniff_media_type(data: &[u8]) -> &'static str {
    match data {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_whole_characters() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn year_comes_from_the_first_four_digits_only() {
        assert_eq!(leading_year("2012-12-15"), Some(2012));
        assert_eq!(leading_year("12/15/2012"), None);
    }

    #[test]
    fn media_types_are_sniffed_from_magic_bytes() {
        assert_eq!(sniff_media_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(sniff_media_type(b"\x89PNG\r\n"), "image/png");
        assert_eq!(sniff_media_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(sniff_media_type(b"text"), "application/octet-stream");
    }
}
