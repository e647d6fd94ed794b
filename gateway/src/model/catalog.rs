//! JSON shapes of the catalogue routes, converted from the `tunemesh.catalog.v1` messages.
//! Times are RFC 3339 strings, durations whole milliseconds, enums lowercase words.

use serde::{Deserialize, Serialize};
use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::common::v1::Image as PbImage;
use tunemesh_proto::quality::Quality as Ladder;
use utoipa::ToSchema;

/// A playable recording.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Track {
    /// Stable opaque id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Performing artists, main artist first.
    pub artists: Vec<ArtistRef>,
    /// The album the track is on.
    pub album: Option<AlbumRef>,
    /// Playing time in milliseconds.
    pub duration_ms: u64,
    /// 1-based position on its disc; 0 when unknown.
    pub track_number: u32,
    /// 1-based disc number; 0 when unknown.
    pub disc_number: u32,
    /// Genre; empty when unknown.
    pub genre: String,
    /// Release year; 0 when unknown.
    pub year: u32,
    /// Cover art, when known.
    pub cover: Option<Image>,
    /// Qualities that can be streamed now, lowest first.
    pub available_qualities: Vec<Quality>,
    /// When the track entered the catalogue (RFC 3339).
    pub created_at: Option<String>,
    /// When the track last changed (RFC 3339).
    pub updated_at: Option<String>,
}

/// An album.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Album {
    /// Stable opaque id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Album artists, in credited order.
    pub artists: Vec<ArtistRef>,
    /// Release year; 0 when unknown.
    pub year: u32,
    /// Genre; empty when unknown.
    pub genre: String,
    /// Cover art, when known.
    pub cover: Option<Image>,
    /// Tracks of the album in the catalogue.
    pub track_count: u32,
    /// Number of discs.
    pub disc_count: u32,
    /// Sum of the track durations in milliseconds.
    pub duration_ms: u64,
    /// When the album entered the catalogue (RFC 3339).
    pub created_at: Option<String>,
    /// When the album last changed (RFC 3339).
    pub updated_at: Option<String>,
}

/// An artist.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Artist {
    /// Stable opaque id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Name to sort by.
    pub sort_name: String,
    /// Genres, most frequent first.
    pub genres: Vec<String>,
    /// Picture, when known.
    pub image: Option<Image>,
    /// Albums with at least one track by the artist.
    pub album_count: u32,
    /// Tracks credited to the artist.
    pub track_count: u32,
    /// When the artist entered the catalogue (RFC 3339).
    pub created_at: Option<String>,
    /// When the artist last changed (RFC 3339).
    pub updated_at: Option<String>,
}

/// An artist's id and name, embedded in other resources.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArtistRef {
    /// The artist's id.
    pub id: String,
    /// The artist's name.
    pub name: String,
}

/// An album's id and title, embedded in other resources.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlbumRef {
    /// The album's id.
    pub id: String,
    /// The album's title.
    pub title: String,
}

/// An image and where to fetch it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Image {
    /// Stable id; equal ids are equal pictures.
    pub id: String,
    /// Absolute URL or a path on the gateway.
    pub url: String,
    /// Width in pixels; 0 when unknown.
    pub width_px: u32,
    /// Height in pixels; 0 when unknown.
    pub height_px: u32,
    /// Media type, e.g. `image/jpeg`; empty when unknown.
    pub media_type: String,
}

/// A rung of the encoding ladder, named in JSON and URLs by its word (`low`, `normal`, `high`,
/// `very_high`). It is the proto crate's ladder ([`Ladder`]), which player-svc encodes with,
/// so the gateway cannot name a rung the services do not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality(pub Ladder);

impl Quality {
    /// 24 kbit/s Opus.
    pub const LOW: Self = Self(Ladder::Low);
    /// 64 kbit/s Opus, the default.
    pub const NORMAL: Self = Self(Ladder::Normal);
    /// 96 kbit/s Opus.
    pub const HIGH: Self = Self(Ladder::High);
    /// 160 kbit/s Opus.
    pub const VERY_HIGH: Self = Self(Ladder::VeryHigh);

    /// The protobuf value.
    pub fn to_proto(self) -> pb::AudioQuality {
        self.0.to_proto()
    }

    /// The word used in URLs and JSON, e.g. `very_high`.
    pub fn as_str(self) -> &'static str {
        self.0.as_str()
    }

    /// The quality named `word` (as in [`Quality::as_str`]).
    pub fn parse(word: &str) -> Option<Self> {
        Ladder::parse(word).map(Self)
    }

    /// The quality of a protobuf value, if it names one.
    pub fn from_proto(raw: i32) -> Option<Self> {
        Ladder::from_proto(raw).map(Self)
    }
}

impl Serialize for Quality {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Quality {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Word;
        impl serde::de::Visitor<'_> for Word {
            type Value = Quality;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a quality: low, normal, high or very_high")
            }
            fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<Quality, E> {
                Quality::parse(word).ok_or_else(|| E::unknown_variant(word, &Ladder::WORDS))
            }
        }
        deserializer.deserialize_str(Word)
    }
}

impl utoipa::PartialSchema for Quality {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(Ladder::WORDS))
            .description(Some("A rung of the encoding ladder."))
            .into()
    }
}

impl ToSchema for Quality {}

/// One page of tracks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrackPage {
    /// The tracks of this page.
    pub tracks: Vec<Track>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
    /// Matching tracks across all pages.
    pub total_size: i32,
}

/// One page of albums.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AlbumPage {
    /// The albums of this page.
    pub albums: Vec<Album>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
    /// Matching albums across all pages.
    pub total_size: i32,
}

/// One page of artists.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArtistPage {
    /// The artists of this page.
    pub artists: Vec<Artist>,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
    /// Artists across all pages.
    pub total_size: i32,
}

/// Milliseconds of a protobuf duration; negative (never valid here) reads as 0.
pub fn millis(duration: Option<&prost_types::Duration>) -> u64 {
    duration.map_or(0, |d| {
        let ms = i128::from(d.seconds) * 1000 + i128::from(d.nanos) / 1_000_000;
        u64::try_from(ms).unwrap_or(0)
    })
}

/// A protobuf timestamp as RFC 3339.
pub fn rfc3339(time: Option<&prost_types::Timestamp>) -> Option<String> {
    time.map(ToString::to_string)
}

/// An empty token means "no more pages" on the wire; JSON says so with an absent field.
pub fn next_page(token: String) -> Option<String> {
    (!token.is_empty()).then_some(token)
}

impl From<pb::ArtistRef> for ArtistRef {
    fn from(a: pb::ArtistRef) -> Self {
        Self {
            id: a.id,
            name: a.name,
        }
    }
}

/// The URL is the edge's: services send the id only (`crate::images::url`).
impl From<PbImage> for Image {
    fn from(i: PbImage) -> Self {
        Self {
            url: crate::images::url(&i.id),
            id: i.id,
            width_px: i.width_px,
            height_px: i.height_px,
            media_type: i.media_type,
        }
    }
}

impl From<pb::Track> for Track {
    fn from(t: pb::Track) -> Self {
        Self {
            duration_ms: millis(t.duration.as_ref()),
            created_at: rfc3339(t.create_time.as_ref()),
            updated_at: rfc3339(t.update_time.as_ref()),
            available_qualities: t
                .available_qualities
                .iter()
                .filter_map(|q| Quality::from_proto(*q))
                .collect(),
            id: t.id,
            title: t.title,
            artists: t.artists.into_iter().map(Into::into).collect(),
            album: t.album.map(|a| AlbumRef {
                id: a.id,
                title: a.title,
            }),
            track_number: t.track_number,
            disc_number: t.disc_number,
            genre: t.genre,
            year: t.year,
            cover: t.cover.map(Into::into),
        }
    }
}

impl From<pb::Album> for Album {
    fn from(a: pb::Album) -> Self {
        Self {
            duration_ms: millis(a.duration.as_ref()),
            created_at: rfc3339(a.create_time.as_ref()),
            updated_at: rfc3339(a.update_time.as_ref()),
            id: a.id,
            title: a.title,
            artists: a.artists.into_iter().map(Into::into).collect(),
            year: a.year,
            genre: a.genre,
            cover: a.cover.map(Into::into),
            track_count: a.track_count,
            disc_count: a.disc_count,
        }
    }
}

impl From<pb::Artist> for Artist {
    fn from(a: pb::Artist) -> Self {
        Self {
            created_at: rfc3339(a.create_time.as_ref()),
            updated_at: rfc3339(a.update_time.as_ref()),
            id: a.id,
            name: a.name,
            sort_name: a.sort_name,
            genres: a.genres,
            image: a.image.map(Into::into),
            album_count: a.album_count,
            track_count: a.track_count,
        }
    }
}
