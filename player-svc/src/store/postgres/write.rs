//! The production adapter's track write: the track, its artists and album, its audio's
//! manifest and its event, in one transaction.
//!
//! Lock order. Writers of tracks that share artists, albums or audio lock the same rows
//! (every upsert here locks the row it meets), and hold them until they commit. So that they
//! wait for one another instead of deadlocking, every writer takes its rows in one order:
//! the track's own row, then its artists by id, then its albums (the one it is on and the one
//! it leaves) by id, then its manifests (the audio it plays and the audio it leaves) by blob
//! prefix, and at commit the count rows of migration V5 (whose deferred triggers fire in the
//! order above, each call in key order). Before this order, a track by A on an album credited
//! to B and a track by B on an album credited to A, written at once, could each lock its
//! album artist first and wait for the other's: eight such writers deadlocked in CI.

use tokio_postgres::Transaction;
use tunemesh_events::Envelope;
use tunemesh_events::outbox::postgres as outbox;

use super::super::listings;
use super::super::sql;
use super::{StoreError, TrackRecord};

/// Locks an album this write leaves (it is updated, never inserted, here).
const LOCK_ALBUM: &str = "SELECT 1 FROM albums WHERE id = $1 FOR UPDATE";

/// Locks a manifest this write leaves (it is deleted below once no track plays it).
const LOCK_MANIFEST: &str = "SELECT 1 FROM manifests WHERE blob_prefix = $1 FOR UPDATE";

/// Writes `t` and its event in `tx`, taking rows in the order the module describes.
pub(super) async fn put(
    tx: &Transaction<'_>,
    t: &TrackRecord,
    event: &Envelope,
) -> Result<(), StoreError> {
    // The track's album and audio before this write, its row locked (none when it is new).
    let locked = format!("{} FOR UPDATE", listings::TRACK_BEFORE);
    let before: Option<(String, String)> = tx
        .query_opt(&locked, &[&t.id])
        .await
        .map_err(StoreError::backend)?
        .map(|row| (row.get(0), row.get(1)));
    let key = &t.manifest.blob_prefix;
    let (album_before, manifest_before) =
        before.unwrap_or_else(|| (t.album.id.clone(), key.clone()));

    for artist in in_order([&t.album.artist, &t.artist], |a| &a.id) {
        tx.execute(
            sql::INSERT_ARTIST,
            &[&artist.id, &artist.name, &artist.sort_name, &t.update_ms],
        )
        .await
        .map_err(StoreError::backend)?;
    }
    for album in in_order([&t.album.id, &album_before], |id| id) {
        if album == &t.album.id {
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
                &t.album.id,
                &t.album.title,
                &t.album.artist.id,
                &t.album.artist.name,
                &t.update_ms,
            ];
            tx.execute(sql::INSERT_ALBUM, &params).await
        } else {
            tx.execute(LOCK_ALBUM, &[album]).await
        }
        .map_err(StoreError::backend)?;
    }
    let manifest = serde_json::to_string(&t.manifest).map_err(StoreError::backend)?;
    for prefix in in_order([key, &manifest_before], |k| k) {
        if prefix == key {
            tx.execute(sql::UPSERT_MANIFEST, &[key, &manifest]).await
        } else {
            tx.execute(LOCK_MANIFEST, &[prefix]).await
        }
        .map_err(StoreError::backend)?;
    }

    upsert_track(tx, t).await?;
    tx.execute(listings::REFRESH_ALBUMS, &[&t.album.id, &album_before])
        .await
        .map_err(StoreError::backend)?;
    if &manifest_before != key {
        tx.execute(sql::DROP_MANIFEST, &[&manifest_before])
            .await
            .map_err(StoreError::backend)?;
    }
    outbox::append(tx, event).await.map_err(StoreError::backend)
}

/// The two rows sorted by `key`, once each when they are the same row.
fn in_order<T: ?Sized>(pair: [&T; 2], key: impl Fn(&T) -> &String) -> impl Iterator<Item = &T> {
    let [a, b] = pair;
    let (first, second) = if key(b) < key(a) { (b, a) } else { (a, b) };
    let same = key(first) == key(second);
    std::iter::once(first).chain((!same).then_some(second))
}

async fn upsert_track(tx: &Transaction<'_>, t: &TrackRecord) -> Result<(), StoreError> {
    let (cover_id, cover_type) = t
        .cover
        .as_ref()
        .map(|c| (c.id.as_str(), c.media_type.as_str()))
        .unzip();
    let (track_number, disc_number, year) = (
        i64::from(t.track_number),
        i64::from(t.disc_number),
        i64::from(t.year),
    );
    tx.execute(
        sql::UPSERT_TRACK,
        &[
            &t.id,
            &t.source,
            &t.content_hash,
            &t.title,
            &t.artist.id,
            &t.artist.name,
            &t.artist.sort_name,
            &t.album.id,
            &t.album.title,
            &t.album.artist.id,
            &t.album.artist.name,
            &t.album.artist.sort_name,
            &t.duration_us,
            &track_number,
            &disc_number,
            &t.genre,
            &year,
            &cover_id,
            &cover_type,
            &t.manifest.blob_prefix,
            &t.create_ms,
            &t.update_ms,
        ],
    )
    .await
    .map_err(StoreError::backend)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::in_order;

    #[test]
    fn pairs_come_sorted_and_once_when_equal() {
        let (a, b) = ("a".to_owned(), "b".to_owned());
        let sorted: Vec<_> = in_order([&b, &a], |s| s).collect();
        assert_eq!(sorted, [&a, &b]);
        let kept: Vec<_> = in_order([&a, &b], |s| s).collect();
        assert_eq!(kept, [&a, &b]);
        let also_a = a.clone();
        let once: Vec<_> = in_order([&a, &also_a], |s| s).collect();
        assert_eq!(once, [&a]);
    }
}
