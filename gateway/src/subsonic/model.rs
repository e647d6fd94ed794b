//! The catalogue as Subsonic clients see it: `Child` (a song, or an album in folder browsing),
//! `AlbumID3` and `ArtistID3`, built from the catalogue's messages once, for every endpoint.
//!
//! Rules from the design notes (§1.2), all of them required by real clients: ids are strings;
//! ints are clamped to int32 (`year`, `track`, `discNumber`, `bitRate`, `duration`); times are
//! RFC 3339 in UTC; absent optional fields are omitted, never `null`; `created` is always
//! there (the XSD requires it on albums).
//!
//! A song is served as the Ogg Opus file of its highest rung: `suffix` `opus`, `contentType`
//! `audio/ogg`, `bitRate` that rung's kbit/s. `coverArt` is the cover's image id, which
//! `getCoverArt` serves as it is.

use prost_types::Timestamp;
use serde::Serialize;
use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::quality::Quality;

use crate::model::catalog::rfc3339;

/// The Unix epoch in RFC 3339: `created` when the catalogue has no time (never in practice).
const EPOCH: &str = "1970-01-01T00:00:00Z";

/// `Child`: one song (or, in folder browsing, an album as a directory).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Child {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@parent", skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<String>,
    #[serde(rename = "@isDir")]
    pub(crate) is_dir: bool,
    #[serde(rename = "@title")]
    pub(crate) title: String,
    #[serde(rename = "@album", skip_serializing_if = "Option::is_none")]
    pub(crate) album: Option<String>,
    #[serde(rename = "@artist", skip_serializing_if = "Option::is_none")]
    pub(crate) artist: Option<String>,
    #[serde(rename = "@track", skip_serializing_if = "Option::is_none")]
    pub(crate) track: Option<i32>,
    #[serde(rename = "@year", skip_serializing_if = "Option::is_none")]
    pub(crate) year: Option<i32>,
    #[serde(rename = "@genre", skip_serializing_if = "Option::is_none")]
    pub(crate) genre: Option<String>,
    #[serde(rename = "@coverArt", skip_serializing_if = "Option::is_none")]
    pub(crate) cover_art: Option<String>,
    #[serde(rename = "@size", skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<i64>,
    #[serde(rename = "@contentType", skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<&'static str>,
    #[serde(rename = "@suffix", skip_serializing_if = "Option::is_none")]
    pub(crate) suffix: Option<&'static str>,
    #[serde(rename = "@duration", skip_serializing_if = "Option::is_none")]
    pub(crate) duration: Option<i32>,
    #[serde(rename = "@bitRate", skip_serializing_if = "Option::is_none")]
    pub(crate) bit_rate: Option<i32>,
    #[serde(rename = "@path", skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    #[serde(rename = "@isVideo", skip_serializing_if = "Option::is_none")]
    pub(crate) is_video: Option<bool>,
    #[serde(rename = "@playCount", skip_serializing_if = "Option::is_none")]
    pub(crate) play_count: Option<i64>,
    #[serde(rename = "@discNumber", skip_serializing_if = "Option::is_none")]
    pub(crate) disc_number: Option<i32>,
    #[serde(rename = "@created", skip_serializing_if = "Option::is_none")]
    pub(crate) created: Option<String>,
    #[serde(rename = "@starred", skip_serializing_if = "Option::is_none")]
    pub(crate) starred: Option<String>,
    #[serde(rename = "@albumId", skip_serializing_if = "Option::is_none")]
    pub(crate) album_id: Option<String>,
    #[serde(rename = "@artistId", skip_serializing_if = "Option::is_none")]
    pub(crate) artist_id: Option<String>,
    #[serde(rename = "@type", skip_serializing_if = "Option::is_none")]
    pub(crate) media_type: Option<&'static str>,
}

/// `AlbumID3` (also the album of `getAlbum`, with its songs alongside).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct AlbumId3 {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@name")]
    pub(crate) name: String,
    #[serde(rename = "@artist", skip_serializing_if = "Option::is_none")]
    pub(crate) artist: Option<String>,
    #[serde(rename = "@artistId", skip_serializing_if = "Option::is_none")]
    pub(crate) artist_id: Option<String>,
    #[serde(rename = "@coverArt", skip_serializing_if = "Option::is_none")]
    pub(crate) cover_art: Option<String>,
    #[serde(rename = "@songCount")]
    pub(crate) song_count: i32,
    #[serde(rename = "@duration")]
    pub(crate) duration: i32,
    #[serde(rename = "@playCount", skip_serializing_if = "Option::is_none")]
    pub(crate) play_count: Option<i64>,
    #[serde(rename = "@created")]
    pub(crate) created: String,
    #[serde(rename = "@starred", skip_serializing_if = "Option::is_none")]
    pub(crate) starred: Option<String>,
    #[serde(rename = "@year", skip_serializing_if = "Option::is_none")]
    pub(crate) year: Option<i32>,
    #[serde(rename = "@genre", skip_serializing_if = "Option::is_none")]
    pub(crate) genre: Option<String>,
    /// The songs, in album order: only in `getAlbum` (`AlbumWithSongsID3`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) song: Vec<Child>,
}

/// `ArtistID3`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ArtistId3 {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@name")]
    pub(crate) name: String,
    #[serde(rename = "@coverArt", skip_serializing_if = "Option::is_none")]
    pub(crate) cover_art: Option<String>,
    #[serde(rename = "@albumCount")]
    pub(crate) album_count: i32,
    #[serde(rename = "@starred", skip_serializing_if = "Option::is_none")]
    pub(crate) starred: Option<String>,
    /// The albums: only in `getArtist` (`ArtistWithAlbumsID3`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) album: Vec<AlbumId3>,
}

/// `n` as an int32, clamped (malformed tags must not crash a client: Navidrome #2252).
pub(crate) fn int32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// A positive value as an int32, or nothing for 0 (unknown in the catalogue).
fn known(n: u32) -> Option<i32> {
    (n > 0).then(|| int32(n))
}

/// Whole seconds of a duration, rounded to the nearest.
pub(crate) fn seconds(duration: Option<&prost_types::Duration>) -> i32 {
    duration.map_or(0, |d| {
        let rounded = d.seconds.saturating_add(i64::from(d.nanos >= 500_000_000));
        int32(rounded.max(0))
    })
}

/// A time as RFC 3339, or nothing.
pub(crate) fn time(time: Option<&Timestamp>) -> Option<String> {
    rfc3339(time)
}

/// A non-empty string, or nothing.
fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The highest rung a track has: what `stream` serves without `maxBitRate`.
pub(crate) fn best_quality(track: &pb::Track) -> Option<Quality> {
    track
        .available_qualities
        .iter()
        .filter_map(|&raw| Quality::from_proto(raw))
        .max()
}

/// A file name without the characters that break paths.
fn path_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

impl From<&pb::Track> for Child {
    fn from(track: &pb::Track) -> Self {
        let artist = track.artists.first();
        let album = track.album.as_ref();
        let quality = best_quality(track);
        // The file `stream` sends without `maxBitRate`: the best rung's.
        let file = quality
            .and_then(|q| (track.renditions.iter()).find(|r| r.quality == q.to_proto() as i32));
        let path = format!(
            "{}/{}/{}{}.opus",
            path_part(artist.map_or("Unknown Artist", |a| &a.name)),
            path_part(album.map_or("Unknown Album", |a| &a.title)),
            match track.track_number {
                0 => String::new(),
                n => format!("{n:02} - "),
            },
            path_part(&track.title),
        );
        Self {
            id: track.id.clone(),
            parent: album.map(|a| a.id.clone()),
            is_dir: false,
            title: track.title.clone(),
            album: album.map(|a| a.title.clone()),
            artist: (!track.artists.is_empty()).then(|| {
                track
                    .artists
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            track: known(track.track_number),
            year: known(track.year),
            genre: text(&track.genre),
            cover_art: track.cover.as_ref().map(|c| c.id.clone()),
            size: file.and_then(|r| i64::try_from(r.size_bytes).ok()),
            content_type: Some("audio/ogg"),
            suffix: Some("opus"),
            duration: Some(seconds(track.duration.as_ref())),
            bit_rate: file
                .map(|r| r.bitrate_bps)
                .or_else(|| quality.map(|q| q.bitrate()))
                .map(|bps| int32(bps / 1000)),
            path: Some(path),
            is_video: Some(false),
            play_count: None,
            disc_number: known(track.disc_number),
            created: time(track.create_time.as_ref()),
            starred: None,
            album_id: album.map(|a| a.id.clone()),
            artist_id: artist.map(|a| a.id.clone()),
            media_type: Some("music"),
        }
    }
}

impl From<&pb::Album> for AlbumId3 {
    fn from(album: &pb::Album) -> Self {
        let artist = album.artists.first();
        Self {
            id: album.id.clone(),
            name: album.title.clone(),
            artist: artist.map(|a| a.name.clone()),
            artist_id: artist.map(|a| a.id.clone()),
            cover_art: album.cover.as_ref().map(|c| c.id.clone()),
            song_count: int32(album.track_count),
            duration: seconds(album.duration.as_ref()),
            play_count: None,
            created: time(album.create_time.as_ref()).unwrap_or_else(|| EPOCH.to_owned()),
            starred: None,
            year: known(album.year),
            genre: text(&album.genre),
            song: Vec::new(),
        }
    }
}

impl AlbumId3 {
    /// The album as a directory entry of its artist (`getMusicDirectory`, `getAlbumList`).
    pub(crate) fn as_child(&self) -> Child {
        Child {
            id: self.id.clone(),
            parent: self.artist_id.clone(),
            is_dir: true,
            title: self.name.clone(),
            album: Some(self.name.clone()),
            artist: self.artist.clone(),
            year: self.year,
            genre: self.genre.clone(),
            cover_art: self.cover_art.clone(),
            duration: Some(self.duration),
            created: Some(self.created.clone()),
            starred: self.starred.clone(),
            album_id: Some(self.id.clone()),
            artist_id: self.artist_id.clone(),
            ..Child::default()
        }
    }
}

impl From<&pb::Artist> for ArtistId3 {
    fn from(artist: &pb::Artist) -> Self {
        Self {
            id: artist.id.clone(),
            name: artist.name.clone(),
            // getCoverArt resolves an artist id to its image or its first album's cover.
            cover_art: Some(artist.id.clone()),
            album_count: int32(artist.album_count),
            starred: None,
            album: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_and_ints_clamp() {
        let d = prost_types::Duration {
            seconds: 61,
            nanos: 600_000_000,
        };
        assert_eq!(seconds(Some(&d)), 62);
        assert_eq!(seconds(None), 0);
        assert_eq!(int32(u32::MAX), i32::MAX);
        assert_eq!(known(0), None);
    }

    #[test]
    fn a_song_names_its_album_artist_and_best_rung() {
        let track = pb::Track {
            id: "tr_1".into(),
            title: "A/B".into(),
            artists: vec![pb::ArtistRef {
                id: "ar_1".into(),
                name: "Artist".into(),
            }],
            album: Some(pb::AlbumRef {
                id: "al_1".into(),
                title: "Album".into(),
            }),
            track_number: 3,
            available_qualities: vec![pb::AudioQuality::Low as i32, pb::AudioQuality::High as i32],
            ..pb::Track::default()
        };
        let child = Child::from(&track);
        assert_eq!(child.parent.as_deref(), Some("al_1"));
        assert_eq!(child.bit_rate, Some(96));
        assert_eq!(child.path.as_deref(), Some("Artist/Album/03 - A_B.opus"));
        assert_eq!(child.track, Some(3));
        assert_eq!(child.year, None);
    }
}
