//! What the store keeps: tracks with their artist and album, aggregates, play sessions.

use serde::{Deserialize, Serialize};
use tunemesh_events::Envelope;

/// Cover art of a track or album: the blob is `covers/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    /// Content hash of the picture (hex), shared by every resource showing it.
    pub id: String,
    /// IANA media type, e.g. `image/jpeg`.
    pub media_type: String,
}

/// One track as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRecord {
    /// Stable id, derived from the source.
    pub id: String,
    /// Where it came from (`file:<path>`, `upload:<sha256>`): re-ingesting a source keeps its id.
    pub source: String,
    /// `sha256:<hex>` of the source file.
    pub content_hash: String,
    /// Title; never empty.
    pub title: String,
    /// The performing artist.
    pub artist: ArtistKey,
    /// The album.
    pub album: AlbumKey,
    /// Exact duration in microseconds.
    pub duration_us: i64,
    /// 1-based, 0 when unknown.
    pub track_number: u32,
    /// 1-based, 0 when unknown.
    pub disc_number: u32,
    /// Empty when unknown.
    pub genre: String,
    /// 0 when unknown.
    pub year: u32,
    /// Embedded cover art.
    pub cover: Option<Cover>,
    /// Where the renditions are and how to seek in them.
    pub manifest: TrackManifest,
    /// Milliseconds since the epoch.
    pub create_ms: i64,
    /// Milliseconds since the epoch.
    pub update_ms: i64,
}

/// An artist as a track or album names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistKey {
    /// Derived from the normalised name.
    pub id: String,
    /// As tagged.
    pub name: String,
    /// For ordering (`Beatles, The`).
    pub sort_name: String,
}

/// An album as a track names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumKey {
    /// Derived from the normalised album artist and title.
    pub id: String,
    /// As tagged.
    pub title: String,
    /// The album artist (the track artist when untagged).
    pub artist: ArtistKey,
}

/// An album with its aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumRecord {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The album artist.
    pub artist_id: String,
    /// The album artist's name.
    pub artist_name: String,
    /// The first non-zero year of its tracks.
    pub year: u32,
    /// The first non-empty genre of its tracks.
    pub genre: String,
    /// The first cover of its tracks.
    pub cover: Option<Cover>,
    /// Tracks present.
    pub track_count: u32,
    /// Highest disc number (at least 1).
    pub disc_count: u32,
    /// Sum of its tracks' durations.
    pub duration_us: i64,
    /// Milliseconds since the epoch.
    pub create_ms: i64,
    /// Milliseconds since the epoch.
    pub update_ms: i64,
}

/// An artist with its aggregates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistRecord {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Sort name.
    pub sort_name: String,
    /// Genres of its tracks, most frequent first.
    pub genres: Vec<String>,
    /// Albums it is credited on.
    pub album_count: u32,
    /// Tracks credited to it.
    pub track_count: u32,
    /// Its picture: the cover of its first album that has one.
    pub image: Option<Cover>,
    /// Milliseconds since the epoch.
    pub create_ms: i64,
    /// Milliseconds since the epoch.
    pub update_ms: i64,
}

/// Which tracks a listing covers; each has its own order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackFilter {
    /// Every track, oldest first.
    All,
    /// One album, by disc and track number.
    Album(String),
    /// One artist, by album year, album title, disc, track number.
    Artist(String),
    /// One genre (exactly as tagged), oldest first like [`TrackFilter::All`].
    Genre(String),
}

/// The orders of an album listing by position ([`AlbumQuery`]); ties by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlbumOrder {
    /// Oldest `create_ms` first (the keyset listing's order, for filtered listings).
    Created,
    /// Latest `create_ms` first.
    Newest,
    /// By title.
    Title,
    /// By the album artist's sort name, then title.
    Artist,
    /// By year, then title.
    Year,
    /// By year latest first, then title.
    YearDescending,
}

/// An album listing by position: an order, filters, an offset and a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumQuery {
    /// The order.
    pub order: AlbumOrder,
    /// Lowest year, 0 for none.
    pub from_year: u32,
    /// Highest year, 0 for none.
    pub to_year: u32,
    /// Only albums with a track of exactly this genre.
    pub genre: Option<String>,
    /// Albums skipped.
    pub offset: u64,
}

/// What a random sample of tracks is drawn from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackSample {
    /// Only tracks of exactly this genre.
    pub genre: Option<String>,
    /// Lowest year, 0 for none.
    pub from_year: u32,
    /// Highest year, 0 for none.
    pub to_year: u32,
}

/// A genre with its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenreCount {
    /// As tagged.
    pub name: String,
    /// Tracks of the genre.
    pub track_count: u64,
    /// Albums with a track of the genre.
    pub album_count: u64,
}

/// A position in a listing: every order used is a prefix of this tuple, then the id, so one
/// key type (and one keyset comparison) serves all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SortKey(pub i64, pub String, pub i64, pub i64, pub String);

/// One page of a listing.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// The sort key of the last item, when more may follow.
    pub next: Option<SortKey>,
    /// Items matching the listing across all pages.
    pub total: u64,
}

/// Where a track's renditions are stored and how to seek in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackManifest {
    /// Blob path prefix (`tracks/<id>/<hash prefix>`); renditions are under it.
    pub blob_prefix: String,
    /// Channels of the encoded audio.
    pub channels: u32,
    /// One per stored quality, lowest first.
    pub renditions: Vec<RenditionManifest>,
}

/// One stored quality.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenditionManifest {
    /// `low`, `normal`, `high`, `very_high`.
    pub quality: String,
    /// Measured average bitrate.
    pub bitrate_bps: u32,
    /// Size of `audio.ogg`.
    pub ogg_size: u64,
    /// Bytes of the Ogg header pages (OpusHead, OpusTags) at the start of `audio.ogg`.
    pub ogg_header_size: u64,
    /// Seek points of `audio.ogg`: `[byte offset, media time in µs]` of pages that begin a
    /// packet, in order.
    pub ogg_pages: Vec<[u64; 2]>,
    /// Size of the WebM init segment at the start of `audio.webm`.
    pub webm_init_size: u64,
    /// The media segments that follow it in `audio.webm`.
    pub webm_segments: Vec<SegmentEntry>,
}

/// One WebM media segment inside `audio.webm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Byte offset in `audio.webm`.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Media time of its start, µs.
    pub start_us: u64,
    /// Media time it covers, µs.
    pub duration_us: u64,
}

impl TrackManifest {
    /// The rendition of `quality` (by its storage name).
    pub fn rendition(&self, quality: &str) -> Option<&RenditionManifest> {
        self.renditions.iter().find(|r| r.quality == quality)
    }

    /// Names this version of the audio: the last part of the blob prefix, which is the
    /// source's hash prefix, so a re-ingested source (same track id) gets a new one.
    pub fn version(&self) -> &str {
        self.blob_prefix
            .rsplit_once('/')
            .map_or(self.blob_prefix.as_str(), |(_, version)| version)
    }
}

impl RenditionManifest {
    /// Size of `audio.webm`.
    pub fn webm_size(&self) -> u64 {
        self.webm_segments
            .last()
            .map_or(self.webm_init_size, |s| s.offset + s.size)
    }
}

/// One play session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaySession {
    /// The client's session id.
    pub session_id: String,
    /// The listener.
    pub user_id: String,
    /// The track.
    pub track_id: String,
    /// Duration of the track, µs.
    pub track_duration_us: i64,
    /// Highest sequence applied.
    pub last_sequence: i64,
    /// Heard time, µs.
    pub played_us: i64,
    /// Counted as a play.
    pub counted: bool,
    /// Ended (its event is written).
    pub ended: bool,
    /// `PlaybackEndReason` once ended.
    pub end_reason: i32,
    /// `PlayContextType`.
    pub context_type: i32,
    /// Context id.
    pub context_id: String,
    /// `AudioQuality` last reported.
    pub quality: i32,
    /// Client time of the first report, ms.
    pub started_ms: i64,
    /// Server time of the last report, ms.
    pub updated_ms: i64,
}

/// What a report did to a session.
#[derive(Debug, Clone)]
pub struct SessionDecision {
    /// The session after the report.
    pub session: PlaySession,
    /// Whether anything changed (a repeated report changes nothing and stores nothing).
    pub changed: bool,
    /// The `PlayEvent`, when the report ended the session.
    pub event: Option<Envelope>,
}
