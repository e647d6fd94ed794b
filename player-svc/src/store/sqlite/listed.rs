//! The embedded adapter's listings by position, samples and genres (SQL in `store/listings.rs`).

use rusqlite::Connection;

use super::super::listings::{self, Bound, Keyed, Param};
use super::super::sql::{self, Column};
use super::{SqliteStore, count, limit, rows};
use crate::store::{
    AlbumQuery, AlbumRecord, GenreCount, Page, SortKey, StoreError, TrackRecord, TrackSample,
};

/// The parameters of `bound` as rusqlite takes them.
fn bind(bound: &Bound) -> Vec<&dyn rusqlite::ToSql> {
    bound
        .params
        .iter()
        .map(|p| match p {
            Param::Int(i) => i as &dyn rusqlite::ToSql,
            Param::Text(s) => s as &dyn rusqlite::ToSql,
        })
        .collect()
}

fn bound_rows<T>(
    conn: &Connection,
    (query, bound): &(String, Bound),
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    rows(conn, query, &bind(bound), map)
}

pub(super) async fn key_at(
    store: &SqliteStore,
    listing: &Keyed,
    offset: u64,
) -> Result<Option<SortKey>, StoreError> {
    let query = listings::key_at(listing, offset);
    store
        .run(move |conn| {
            let keys = bound_rows(conn, &query, |r| {
                Ok(listings::key(
                    r.int(0)?,
                    r.text(1)?,
                    r.int(2)?,
                    r.int(3)?,
                    r.text(4)?,
                ))
            })?;
            Ok(keys.into_iter().next())
        })
        .await
}

pub(super) async fn query_albums(
    store: &SqliteStore,
    query: &AlbumQuery,
    n: usize,
) -> Result<Page<AlbumRecord>, StoreError> {
    let (page, count_query) = listings::query_albums(query, n);
    store
        .run(move |conn| {
            let items = bound_rows(conn, &page, sql::album)?;
            let total = count(conn, &count_query.0, &bind(&count_query.1))?;
            Ok(Page {
                items,
                next: None,
                total,
            })
        })
        .await
}

pub(super) async fn tracks_from(
    store: &SqliteStore,
    sample: &TrackSample,
    start: &str,
    n: usize,
) -> Result<Vec<TrackRecord>, StoreError> {
    let query = listings::tracks_from(sample, start, n);
    store
        .run(move |conn| bound_rows(conn, &query, sql::track))
        .await
}

pub(super) async fn albums_from(
    store: &SqliteStore,
    start: &str,
    n: usize,
) -> Result<Vec<AlbumRecord>, StoreError> {
    let query = listings::albums_from(start, n);
    store
        .run(move |conn| bound_rows(conn, &query, sql::album))
        .await
}

pub(super) async fn genres(store: &SqliteStore, n: usize) -> Result<Vec<GenreCount>, StoreError> {
    let lim = limit(n);
    store
        .run(move |conn| {
            rows(conn, listings::GENRES, &[&lim], |r| {
                Ok(GenreCount {
                    name: r.text(0)?,
                    track_count: u64::try_from(r.int(1)?).unwrap_or(0),
                    album_count: u64::try_from(r.int(2)?).unwrap_or(0),
                })
            })
        })
        .await
}
