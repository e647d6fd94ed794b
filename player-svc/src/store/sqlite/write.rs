//! The embedded adapter's track write: the track, its artist and album, its audio's manifest
//! (shared by the tracks playing the same blobs, see migration V4) and its event, all in the
//! caller's transaction.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, Transaction, params};
use tunemesh_events::Envelope;
use tunemesh_events::outbox::sqlite as outbox;

use super::super::listings;
use super::super::sql;
use super::lite;
use crate::store::TrackRecord;

/// The manifests already written in this transaction, by blob prefix: a bulk load shares a
/// few among thousands of tracks, and encoding 49 KB of JSON per track is most of its cost.
#[derive(Debug, Default)]
pub(super) struct Written(HashSet<String>);

/// Inserts or replaces `t` with `event` in the outbox.
pub(super) fn put(
    tx: &Transaction<'_>,
    t: &TrackRecord,
    event: &Envelope,
    written: &mut Written,
) -> anyhow::Result<()> {
    let before: Option<(String, String)> = tx
        .query_row(&lite(listings::TRACK_BEFORE), [&t.id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    for artist in [&t.album.artist, &t.artist] {
        tx.execute(
            &lite(sql::INSERT_ARTIST),
            params![artist.id, artist.name, artist.sort_name, t.update_ms],
        )?;
    }
    tx.execute(
        &lite(sql::INSERT_ALBUM),
        params![
            t.album.id,
            t.album.title,
            t.album.artist.id,
            t.album.artist.name,
            t.update_ms
        ],
    )?;
    let key = &t.manifest.blob_prefix;
    if written.0.insert(key.clone()) {
        let manifest = serde_json::to_string(&t.manifest)?;
        tx.execute(&lite(sql::UPSERT_MANIFEST), params![key, manifest])?;
    }
    let (cover_id, cover_type) = t
        .cover
        .as_ref()
        .map(|c| (c.id.as_str(), c.media_type.as_str()))
        .unzip();
    tx.execute(
        &lite(sql::UPSERT_TRACK),
        params![
            t.id,
            t.source,
            t.content_hash,
            t.title,
            t.artist.id,
            t.artist.name,
            t.artist.sort_name,
            t.album.id,
            t.album.title,
            t.album.artist.id,
            t.album.artist.name,
            t.album.artist.sort_name,
            t.duration_us,
            t.track_number,
            t.disc_number,
            t.genre,
            t.year,
            cover_id,
            cover_type,
            key,
            t.create_ms,
            t.update_ms
        ],
    )?;
    let (album_before, manifest_before) =
        before.unwrap_or_else(|| (t.album.id.clone(), key.clone()));
    tx.execute(
        &lite(listings::REFRESH_ALBUMS),
        params![t.album.id, album_before],
    )?;
    if &manifest_before != key {
        tx.execute(&lite(sql::DROP_MANIFEST), [&manifest_before])?;
    }
    outbox::append(tx, event)?;
    Ok(())
}
