//! The keyset listings' plans on the embedded store: each unfiltered order reads its index
//! in order and stops at the page's limit. A sort of the whole listing (a `TEMP B-TREE` at
//! the top of the plan) costs a read of every row for each page: 160 ms at 10k tracks and
//! over the gateway's deadline at 100k before the orders left their constant key parts out.
//! Their totals read one kept count (migration V5) instead of counting the table: 19 ms a
//! page at 1M tracks.

use super::super::keyset::{self, Listing};
use super::super::types::TrackFilter;
use super::{SqliteStore, lite};

/// The top-level steps of `query`'s plan, as SQLite words them.
async fn plan(store: &SqliteStore, query: String) -> Vec<String> {
    store
        .connection()
        .call(move |conn| -> rusqlite::Result<Vec<String>> {
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", lite(&query)))?;
            // Unbound parameters are NULL, which does not change the plan.
            let nulls = vec![rusqlite::types::Null; statement.parameter_count()];
            let rows = statement.query_map(rusqlite::params_from_iter(nulls), |r| {
                Ok((r.get::<_, i64>(1)?, r.get(3)?))
            })?;
            let mut top = Vec::new();
            for row in rows {
                let (parent, detail): (i64, String) = row?;
                if parent == 0 {
                    top.push(detail);
                }
            }
            Ok(top)
        })
        .await
        .expect("explain")
}

#[tokio::test]
async fn unfiltered_listings_read_their_index_in_order_without_sorting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("catalog.sqlite"))
        .await
        .expect("open");
    for keyed in [false, true] {
        for (name, listing, index) in [
            (
                "tracks",
                keyset::list_tracks(&TrackFilter::All, keyed),
                "tracks_created",
            ),
            (
                "tracks by genre",
                keyset::list_tracks(&TrackFilter::Genre("Rock".into()), keyed),
                "tracks_genre",
            ),
        ] {
            let steps = plan(&store, listing.page).await;
            assert!(
                steps.iter().all(|s| !s.contains("TEMP B-TREE")),
                "{name} (keyed: {keyed}) sorts: {steps:?}"
            );
            assert!(
                steps.iter().any(|s| s.contains(index)),
                "{name} (keyed: {keyed}) does not read {index}: {steps:?}"
            );
        }
    }
}

#[tokio::test]
async fn unfiltered_and_genre_totals_read_one_kept_count_without_scanning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("catalog.sqlite"))
        .await
        .expect("open");
    let listings: [(&str, Listing); 4] = [
        ("tracks", keyset::list_tracks(&TrackFilter::All, false)),
        (
            "tracks by genre",
            keyset::list_tracks(&TrackFilter::Genre("Rock".into()), false),
        ),
        ("albums", keyset::list_albums(false, false)),
        ("artists", keyset::list_artists(false)),
    ];
    for (name, listing) in listings {
        let steps = plan(&store, listing.count).await;
        assert!(
            steps.iter().all(|s| !s.contains("SCAN")),
            "{name}'s total scans: {steps:?}"
        );
        assert!(
            steps
                .iter()
                .any(|s| s.contains("SEARCH catalogue_counts USING PRIMARY KEY")),
            "{name}'s total does not read its kept count: {steps:?}"
        );
    }
}
