//! Copies of an ingested catalogue's tracks, for benchmarks that need a catalogue many times
//! larger than the music at hand: copy `n` of track `id` is `<id>-c<n>`, with its own row
//! (title marked `(copy n)`) and the original's manifest, so it plays the original's stored
//! files. What a listener fetches is then a different track for every cache keyed by track
//! (the gateway's edge cache, its track facts, player-svc's manifest cache) while the disk
//! and the page cache hold the music once, for every target alike.
//!
//! Overlaps `player-svc/src/bulk.rs` (bulk tracks with their catalogue events, ids derived
//! from a source); kept apart for now because the audio benchmark needs the `<id>-c<n>` ids
//! that nginx's paths mirror and no events.
//!
//! A bench-only bulk path: rows are written into player-svc's embedded catalogue
//! (`<data dir>/player/catalog.sqlite`) directly, without catalogue events, so search and
//! recommendations never hear of the copies. The schema is player-svc's
//! (`player-svc/migrations/sqlite`); a column it gains without a default breaks this loudly.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

/// The id of copy `n` of track `id`.
pub fn copy_id(id: &str, n: usize) -> String {
    format!("{id}-c{n}")
}

/// Adds copies 1..=`copies` of every track in the catalogue `db`, in one transaction; the
/// running player-svc sees them on its next read. Returns the tracks copied.
pub fn copy_tracks(db: &Path, copies: usize) -> anyhow::Result<usize> {
    let mut connection = rusqlite::Connection::open(db)
        .with_context(|| format!("cannot open the catalogue {}", db.display()))?;
    connection.busy_timeout(Duration::from_secs(30))?;
    let tx = connection.transaction()?;
    let originals: i64 = tx.query_row(
        "SELECT COUNT(*) FROM tracks WHERE id NOT LIKE '%-c%'",
        [],
        |row| row.get(0),
    )?;
    {
        // Columns named, so their order in the table does not matter; the copy points at the
        // original's manifest (`manifests`, keyed by the blob prefix they share).
        let mut insert = tx.prepare(
            "INSERT INTO tracks (id, source, content_hash, title, artist_id, artist_name,
                    artist_sort, album_id, album_title, album_artist_id, album_artist_name,
                    album_artist_sort, duration_us, track_number, disc_number, genre, year,
                    cover_id, cover_type, manifest_key, create_ms, update_ms)
             SELECT id || '-c' || ?1, source || '#copy' || ?1, content_hash,
                    title || ' (copy ' || ?1 || ')', artist_id, artist_name, artist_sort,
                    album_id, album_title, album_artist_id, album_artist_name,
                    album_artist_sort, duration_us, track_number, disc_number, genre, year,
                    cover_id, cover_type, manifest_key, create_ms, update_ms
             FROM tracks WHERE id NOT LIKE '%-c%'",
        )?;
        for n in 1..=copies {
            insert.execute([i64::try_from(n)?])?;
        }
    }
    tx.commit()?;
    Ok(usize::try_from(originals)?)
}
