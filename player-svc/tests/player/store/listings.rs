//! The catalogue's listings by position, samples and genres, on every store adapter.

use std::sync::Arc;

use tunemesh_player::ids;
use tunemesh_player::store::*;

use super::cases::{put_all, track};

/// A track of `album` by `by`, with a year and a genre.
fn tagged(source: &str, by: &str, album: &str, year: u32, genre: &str, at: i64) -> TrackRecord {
    let mut t = track(source, source, by, album, 1, 1, at);
    t.year = year;
    t.genre = genre.to_owned();
    t
}

/// Five albums: (artist, title, year, genre, created).
async fn five_albums(store: &Arc<dyn CatalogStore>) -> anyhow::Result<()> {
    put_all(
        store,
        &[
            tagged("a1", "The Beatles", "Abbey Road", 1969, "Rock", 10),
            tagged("a2", "The Beatles", "Abbey Road", 0, "Pop", 11),
            tagged("b1", "Can", "Tago Mago", 1971, "Krautrock", 20),
            tagged("c1", "Zed", "Blue", 1999, "Rock", 30),
            tagged("d1", "Air", "Moon Safari", 1998, "Electronic", 40),
            tagged("e1", "Air", "Untagged", 0, "", 50),
        ],
    )
    .await
}

fn titles(page: &Page<AlbumRecord>) -> Vec<&str> {
    page.items.iter().map(|a| a.title.as_str()).collect()
}

fn query(order: AlbumOrder) -> AlbumQuery {
    AlbumQuery {
        order,
        from_year: 0,
        to_year: 0,
        genre: None,
        offset: 0,
    }
}

pub async fn albums_list_by_position_in_each_order_with_filters(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    five_albums(&store).await?;
    let all = ["Abbey Road", "Tago Mago", "Blue", "Moon Safari", "Untagged"];
    let cases = [
        (AlbumOrder::Created, all.to_vec()),
        (
            AlbumOrder::Newest,
            vec!["Untagged", "Moon Safari", "Blue", "Tago Mago", "Abbey Road"],
        ),
        (
            AlbumOrder::Title,
            vec!["Abbey Road", "Blue", "Moon Safari", "Tago Mago", "Untagged"],
        ),
        // Air, "Beatles, The", Can, Zed.
        (
            AlbumOrder::Artist,
            vec!["Moon Safari", "Untagged", "Abbey Road", "Tago Mago", "Blue"],
        ),
        (
            AlbumOrder::Year,
            vec!["Untagged", "Abbey Road", "Tago Mago", "Moon Safari", "Blue"],
        ),
    ];
    for (order, want) in cases {
        let page = store.query_albums(&query(order), 10).await?;
        assert_eq!(titles(&page), want, "{order:?}");
        assert_eq!(page.total, 5, "{order:?}");
    }
    // A year range leaves out unknown years; descending; offset and limit.
    let mut q = query(AlbumOrder::YearDescending);
    (q.from_year, q.to_year) = (1969, 1998);
    let page = store.query_albums(&q, 10).await?;
    assert_eq!(titles(&page), ["Moon Safari", "Tago Mago", "Abbey Road"]);
    assert_eq!(page.total, 3);
    q.offset = 1;
    let page = store.query_albums(&q, 1).await?;
    assert_eq!((titles(&page), page.total), (vec!["Tago Mago"], 3));
    // A genre matches albums with any track of it (Abbey Road has Rock and Pop tracks).
    let mut q = query(AlbumOrder::Title);
    q.genre = Some("Rock".into());
    let page = store.query_albums(&q, 10).await?;
    assert_eq!((titles(&page), page.total), (vec!["Abbey Road", "Blue"], 2));
    q.genre = Some("Pop".into());
    assert_eq!(titles(&store.query_albums(&q, 10).await?), ["Abbey Road"]);
    q.genre = Some("Polka".into());
    assert_eq!(store.query_albums(&q, 10).await?.total, 0);
    Ok(())
}

pub async fn a_retagged_track_refreshes_the_year_of_both_albums(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    five_albums(&store).await?;
    // Blue's only track moves to Tago Mago with another year: Blue keeps no year.
    let mut moved = tagged("c1", "Can", "Tago Mago", 1970, "Rock", 30);
    moved.id = ids::track_id("c1");
    put_all(&store, &[moved]).await?;
    let mut q = query(AlbumOrder::Year);
    (q.from_year, q.to_year) = (1970, 2000);
    let page = store.query_albums(&q, 10).await?;
    assert_eq!(titles(&page), ["Tago Mago", "Moon Safari"]);
    let tago = &page.items[0];
    assert_eq!((tago.year, tago.track_count), (1970, 2));
    Ok(())
}

pub async fn the_key_at_an_offset_resumes_each_keyset_listing(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    five_albums(&store).await?;
    let listings = [
        Keyed::Tracks(TrackFilter::All),
        Keyed::Tracks(TrackFilter::Genre("Rock".into())),
        Keyed::Tracks(TrackFilter::Album(ids::album_id(
            "The Beatles",
            "Abbey Road",
        ))),
        Keyed::Albums(None),
        Keyed::Albums(Some(ids::artist_id("Air"))),
        Keyed::Artists,
    ];
    for listing in listings {
        let ids = all_ids(&store, &listing).await?;
        assert!(!ids.is_empty(), "{listing:?}");
        for offset in 0..ids.len() {
            let key = store.key_at(&listing, offset as u64).await?;
            let key = key.ok_or_else(|| anyhow::anyhow!("{listing:?} {offset}"))?;
            assert_eq!(key.4, ids[offset], "{listing:?} {offset}");
            let rest = page_ids(&store, &listing, Some(&key)).await?;
            assert_eq!(rest, ids[offset + 1..], "{listing:?} after {offset}");
        }
        let past = store.key_at(&listing, ids.len() as u64).await?;
        assert_eq!(past, None, "{listing:?}");
    }
    // Tracks of a genre, oldest first.
    let rock = page_ids(
        &store,
        &Keyed::Tracks(TrackFilter::Genre("Rock".into())),
        None,
    )
    .await?;
    assert_eq!(rock, [ids::track_id("a1"), ids::track_id("c1")]);
    Ok(())
}

async fn page_ids(
    store: &Arc<dyn CatalogStore>,
    listing: &Keyed,
    after: Option<&SortKey>,
) -> anyhow::Result<Vec<String>> {
    Ok(match listing {
        Keyed::Tracks(filter) => store
            .list_tracks(filter, after, 100)
            .await?
            .items
            .into_iter()
            .map(|t| t.id)
            .collect(),
        Keyed::Albums(artist) => store
            .list_albums(artist.as_deref(), after, 100)
            .await?
            .items
            .into_iter()
            .map(|a| a.id)
            .collect(),
        Keyed::Artists => store
            .list_artists(after, 100)
            .await?
            .items
            .into_iter()
            .map(|a| a.id)
            .collect(),
    })
}

async fn all_ids(store: &Arc<dyn CatalogStore>, listing: &Keyed) -> anyhow::Result<Vec<String>> {
    page_ids(store, listing, None).await
}

pub async fn samples_run_by_id_from_a_start_within_the_filters(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    five_albums(&store).await?;
    let any = TrackSample::default();
    let all = store.tracks_from(&any, "tr_", 100).await?;
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "by id");
    let from_third = store.tracks_from(&any, &all[2].id, 2).await?;
    assert_eq!(from_third, all[2..4]);
    let rock_90s = TrackSample {
        genre: Some("Rock".into()),
        from_year: 1990,
        to_year: 1999,
    };
    let found = store.tracks_from(&rock_90s, "tr_", 100).await?;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ids::track_id("c1"));
    let albums = store.albums_from("al_", 100).await?;
    assert_eq!(albums.len(), 5);
    assert!(albums.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(store.albums_from("al_g", 100).await?.len() < 5 || albums[0].id.as_str() >= "al_g");
    Ok(())
}

pub async fn genres_count_their_tracks_and_albums(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    five_albums(&store).await?;
    put_all(&store, &[tagged("c2", "Zed", "Blue", 1999, "Rock", 31)]).await?;
    let genres = store.genres(100).await?;
    let counts: Vec<_> = genres
        .iter()
        .map(|g| (g.name.as_str(), g.track_count, g.album_count))
        .collect();
    assert_eq!(
        counts,
        [
            ("Electronic", 1, 1),
            ("Krautrock", 1, 1),
            ("Pop", 1, 1),
            ("Rock", 3, 2),
        ]
    );
    assert_eq!(store.genres(2).await?.len(), 2);
    Ok(())
}

pub async fn an_artist_counts_and_pictures_albums_they_only_feature_on(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    // Guest performs one track of Host's album, which has a cover; Guest has no album.
    let mut guest = track("g1", "Duet", "Guest", "Shared", 1, 2, 1);
    guest.album = track("h1", "Solo", "Host", "Shared", 1, 1, 1).album;
    guest.cover = Some(Cover {
        id: "c".repeat(64),
        media_type: "image/jpeg".into(),
    });
    let host = track("h1", "Solo", "Host", "Shared", 1, 1, 2);
    put_all(&store, &[host, guest]).await?;
    let found = store
        .artists(&[ids::artist_id("Guest"), ids::artist_id("Host")])
        .await?;
    let by_name = |name: &str| found.iter().find(|a| a.name == name).cloned();
    let guest = by_name("Guest").ok_or_else(|| anyhow::anyhow!("guest"))?;
    let host = by_name("Host").ok_or_else(|| anyhow::anyhow!("host"))?;
    assert_eq!((guest.album_count, guest.track_count), (1, 1));
    assert_eq!((host.album_count, host.track_count), (1, 1));
    assert_eq!(guest.image.map(|c| c.id), Some("c".repeat(64)));
    assert_eq!(host.image.map(|c| c.id), Some("c".repeat(64)));
    Ok(())
}
