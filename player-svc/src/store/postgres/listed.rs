//! The production adapter's listings by position, samples and genres (SQL in
//! `store/listings.rs`).

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::super::listings::{self, Bound, Keyed, Param};
use super::super::sql::{self, Column};
use super::rows;
use crate::store::{AlbumQuery, AlbumRecord, GenreCount, Page, SortKey, StoreError};

/// The parameters of `bound` as tokio-postgres takes them.
fn bind(bound: &Bound) -> Vec<&(dyn ToSql + Sync)> {
    bound
        .params
        .iter()
        .map(|p| match p {
            Param::Int(i) => i as &(dyn ToSql + Sync),
            Param::Text(s) => s as &(dyn ToSql + Sync),
        })
        .collect()
}

pub(super) async fn bound_rows<T>(
    client: &impl GenericClient,
    (query, bound): &(String, Bound),
    map: fn(&dyn Column) -> anyhow::Result<T>,
) -> Result<Vec<T>, StoreError> {
    rows(client, query, &bind(bound), map).await
}

pub(super) async fn key_at(
    client: &impl GenericClient,
    listing: &Keyed,
    offset: u64,
) -> Result<Option<SortKey>, StoreError> {
    let query = listings::key_at(listing, offset);
    let keys = bound_rows(client, &query, |r| {
        Ok(listings::key(
            r.int(0)?,
            r.text(1)?,
            r.int(2)?,
            r.int(3)?,
            r.text(4)?,
        ))
    })
    .await?;
    Ok(keys.into_iter().next())
}

pub(super) async fn query_albums(
    client: &impl GenericClient,
    query: &AlbumQuery,
    n: usize,
) -> Result<Page<AlbumRecord>, StoreError> {
    let (page, (count_sql, count_bound)) = listings::query_albums(query, n);
    let items = bound_rows(client, &page, sql::album).await?;
    let total: i64 = client
        .query_one(&count_sql, &bind(&count_bound))
        .await
        .map_err(StoreError::backend)?
        .get(0);
    Ok(Page {
        items,
        next: None,
        total: u64::try_from(total).unwrap_or(0),
    })
}

pub(super) async fn genres(
    client: &impl GenericClient,
    n: usize,
) -> Result<Vec<GenreCount>, StoreError> {
    let lim = i64::try_from(n).unwrap_or(i64::MAX);
    rows(client, listings::GENRES, &[&lim], |r| {
        Ok(GenreCount {
            name: r.text(0)?,
            track_count: u64::try_from(r.int(1)?).unwrap_or(0),
            album_count: u64::try_from(r.int(2)?).unwrap_or(0),
        })
    })
    .await
}
