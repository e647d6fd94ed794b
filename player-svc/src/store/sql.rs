//! SQL shared by both adapters (written with `$n` placeholders; the SQLite adapter rewrites
//! them to `?n`) and the mapping from a row of either driver to the records.

use super::types::{
    AlbumKey, AlbumRecord, ArtistKey, ArtistRecord, Cover, PlaySession, TrackRecord,
};

/// Reads one column of a row, whatever the driver.
pub(crate) trait Column {
    fn int(&self, index: usize) -> anyhow::Result<i64>;
    fn text(&self, index: usize) -> anyhow::Result<String>;
    fn opt_text(&self, index: usize) -> anyhow::Result<Option<String>>;
}

/// The track columns, in the order [`track`] reads them, from `tracks` (unaliased). The
/// manifest is read from its own table (migration V4) only for the rows returned.
pub(crate) const TRACK_COLUMNS: &str = "id, source, content_hash, title, artist_id, artist_name, \
    artist_sort, album_id, album_title, album_artist_id, album_artist_name, album_artist_sort, \
    duration_us, track_number, disc_number, genre, year, cover_id, cover_type, \
    (SELECT m.manifest FROM manifests m WHERE m.blob_prefix = tracks.manifest_key) AS manifest, \
    create_ms, update_ms";

/// Stores the manifest of the audio under `$1` (its blob prefix), shared by every track
/// playing it. Rewritten only when it changed: a bulk load writes the same one many times.
pub(crate) const UPSERT_MANIFEST: &str = "INSERT INTO manifests (blob_prefix, manifest)
     VALUES ($1, $2)
     ON CONFLICT (blob_prefix) DO UPDATE SET manifest = excluded.manifest
     WHERE manifests.manifest <> excluded.manifest";

/// Deletes the manifest under `$1` once no track plays it (after a track moved to new audio).
pub(crate) const DROP_MANIFEST: &str = "DELETE FROM manifests WHERE blob_prefix = $1
     AND NOT EXISTS (SELECT 1 FROM tracks WHERE manifest_key = $1)";

pub(crate) const INSERT_ARTIST: &str =
    "INSERT INTO artists (id, name, sort_name, create_ms, update_ms)
     VALUES ($1, $2, $3, $4, $4)
     ON CONFLICT (id) DO UPDATE SET update_ms = excluded.update_ms";

pub(crate) const INSERT_ALBUM: &str =
    "INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms)
     VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (id) DO UPDATE SET update_ms = excluded.update_ms";

pub(crate) const UPSERT_TRACK: &str = "INSERT INTO tracks (id, source, content_hash, title, \
    artist_id, artist_name, artist_sort, album_id, album_title, album_artist_id, \
    album_artist_name, album_artist_sort, duration_us, track_number, disc_number, genre, year, \
    cover_id, cover_type, manifest_key, create_ms, update_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
     $19, $20, $21, $22)
     ON CONFLICT (id) DO UPDATE SET source = excluded.source, \
     content_hash = excluded.content_hash, title = excluded.title, \
     artist_id = excluded.artist_id, artist_name = excluded.artist_name, \
     artist_sort = excluded.artist_sort, album_id = excluded.album_id, \
     album_title = excluded.album_title, album_artist_id = excluded.album_artist_id, \
     album_artist_name = excluded.album_artist_name, \
     album_artist_sort = excluded.album_artist_sort, duration_us = excluded.duration_us, \
     track_number = excluded.track_number, disc_number = excluded.disc_number, \
     genre = excluded.genre, year = excluded.year, cover_id = excluded.cover_id, \
     cover_type = excluded.cover_type, manifest_key = excluded.manifest_key, \
     update_ms = excluded.update_ms";

/// An album with its aggregates; `$1` filters on the album artist or any track's artist when
/// not null. Columns: the record's, then the sort keys `k1` (year or create time) and `k2`.
pub(super) fn album_select(by_artist: bool, ids: bool) -> String {
    let filter = match (by_artist, ids) {
        (true, _) => {
            "WHERE a.artist_id = $1 OR EXISTS \
             (SELECT 1 FROM tracks t WHERE t.album_id = a.id AND t.artist_id = $1)"
        }
        (false, true) => "WHERE a.id = ANY_IDS",
        (false, false) => "",
    };
    let k = if by_artist {
        "COALESCE((SELECT MAX(t.year) FROM tracks t WHERE t.album_id = a.id), 0) AS k1, a.title AS k2"
    } else {
        "a.create_ms AS k1, '' AS k2"
    };
    format!(
        "SELECT a.id, a.title, a.artist_id, a.artist_name,
           COALESCE((SELECT MIN(t.year) FROM tracks t WHERE t.album_id = a.id AND t.year > 0), 0) AS year,
           COALESCE((SELECT t.genre FROM tracks t WHERE t.album_id = a.id AND t.genre <> ''
                     GROUP BY t.genre ORDER BY COUNT(*) DESC, t.genre LIMIT 1), '') AS genre,
           (SELECT t.cover_id FROM tracks t WHERE t.album_id = a.id AND t.cover_id IS NOT NULL
            ORDER BY t.disc_number, t.track_number, t.id LIMIT 1) AS cover_id,
           (SELECT t.cover_type FROM tracks t WHERE t.album_id = a.id AND t.cover_id IS NOT NULL
            ORDER BY t.disc_number, t.track_number, t.id LIMIT 1) AS cover_type,
           (SELECT COUNT(*) FROM tracks t WHERE t.album_id = a.id) AS track_count,
           COALESCE((SELECT MAX(t.disc_number) FROM tracks t WHERE t.album_id = a.id), 1) AS disc_count,
           CAST(COALESCE((SELECT SUM(t.duration_us) FROM tracks t WHERE t.album_id = a.id), 0) AS BIGINT) AS duration_us,
           a.create_ms, a.update_ms, {k}
         FROM albums a {filter}"
    )
}

/// The `column` (`cover_id` or `cover_type`) of an artist's picture: the cover of the first
/// of their tracks (performed, or on an album credited to them) that carries one, in the
/// order of their albums on their page (year, album title) then album order. So it is the
/// cover of their first album that has one, and it changes only when their catalogue does.
fn artist_picture(column: &str) -> String {
    // The two ways a track belongs to the artist are two indexed reads (`tracks_artist`,
    // `tracks_album`) joined by UNION ALL: one `OR` over both made every artist a scan of
    // all tracks (27 s for a page of 500 artists over 100,000 tracks in SQLite). A track in
    // both halves comes twice, which changes nothing for the first row.
    let columns = "t.cover_id, t.cover_type, t.year, t.album_title, t.album_id, t.disc_number, \
                   t.track_number, t.id";
    format!(
        "(SELECT x.{column} FROM (
            SELECT {columns} FROM tracks t WHERE t.artist_id = r.id AND t.cover_id IS NOT NULL
            UNION ALL
            SELECT {columns} FROM tracks t WHERE t.cover_id IS NOT NULL
              AND t.album_id IN (SELECT a.id FROM albums a WHERE a.artist_id = r.id)) x
          ORDER BY x.year, x.album_title, x.album_id, x.disc_number, x.track_number, x.id
          LIMIT 1)"
    )
}

/// An artist with its aggregates; genres come from a separate query. The album count is the
/// albums credited to the artist and those with one of its tracks, as one indexed UNION
/// (an `OR EXISTS` over every album made a page of artists a scan per artist).
pub(super) fn artist_select(ids: bool) -> String {
    let filter = if ids { "WHERE r.id = ANY_IDS" } else { "" };
    format!(
        "SELECT r.id, r.name, r.sort_name,
           (SELECT COUNT(*) FROM (SELECT a.id FROM albums a WHERE a.artist_id = r.id
              UNION SELECT t.album_id FROM tracks t WHERE t.artist_id = r.id) c) AS album_count,
           (SELECT COUNT(*) FROM tracks t WHERE t.artist_id = r.id) AS track_count,
           r.create_ms, r.update_ms, {} AS cover_id, {} AS cover_type,
           CAST(0 AS BIGINT) AS k1, r.sort_name AS k2
         FROM artists r {filter}",
        artist_picture("cover_id"),
        artist_picture("cover_type"),
    )
}

/// The genres of an artist's tracks, most frequent first.
pub(crate) const ARTIST_GENRES: &str =
    "SELECT genre FROM tracks WHERE artist_id = $1 AND genre <> ''
     GROUP BY genre ORDER BY COUNT(*) DESC, genre";

/// `SELECT` of albums by id; `ANY_IDS` is replaced by the adapter's list syntax.
pub(crate) fn albums_by_id() -> String {
    album_select(false, true)
}

/// `SELECT` of artists by id.
pub(crate) fn artists_by_id() -> String {
    artist_select(true)
}

fn small(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

/// A track from a row of [`TRACK_COLUMNS`].
pub(crate) fn track(row: &dyn Column) -> anyhow::Result<TrackRecord> {
    let cover = match (row.opt_text(17)?, row.opt_text(18)?) {
        (Some(id), Some(media_type)) => Some(Cover { id, media_type }),
        _ => None,
    };
    Ok(TrackRecord {
        id: row.text(0)?,
        source: row.text(1)?,
        content_hash: row.text(2)?,
        title: row.text(3)?,
        artist: ArtistKey {
            id: row.text(4)?,
            name: row.text(5)?,
            sort_name: row.text(6)?,
        },
        album: AlbumKey {
            id: row.text(7)?,
            title: row.text(8)?,
            artist: ArtistKey {
                id: row.text(9)?,
                name: row.text(10)?,
                sort_name: row.text(11)?,
            },
        },
        duration_us: row.int(12)?,
        track_number: small(row.int(13)?),
        disc_number: small(row.int(14)?),
        genre: row.text(15)?,
        year: small(row.int(16)?),
        cover,
        manifest: serde_json::from_str(&row.text(19)?)?,
        create_ms: row.int(20)?,
        update_ms: row.int(21)?,
    })
}

/// An album from a row of the album select.
pub(crate) fn album(row: &dyn Column) -> anyhow::Result<AlbumRecord> {
    let cover = match (row.opt_text(6)?, row.opt_text(7)?) {
        (Some(id), Some(media_type)) => Some(Cover { id, media_type }),
        _ => None,
    };
    Ok(AlbumRecord {
        id: row.text(0)?,
        title: row.text(1)?,
        artist_id: row.text(2)?,
        artist_name: row.text(3)?,
        year: small(row.int(4)?),
        genre: row.text(5)?,
        cover,
        track_count: small(row.int(8)?),
        disc_count: small(row.int(9)?).max(1),
        duration_us: row.int(10)?,
        create_ms: row.int(11)?,
        update_ms: row.int(12)?,
    })
}

/// An artist from a row of the artist select (without genres).
pub(crate) fn artist(row: &dyn Column) -> anyhow::Result<ArtistRecord> {
    let image = match (row.opt_text(7)?, row.opt_text(8)?) {
        (Some(id), Some(media_type)) => Some(Cover { id, media_type }),
        _ => None,
    };
    Ok(ArtistRecord {
        id: row.text(0)?,
        name: row.text(1)?,
        sort_name: row.text(2)?,
        genres: Vec::new(),
        album_count: small(row.int(3)?),
        track_count: small(row.int(4)?),
        image,
        create_ms: row.int(5)?,
        update_ms: row.int(6)?,
    })
}

pub(crate) const SESSION_COLUMNS: &str = "session_id, user_id, track_id, track_duration_us, \
    last_sequence, played_us, counted, ended, end_reason, context_type, context_id, quality, \
    started_ms, updated_ms";

pub(crate) const UPSERT_SESSION: &str = "INSERT INTO play_sessions (session_id, user_id, \
    track_id, track_duration_us, last_sequence, played_us, counted, ended, end_reason, \
    context_type, context_id, quality, started_ms, updated_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (session_id) DO UPDATE SET last_sequence = excluded.last_sequence, \
     played_us = excluded.played_us, counted = excluded.counted, ended = excluded.ended, \
     end_reason = excluded.end_reason, context_type = excluded.context_type, \
     context_id = excluded.context_id, quality = excluded.quality, \
     updated_ms = excluded.updated_ms";

/// A session from a row of [`SESSION_COLUMNS`].
pub(crate) fn session(row: &dyn Column) -> anyhow::Result<PlaySession> {
    Ok(PlaySession {
        session_id: row.text(0)?,
        user_id: row.text(1)?,
        track_id: row.text(2)?,
        track_duration_us: row.int(3)?,
        last_sequence: row.int(4)?,
        played_us: row.int(5)?,
        counted: row.int(6)? != 0,
        ended: row.int(7)? != 0,
        end_reason: i32::try_from(row.int(8)?).unwrap_or(0),
        context_type: i32::try_from(row.int(9)?).unwrap_or(0),
        context_id: row.text(10)?,
        quality: i32::try_from(row.int(11)?).unwrap_or(0),
        started_ms: row.int(12)?,
        updated_ms: row.int(13)?,
    })
}
