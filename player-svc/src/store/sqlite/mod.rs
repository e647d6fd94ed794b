//! The embedded adapter: one SQLite file under the service's data directory, driven on
//! tokio-rusqlite's own thread so no query ever blocks an async worker. The catalogue is
//! here, play sessions in `sessions.rs`.

use std::path::Path;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use tunemesh_events::Envelope;
use tunemesh_runtime::migrate::{self, Migrations};

use super::keyset::{self, Listing};
use super::listings::Keyed;
use super::sql::{self, Column};
use super::{
    AlbumQuery, AlbumRecord, ArtistRecord, CatalogStore, GenreCount, Page, SortKey, StoreError,
    TrackFilter, TrackRecord, TrackSample,
};

mod listed;
#[cfg(test)]
mod plans;
mod sessions;
mod write;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// The catalogue's steps, in refinery's default history table (see the PostgreSQL adapter).
pub const MIGRATIONS: Migrations = Migrations {
    service: crate::SERVICE_NAME,
    history_table: "refinery_schema_history",
    steps: embedded::migrations::runner,
};

/// The catalogue and play sessions in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: tokio_rusqlite::Connection,
}

impl SqliteStore {
    /// Opens (creating it if needed) the database at `path` and applies the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let db = tokio_rusqlite::Connection::open(path)
            .await
            .map_err(StoreError::backend)?;
        db.call(|conn| -> anyhow::Result<()> {
            // WAL lets readers run while ingest writes; a busy timeout rides out the relay.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            Ok(())
        })
        .await
        .map_err(flatten)?;
        migrate::sqlite(&db, &MIGRATIONS)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self { db })
    }

    /// The connection, for the outbox relay.
    pub fn connection(&self) -> tokio_rusqlite::Connection {
        self.db.clone()
    }

    async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&mut Connection) -> anyhow::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.db.call(f).await.map_err(flatten)
    }
}

fn flatten(error: tokio_rusqlite::Error<anyhow::Error>) -> StoreError {
    match error {
        tokio_rusqlite::Error::Error(e) => match e.downcast::<crate::error::PlayerError>() {
            Ok(domain) => StoreError::Domain(domain),
            Err(e) => StoreError::Backend(e),
        },
        other => StoreError::backend(anyhow::anyhow!("sqlite: {other}")),
    }
}

/// `$n` placeholders become SQLite's `?n`; id lists are JSON arrays.
fn lite(sql: &str) -> String {
    sql.replace("= ANY_IDS", "IN (SELECT value FROM json_each($1))")
        .replace('$', "?")
}

impl Column for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> anyhow::Result<i64> {
        Ok(self.get(index)?)
    }
    fn text(&self, index: usize) -> anyhow::Result<String> {
        Ok(self.get(index)?)
    }
    fn opt_text(&self, index: usize) -> anyhow::Result<Option<String>> {
        Ok(self.get(index)?)
    }
}

/// Runs `query` with `params` and maps every row.
fn rows<T>(
    conn: &Connection,
    query: &str,
    params: &[&dyn rusqlite::ToSql],
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(&lite(query))?;
    let mut rows = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

fn count(conn: &Connection, query: &str, params: &[&dyn rusqlite::ToSql]) -> anyhow::Result<u64> {
    let n: i64 = conn.query_row(&lite(query), params, |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn ids_json(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Runs a keyset page: `lead` parameters (the filter), then the key's parts the listing
/// orders by when given, then the limit.
fn keyed_page<T>(
    conn: &Connection,
    listing: &Listing,
    lead: Option<&str>,
    after: Option<&SortKey>,
    n: usize,
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> anyhow::Result<(Vec<T>, u64)> {
    let lim = limit(n);
    let mut p: Vec<&dyn rusqlite::ToSql> = Vec::new();
    if let Some(lead) = &lead {
        p.push(lead);
    }
    if let Some(key) = after {
        let SortKey(k1, k2, k3, k4, id) = key;
        for part in listing.parts {
            p.push(match part {
                1 => k1 as &dyn rusqlite::ToSql,
                2 => k2,
                3 => k3,
                _ => k4,
            });
        }
        p.push(id);
    }
    p.push(&lim);
    let items = rows(conn, &listing.page, &p, map)?;
    let total = match &lead {
        Some(lead) => count(conn, &listing.count, &[lead])?,
        None => count(conn, &listing.count, &[])?,
    };
    Ok((items, total))
}

fn next_key<T>(items: &[T], n: usize, key: impl Fn(&T) -> SortKey) -> Option<SortKey> {
    (items.len() == n).then(|| items.last().map(key)).flatten()
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn track_id_by_hash(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        let hash = content_hash.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id FROM tracks WHERE content_hash = ?1 LIMIT 1",
                    [hash],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await
    }

    async fn track_by_source(&self, source: &str) -> Result<Option<TrackRecord>, StoreError> {
        let source = source.to_owned();
        self.run(move |conn| {
            let query = format!(
                "SELECT {} FROM tracks WHERE source = $1",
                sql::TRACK_COLUMNS
            );
            Ok(rows(conn, &query, &[&source], sql::track)?
                .into_iter()
                .next())
        })
        .await
    }

    async fn put_track(&self, track: &TrackRecord, event: &Envelope) -> Result<(), StoreError> {
        let (track, event) = (track.clone(), event.clone());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write::put(&tx, &track, &event, &mut write::Written::default())?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn put_tracks(&self, tracks: &[(TrackRecord, Envelope)]) -> Result<(), StoreError> {
        let tracks = tracks.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // One manifest write per distinct audio in the batch (bulk tracks share theirs).
            let mut written = write::Written::default();
            for (track, event) in &tracks {
                write::put(&tx, track, event, &mut written)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn tracks(&self, ids: &[String]) -> Result<Vec<TrackRecord>, StoreError> {
        let ids = ids_json(ids);
        self.run(move |conn| {
            let query = format!(
                "SELECT {} FROM tracks WHERE id = ANY_IDS",
                sql::TRACK_COLUMNS
            );
            rows(conn, &query, &[&ids], sql::track)
        })
        .await
    }

    async fn list_tracks(
        &self,
        filter: &TrackFilter,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<TrackRecord>, StoreError> {
        let (filter, after) = (filter.clone(), after.cloned());
        self.run(move |conn| {
            let listing = keyset::list_tracks(&filter, after.is_some());
            let lead = match &filter {
                TrackFilter::All => None,
                TrackFilter::Album(id) | TrackFilter::Artist(id) | TrackFilter::Genre(id) => {
                    Some(id.as_str())
                }
            };
            let (items, total) = keyed_page(conn, &listing, lead, after.as_ref(), n, sql::track)?;
            let next = next_key(&items, n, |t| keyset::track_key(&filter, t));
            Ok(Page { items, next, total })
        })
        .await
    }

    async fn albums(&self, ids: &[String]) -> Result<Vec<AlbumRecord>, StoreError> {
        let ids = ids_json(ids);
        self.run(move |conn| rows(conn, &sql::albums_by_id(), &[&ids], sql::album))
            .await
    }

    async fn list_albums(
        &self,
        artist_id: Option<&str>,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<AlbumRecord>, StoreError> {
        let (artist, after) = (artist_id.map(str::to_owned), after.cloned());
        self.run(move |conn| {
            let by_artist = artist.is_some();
            let listing = keyset::list_albums(by_artist, after.is_some());
            let (items, total) = keyed_page(
                conn,
                &listing,
                artist.as_deref(),
                after.as_ref(),
                n,
                sql::album,
            )?;
            let next = next_key(&items, n, |a| keyset::album_key(by_artist, a));
            Ok(Page { items, next, total })
        })
        .await
    }

    async fn artists(&self, ids: &[String]) -> Result<Vec<ArtistRecord>, StoreError> {
        let ids = ids_json(ids);
        self.run(move |conn| {
            let mut artists = rows(conn, &sql::artists_by_id(), &[&ids], sql::artist)?;
            with_genres(conn, &mut artists)?;
            Ok(artists)
        })
        .await
    }

    async fn list_artists(
        &self,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<ArtistRecord>, StoreError> {
        let after = after.cloned();
        self.run(move |conn| {
            let listing = keyset::list_artists(after.is_some());
            let (mut items, total) =
                keyed_page(conn, &listing, None, after.as_ref(), n, sql::artist)?;
            with_genres(conn, &mut items)?;
            let next = next_key(&items, n, keyset::artist_key);
            Ok(Page { items, next, total })
        })
        .await
    }

    async fn key_at(&self, listing: &Keyed, offset: u64) -> Result<Option<SortKey>, StoreError> {
        listed::key_at(self, listing, offset).await
    }

    async fn query_albums(
        &self,
        query: &AlbumQuery,
        n: usize,
    ) -> Result<Page<AlbumRecord>, StoreError> {
        listed::query_albums(self, query, n).await
    }

    async fn tracks_from(
        &self,
        sample: &TrackSample,
        start: &str,
        n: usize,
    ) -> Result<Vec<TrackRecord>, StoreError> {
        listed::tracks_from(self, sample, start, n).await
    }

    async fn albums_from(&self, start: &str, n: usize) -> Result<Vec<AlbumRecord>, StoreError> {
        listed::albums_from(self, start, n).await
    }

    async fn genres(&self, n: usize) -> Result<Vec<GenreCount>, StoreError> {
        listed::genres(self, n).await
    }
}

fn with_genres(conn: &Connection, artists: &mut [ArtistRecord]) -> anyhow::Result<()> {
    for artist in artists {
        artist.genres = rows(conn, sql::ARTIST_GENRES, &[&artist.id], |r: &dyn Column| {
            r.text(0)
        })?;
    }
    Ok(())
}
