//! The listings' totals are kept counts (migration V5): they follow tracks, albums and artists
//! however they come and go (one at a time, in bulk, re-tagged, deleted behind the store's
//! back, several writers at once), on every adapter.

use tunemesh_player::ids;
use tunemesh_player::store::*;

use super::Raw;
use super::cases::{event, put_all, track};

/// The genres whose track totals are checked.
const GENRES: [&str; 3] = ["Jazz", "Pop", "Rock"];

/// A track as [`track`] makes it, in `genre`.
fn in_genre(source: &str, by: &str, album: &str, genre: &str) -> TrackRecord {
    let mut t = track(source, source, by, album, 1, 1, 1);
    t.genre = genre.to_owned();
    t
}

/// The totals the listings report: all tracks, albums (keyset and by position), artists,
/// then tracks in each of [`GENRES`].
pub(super) async fn totals(store: &dyn CatalogStore) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let by_position = AlbumQuery {
        order: AlbumOrder::Created,
        from_year: 0,
        to_year: 0,
        genre: None,
        offset: 0,
    };
    let mut totals = vec![
        (
            "tracks",
            store.list_tracks(&TrackFilter::All, None, 1).await?.total,
        ),
        ("albums", store.list_albums(None, None, 1).await?.total),
        (
            "albums by position",
            store.query_albums(&by_position, 1).await?.total,
        ),
        ("artists", store.list_artists(None, 1).await?.total),
    ];
    for genre in GENRES {
        let filter = TrackFilter::Genre(genre.to_owned());
        totals.push((genre, store.list_tracks(&filter, None, 1).await?.total));
    }
    Ok(totals)
}

/// What [`totals`] should answer, the genres' counts in the order of [`GENRES`].
pub(super) fn expected(
    tracks: u64,
    albums: u64,
    artists: u64,
    genres: [u64; 3],
) -> Vec<(&'static str, u64)> {
    let mut totals = vec![
        ("tracks", tracks),
        ("albums", albums),
        ("albums by position", albums),
        ("artists", artists),
    ];
    totals.extend(GENRES.into_iter().zip(genres));
    totals
}

pub async fn totals_follow_inserts_bulk_inserts_retags_and_deletes(raw: Raw) -> anyhow::Result<()> {
    let store = &*raw.catalog;
    assert_eq!(totals(store).await?, expected(0, 0, 0, [0, 0, 0]));

    let mut can = in_genre("s1", "Can", "Tago Mago", "Rock");
    put_all(
        &raw.catalog,
        &[
            can.clone(),
            in_genre("s2", "Can", "Tago Mago", "Rock"),
            in_genre("s3", "Air", "Moon Safari", "Pop"),
        ],
    )
    .await?;
    assert_eq!(totals(store).await?, expected(3, 2, 2, [0, 1, 2]));

    // The bulk path: one call, a new artist and two new albums, and a track already stored.
    let zed: Vec<_> = (1..=3)
        .map(|i| in_genre(&format!("z{i}"), "Zed", "Blue", "Jazz"))
        .collect();
    let mut bulk = zed.clone();
    bulk.push(in_genre("s4", "Can", "Future Days", "Rock"));
    bulk.push(in_genre("s3", "Air", "Moon Safari", "Pop"));
    let pairs: Vec<_> = bulk.into_iter().map(|t| (t, event())).collect();
    store.put_tracks(&pairs).await?;
    assert_eq!(totals(store).await?, expected(7, 4, 3, [3, 1, 3]));

    // A re-tag moves a track between genres; putting it again unchanged moves nothing.
    can.genre = "Pop".into();
    put_all(&raw.catalog, &[can.clone(), can]).await?;
    assert_eq!(totals(store).await?, expected(7, 4, 3, [3, 2, 2]));

    // Deletes, which the store has no call for: Zed's tracks, then their album and Zed.
    let zed_id = ids::artist_id("Zed");
    let deletes = [
        (
            format!("DELETE FROM tracks WHERE artist_id = '{zed_id}'"),
            3,
        ),
        (
            format!("DELETE FROM albums WHERE artist_id = '{zed_id}'"),
            1,
        ),
        (format!("DELETE FROM artists WHERE id = '{zed_id}'"), 1),
    ];
    for (statement, rows) in deletes {
        assert_eq!((raw.exec)(statement.clone()).await?, rows, "{statement}");
    }
    assert_eq!(totals(store).await?, expected(4, 3, 2, [0, 2, 2]));

    // And what was deleted comes back.
    put_all(&raw.catalog, &zed[..1]).await?;
    assert_eq!(totals(store).await?, expected(5, 4, 3, [1, 2, 2]));
    Ok(())
}

pub async fn concurrent_writers_keep_the_totals(raw: Raw) -> anyhow::Result<()> {
    // Each writer's tracks are on an album credited to the next writer's artist, and each is
    // re-tagged once: the writers take artist, album and count rows in crossing orders.
    const WRITERS: usize = 8;
    const TRACKS: usize = 5;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let store = raw.catalog.clone();
        writers.spawn(async move {
            let credited = format!("P{}", (w + 1) % WRITERS);
            for i in 0..TRACKS {
                let source = format!("w{w}-{i}");
                let mut t = in_genre(&source, &format!("P{w}"), "", GENRES[(w + i) % 3]);
                t.album = track(&source, "", &credited, &format!("Album {w}"), 1, 1, 1).album;
                store.put_track(&t, &event()).await?;
                t.genre = GENRES[(w + i + 1) % 3].to_owned();
                store.put_track(&t, &event()).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined??;
    }
    let mut genres = [0; 3];
    for w in 0..WRITERS {
        for i in 0..TRACKS {
            genres[(w + i + 1) % 3] += 1;
        }
    }
    let (writers, tracks) = (WRITERS as u64, (WRITERS * TRACKS) as u64);
    assert_eq!(
        totals(&*raw.catalog).await?,
        expected(tracks, writers, writers, genres)
    );
    Ok(())
}
