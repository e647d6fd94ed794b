//! The catalogue row and the catalogue event of a transcoded file: tags, with the
//! contract's fallbacks for untagged files.

use std::path::Path;

use tunemesh_events::Envelope;
use tunemesh_proto::events::v1::{
    CatalogEvent, EventMeta, TrackAdded, TrackUpdated, catalog_event,
};

use crate::media::MediaBundle;
use crate::store::{AlbumKey, ArtistKey, Cover, TrackManifest, TrackRecord};
use crate::{convert, ids};

/// What [`record`] is built from.
pub(super) struct RecordParts<'a> {
    pub(crate) id: String,
    pub(crate) source: &'a str,
    pub(crate) name: &'a str,
    pub(crate) hash: &'a str,
    pub(crate) bundle: &'a MediaBundle,
    pub(crate) manifest: TrackManifest,
    pub(crate) cover: Option<Cover>,
    pub(crate) create_ms: i64,
    pub(crate) update_ms: i64,
}

pub(crate) fn artist_key(name: &str) -> ArtistKey {
    ArtistKey {
        id: ids::artist_id(name),
        name: name.to_owned(),
        sort_name: ids::sort_name(name),
    }
}

/// The catalogue row for a transcoded file: tags, with the contract's fallbacks.
pub(super) fn record(p: RecordParts<'_>) -> TrackRecord {
    let tags = &p.bundle.metadata;
    let stem = Path::new(p.name)
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("Untitled");
    let artist = tags.artist.as_deref().or(tags.album_artist.as_deref());
    let artist = artist.unwrap_or("Unknown Artist");
    let album_artist = tags.album_artist.as_deref().unwrap_or(artist);
    let album_title = tags.album.as_deref().unwrap_or("Unknown Album");
    TrackRecord {
        id: p.id,
        source: p.source.to_owned(),
        content_hash: p.hash.to_owned(),
        title: tags.title.clone().unwrap_or_else(|| stem.to_owned()),
        artist: artist_key(artist),
        album: AlbumKey {
            id: ids::album_id(album_artist, album_title),
            title: album_title.to_owned(),
            artist: artist_key(album_artist),
        },
        duration_us: i64::try_from(p.bundle.duration.as_micros()).unwrap_or(i64::MAX),
        track_number: tags.track_number.unwrap_or(0),
        disc_number: tags.disc_number.unwrap_or(0),
        genre: tags.genre.clone().unwrap_or_default(),
        year: tags.year.map_or(0, u32::from),
        cover: p.cover,
        manifest: p.manifest,
        create_ms: p.create_ms,
        update_ms: p.update_ms,
    }
}

/// `TrackAdded` or `TrackUpdated` carrying the whole track.
pub(crate) fn catalog_event(record: &TrackRecord, updated: bool) -> anyhow::Result<Envelope> {
    let meta = Some(EventMeta {
        event_id: tunemesh_events::new_event_id(),
        occurred_at: Some(convert::timestamp_ms(record.update_ms)),
        producer: "player-svc".to_owned(),
        // trace_context is deprecated: the trace travels in the message headers
        ..EventMeta::default()
    });
    let track = Some(convert::track(record));
    let event = if updated {
        catalog_event::Event::TrackUpdated(TrackUpdated { meta, track })
    } else {
        catalog_event::Event::TrackAdded(TrackAdded { meta, track })
    };
    Ok(Envelope::from_event(&CatalogEvent { event: Some(event) })?)
}
