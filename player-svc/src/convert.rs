//! Records to contract messages (the quality ladder's own mapping is `tunemesh_proto::quality`).

use std::time::{Duration, UNIX_EPOCH};

use tunemesh_proto::catalog::v1::{Album, AlbumRef, Artist, ArtistRef, Rendition, Track};
use tunemesh_proto::common::v1::Image;
use tunemesh_proto::prost_types;

use crate::media::Quality;
use crate::store::{AlbumRecord, ArtistRecord, Cover, TrackRecord};

/// A protobuf duration from microseconds.
pub(crate) fn duration_us(us: i64) -> prost_types::Duration {
    let us = us.max(0);
    prost_types::Duration {
        seconds: us / 1_000_000,
        nanos: i32::try_from((us % 1_000_000) * 1000).unwrap_or(0),
    }
}

/// A protobuf timestamp from milliseconds since the epoch.
pub(crate) fn timestamp_ms(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp::from(UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// Microseconds of a protobuf duration; `None` when negative or malformed.
pub(crate) fn to_us(d: &prost_types::Duration) -> Option<u64> {
    let d = Duration::try_from(*d).ok()?;
    u64::try_from(d.as_micros()).ok()
}

/// Milliseconds since the epoch of a protobuf timestamp; `None` before the epoch or when
/// malformed.
pub(crate) fn to_ms(t: &prost_types::Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&t.nanos) || t.seconds < 0 {
        return None;
    }
    t.seconds
        .checked_mul(1000)?
        .checked_add(i64::from(t.nanos / 1_000_000))
}

fn image(cover: &Cover) -> Image {
    Image {
        id: cover.id.clone(),
        // Where images are served is the gateway's to say (`tunemesh.common.v1.Image.url`).
        url: String::new(),
        width_px: 0,
        height_px: 0,
        media_type: cover.media_type.clone(),
    }
}

/// The contract's `Track`.
pub(crate) fn track(t: &TrackRecord) -> Track {
    Track {
        id: t.id.clone(),
        title: t.title.clone(),
        artists: vec![ArtistRef {
            id: t.artist.id.clone(),
            name: t.artist.name.clone(),
        }],
        album: Some(AlbumRef {
            id: t.album.id.clone(),
            title: t.album.title.clone(),
        }),
        duration: Some(duration_us(t.duration_us)),
        track_number: t.track_number,
        disc_number: t.disc_number,
        genre: t.genre.clone(),
        year: t.year,
        cover: t.cover.as_ref().map(image),
        available_qualities: t
            .manifest
            .renditions
            .iter()
            .filter_map(|r| Quality::parse(&r.quality))
            .map(|q| q.to_proto() as i32)
            .collect(),
        create_time: Some(timestamp_ms(t.create_ms)),
        update_time: Some(timestamp_ms(t.update_ms)),
        content_hash: t.content_hash.clone(),
        renditions: t
            .manifest
            .renditions
            .iter()
            .filter_map(|r| {
                Quality::parse(&r.quality).map(|q| Rendition {
                    quality: q.to_proto() as i32,
                    bitrate_bps: r.bitrate_bps,
                    size_bytes: r.ogg_size,
                })
            })
            .collect(),
    }
}

/// The contract's `Album`.
pub(crate) fn album(a: &AlbumRecord) -> Album {
    Album {
        id: a.id.clone(),
        title: a.title.clone(),
        artists: vec![ArtistRef {
            id: a.artist_id.clone(),
            name: a.artist_name.clone(),
        }],
        year: a.year,
        genre: a.genre.clone(),
        cover: a.cover.as_ref().map(image),
        track_count: a.track_count,
        disc_count: a.disc_count,
        duration: Some(duration_us(a.duration_us)),
        create_time: Some(timestamp_ms(a.create_ms)),
        update_time: Some(timestamp_ms(a.update_ms)),
    }
}

/// The contract's `Artist`.
pub(crate) fn artist(a: &ArtistRecord) -> Artist {
    Artist {
        id: a.id.clone(),
        name: a.name.clone(),
        sort_name: a.sort_name.clone(),
        genres: a.genres.clone(),
        image: a.image.as_ref().map(image),
        album_count: a.album_count,
        track_count: a.track_count,
        create_time: Some(timestamp_ms(a.create_ms)),
        update_time: Some(timestamp_ms(a.update_ms)),
    }
}
