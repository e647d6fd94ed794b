//! Catalogue rows added in bulk over audio that is already stored: each new track copies a
//! template track's audio (its manifest, source hash, duration and cover, so it plays the
//! same blobs) under its own source, id and tags. Tracks go through the catalogue store with
//! the same `TrackAdded` event ingest writes, so the outbox relay publishes exactly what an
//! ingest would and search and reco index them the same way; nothing is transcoded. The
//! catalogue-size benchmark (`bench/src/bin/catalogue.rs`) loads 10k to 1M tracks this way.

use crate::ids;
use crate::ingest::record::{artist_key, catalog_event};
use crate::store::{AlbumKey, CatalogStore, StoreError, TrackRecord};

/// The tags of one bulk track.
#[derive(Debug, Clone, Default)]
pub struct Tags {
    /// Title.
    pub title: String,
    /// Performing artist, also the album artist.
    pub artist: String,
    /// Album title.
    pub album: String,
    /// Genre, empty for none.
    pub genre: String,
    /// Year, 0 for none.
    pub year: u32,
    /// Track number on the album.
    pub track_number: u32,
}

/// A track at `source` (e.g. `bulk:<n>`, which its id derives from) with `tags`, playing
/// `template`'s audio, created at `now_ms`.
pub fn track(template: &TrackRecord, source: &str, tags: &Tags, now_ms: i64) -> TrackRecord {
    let artist = artist_key(&tags.artist);
    TrackRecord {
        id: ids::track_id(source),
        source: source.to_owned(),
        title: tags.title.clone(),
        album: AlbumKey {
            id: ids::album_id(&tags.artist, &tags.album),
            title: tags.album.clone(),
            artist: artist.clone(),
        },
        artist,
        track_number: tags.track_number,
        disc_number: 1,
        genre: tags.genre.clone(),
        year: tags.year,
        create_ms: now_ms,
        update_ms: now_ms,
        ..template.clone()
    }
}

/// Adds `tracks` with their `TrackAdded` events in one store call (one transaction on the
/// embedded store).
pub async fn add(store: &dyn CatalogStore, tracks: Vec<TrackRecord>) -> Result<(), StoreError> {
    let mut pairs = Vec::with_capacity(tracks.len());
    for track in tracks {
        let event = catalog_event(&track, false).map_err(StoreError::Backend)?;
        pairs.push((track, event));
    }
    store.put_tracks(&pairs).await
}
