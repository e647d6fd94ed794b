//! The production adapter: PostgreSQL through a deadpool pool, migrations applied at start by
//! the shared runner (`tunemesh_runtime::migrate`), the events outbox in the same database.
//! The catalogue is here, play sessions in `sessions.rs`.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::Pool;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use tunemesh_events::Envelope;
use tunemesh_runtime::migrate::{self, Migrations};

use super::keyset::{self, Listing};
use super::listings::{self, Keyed};
use super::sql::{self, Column};
use super::{
    AlbumQuery, AlbumRecord, ArtistRecord, CatalogStore, GenreCount, Page, SortKey, StoreError,
    TrackFilter, TrackRecord, TrackSample,
};

mod listed;
mod sessions;
mod write;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// The catalogue's steps. The history keeps refinery's default name: catalogues migrated
/// before the shared runner recorded their steps there.
pub const MIGRATIONS: Migrations = Migrations {
    service: crate::SERVICE_NAME,
    history_table: "refinery_schema_history",
    steps: embedded::migrations::runner,
};

/// The catalogue and play sessions in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Applies the migrations on `pool`'s database (under the shared runner's advisory lock,
    /// so replicas starting together take turns) and returns the store.
    pub async fn migrate(pool: Pool) -> Result<Self, StoreError> {
        migrate::postgres(&pool, &MIGRATIONS)
            .await
            .map_err(StoreError::backend)?;
        Ok(Self { pool })
    }

    /// The pool, for the outbox relay.
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(StoreError::backend)
    }
}

fn pg(sql: &str) -> String {
    sql.replace("= ANY_IDS", "= ANY($1)")
}

impl Column for Row {
    fn int(&self, index: usize) -> anyhow::Result<i64> {
        Ok(self.try_get(index)?)
    }
    fn text(&self, index: usize) -> anyhow::Result<String> {
        Ok(self.try_get(index)?)
    }
    fn opt_text(&self, index: usize) -> anyhow::Result<Option<String>> {
        Ok(self.try_get(index)?)
    }
}

async fn rows<T>(
    client: &impl GenericClient,
    query: &str,
    params: &[&(dyn ToSql + Sync)],
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> Result<Vec<T>, StoreError> {
    let statement = client
        .prepare_cached(&pg(query))
        .await
        .map_err(StoreError::backend)?;
    let found = client
        .query(&statement, params)
        .await
        .map_err(StoreError::backend)?;
    found
        .iter()
        .map(|row| map(row))
        .collect::<anyhow::Result<_>>()
        .map_err(StoreError::Backend)
}

/// Runs a keyset page: `lead` parameters (the filter), then the key's parts the listing
/// orders by when given, then the limit.
async fn keyed_page<T>(
    client: &impl GenericClient,
    listing: &Listing,
    lead: Option<&str>,
    after: Option<&SortKey>,
    n: usize,
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> Result<(Vec<T>, u64), StoreError> {
    let lim = i64::try_from(n).unwrap_or(i64::MAX);
    let mut p: Vec<&(dyn ToSql + Sync)> = Vec::new();
    if let Some(lead) = &lead {
        p.push(lead);
    }
    if let Some(key) = after {
        let SortKey(k1, k2, k3, k4, id) = key;
        for part in listing.parts {
            p.push(match part {
                1 => k1 as &(dyn ToSql + Sync),
                2 => k2,
                3 => k3,
                _ => k4,
            });
        }
        p.push(id);
    }
    p.push(&lim);
    let items = rows(client, &listing.page, &p, map).await?;
    let total: i64 = match &lead {
        Some(lead) => client.query_one(&listing.count, &[lead]).await,
        None => client.query_one(&listing.count, &[]).await,
    }
    .map_err(StoreError::backend)?
    .get(0);
    Ok((items, u64::try_from(total).unwrap_or(0)))
}

fn next_key<T>(items: &[T], n: usize, key: impl Fn(&T) -> SortKey) -> Option<SortKey> {
    (items.len() == n).then(|| items.last().map(key)).flatten()
}

async fn with_genres(
    client: &impl GenericClient,
    artists: &mut [ArtistRecord],
) -> Result<(), StoreError> {
    for artist in artists {
        artist.genres = rows(
            client,
            sql::ARTIST_GENRES,
            &[&artist.id],
            |r: &dyn Column| r.text(0),
        )
        .await?;
    }
    Ok(())
}

#[async_trait]
impl CatalogStore for PostgresStore {
    async fn track_id_by_hash(&self, content_hash: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id FROM tracks WHERE content_hash = $1 LIMIT 1",
                &[&content_hash],
            )
            .await
            .map_err(StoreError::backend)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn track_by_source(&self, source: &str) -> Result<Option<TrackRecord>, StoreError> {
        let client = self.client().await?;
        let query = format!(
            "SELECT {} FROM tracks WHERE source = $1",
            sql::TRACK_COLUMNS
        );
        Ok(rows(&client, &query, &[&source], sql::track)
            .await?
            .into_iter()
            .next())
    }

    async fn put_track(&self, t: &TrackRecord, event: &Envelope) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        write::put(&tx, t, event).await?;
        tx.commit().await.map_err(StoreError::backend)
    }

    /// All in one transaction, as the embedded store does: a bulk load commits (and flushes
    /// the WAL) once per call instead of once per track. The rows each track locks stay locked until the commit, in
    /// the caller's order rather than the module's lock order, so two bulk writers over the
    /// same artists could deadlock; PostgreSQL then fails one call with an error (nothing is
    /// half written). A bulk load is one writer.
    async fn put_tracks(&self, tracks: &[(TrackRecord, Envelope)]) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        for (t, event) in tracks {
            write::put(&tx, t, event).await?;
        }
        tx.commit().await.map_err(StoreError::backend)
    }

    async fn tracks(&self, ids: &[String]) -> Result<Vec<TrackRecord>, StoreError> {
        let client = self.client().await?;
        let query = format!(
            "SELECT {} FROM tracks WHERE id = ANY_IDS",
            sql::TRACK_COLUMNS
        );
        rows(&client, &query, &[&ids], sql::track).await
    }

    async fn list_tracks(
        &self,
        filter: &TrackFilter,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<TrackRecord>, StoreError> {
        let client = self.client().await?;
        let listing = keyset::list_tracks(filter, after.is_some());
        let lead = match filter {
            TrackFilter::All => None,
            TrackFilter::Album(id) | TrackFilter::Artist(id) | TrackFilter::Genre(id) => {
                Some(id.as_str())
            }
        };
        let (items, total) = keyed_page(&client, &listing, lead, after, n, sql::track).await?;
        let next = next_key(&items, n, |t| keyset::track_key(filter, t));
        Ok(Page { items, next, total })
    }

    async fn albums(&self, ids: &[String]) -> Result<Vec<AlbumRecord>, StoreError> {
        let client = self.client().await?;
        rows(&client, &sql::albums_by_id(), &[&ids], sql::album).await
    }

    async fn list_albums(
        &self,
        artist_id: Option<&str>,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<AlbumRecord>, StoreError> {
        let client = self.client().await?;
        let by_artist = artist_id.is_some();
        let listing = keyset::list_albums(by_artist, after.is_some());
        let (items, total) = keyed_page(&client, &listing, artist_id, after, n, sql::album).await?;
        let next = next_key(&items, n, |a| keyset::album_key(by_artist, a));
        Ok(Page { items, next, total })
    }

    async fn artists(&self, ids: &[String]) -> Result<Vec<ArtistRecord>, StoreError> {
        let client = self.client().await?;
        let mut artists = rows(&client, &sql::artists_by_id(), &[&ids], sql::artist).await?;
        with_genres(&client, &mut artists).await?;
        Ok(artists)
    }

    async fn list_artists(
        &self,
        after: Option<&SortKey>,
        n: usize,
    ) -> Result<Page<ArtistRecord>, StoreError> {
        let client = self.client().await?;
        let listing = keyset::list_artists(after.is_some());
        let (mut items, total) = keyed_page(&client, &listing, None, after, n, sql::artist).await?;
        with_genres(&client, &mut items).await?;
        let next = next_key(&items, n, keyset::artist_key);
        Ok(Page { items, next, total })
    }

    async fn key_at(&self, listing: &Keyed, offset: u64) -> Result<Option<SortKey>, StoreError> {
        listed::key_at(&self.client().await?, listing, offset).await
    }

    async fn query_albums(
        &self,
        query: &AlbumQuery,
        n: usize,
    ) -> Result<Page<AlbumRecord>, StoreError> {
        listed::query_albums(&self.client().await?, query, n).await
    }

    async fn tracks_from(
        &self,
        sample: &TrackSample,
        start: &str,
        n: usize,
    ) -> Result<Vec<TrackRecord>, StoreError> {
        let query = listings::tracks_from(sample, start, n);
        listed::bound_rows(&self.client().await?, &query, sql::track).await
    }

    async fn albums_from(&self, start: &str, n: usize) -> Result<Vec<AlbumRecord>, StoreError> {
        let query = listings::albums_from(start, n);
        listed::bound_rows(&self.client().await?, &query, sql::album).await
    }

    async fn genres(&self, n: usize) -> Result<Vec<GenreCount>, StoreError> {
        listed::genres(&self.client().await?, n).await
    }
}
