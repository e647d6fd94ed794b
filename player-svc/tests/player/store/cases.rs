//! The catalogue cases every store adapter must pass.

use std::sync::Arc;

use tunemesh_events::Envelope;
use tunemesh_player::ids;
use tunemesh_player::store::*;

pub(super) fn event() -> Envelope {
    Envelope::new(
        "events.catalog",
        &tunemesh_proto::events::v1::CatalogEvent::default(),
    )
}

fn artist(name: &str) -> ArtistKey {
    ArtistKey {
        id: ids::artist_id(name),
        name: name.to_owned(),
        sort_name: ids::sort_name(name),
    }
}

/// A track of `album` by `by`, created at `at` ms.
pub(super) fn track(
    source: &str,
    title: &str,
    by: &str,
    album: &str,
    disc: u32,
    number: u32,
    at: i64,
) -> TrackRecord {
    TrackRecord {
        id: ids::track_id(source),
        source: source.to_owned(),
        content_hash: format!("sha256:{source}"),
        title: title.to_owned(),
        artist: artist(by),
        album: AlbumKey {
            id: ids::album_id(by, album),
            title: album.to_owned(),
            artist: artist(by),
        },
        duration_us: 60_000_000,
        track_number: number,
        disc_number: disc,
        genre: "Electronic".to_owned(),
        year: 2012,
        cover: None,
        manifest: TrackManifest {
            blob_prefix: format!("tracks/{source}"),
            channels: 2,
            renditions: Vec::new(),
        },
        create_ms: at,
        update_ms: at,
    }
}

pub(super) async fn put_all(
    store: &Arc<dyn CatalogStore>,
    tracks: &[TrackRecord],
) -> anyhow::Result<()> {
    for t in tracks {
        store.put_track(t, &event()).await?;
    }
    Ok(())
}

pub async fn a_track_is_found_by_id_source_and_hash(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let t = track("file:/a.ogg", "A", "Singularity", "OST", 1, 1, 1000);
    put_all(&store, std::slice::from_ref(&t)).await?;
    assert_eq!(
        store.tracks(&[t.id.clone(), "tr_none".into()]).await?,
        vec![t.clone()]
    );
    assert_eq!(store.track_by_source("file:/a.ogg").await?, Some(t.clone()));
    assert_eq!(
        store.track_id_by_hash(&t.content_hash).await?,
        Some(t.id.clone())
    );
    assert_eq!(store.track_id_by_hash("sha256:other").await?, None);
    assert_eq!(store.track_by_source("file:/b.ogg").await?, None);
    Ok(())
}

pub async fn albums_and_artists_aggregate_their_tracks_in_album_order(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let tracks = [
        track("s2", "Second", "Singularity", "OST", 1, 2, 1),
        track("s1", "First", "Singularity", "OST", 1, 1, 2),
        track("s3", "Bonus", "Singularity", "OST", 2, 1, 3),
        track("x1", "Other", "Zed", "Else", 1, 1, 4),
    ];
    put_all(&store, &tracks).await?;
    let album = ids::album_id("Singularity", "OST");
    let page = store
        .list_tracks(&TrackFilter::Album(album.clone()), None, 10)
        .await?;
    let titles: Vec<_> = page.items.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["First", "Second", "Bonus"]);
    assert_eq!((page.total, page.next), (3, None));
    let albums = store.albums(std::slice::from_ref(&album)).await?;
    let a = albums
        .first()
        .ok_or_else(|| anyhow::anyhow!("album missing"))?;
    assert_eq!(
        (a.track_count, a.disc_count, a.duration_us),
        (3, 2, 180_000_000)
    );
    assert_eq!((a.year, a.genre.as_str()), (2012, "Electronic"));
    let artists = store.artists(&[ids::artist_id("Singularity")]).await?;
    let r = artists
        .first()
        .ok_or_else(|| anyhow::anyhow!("artist missing"))?;
    assert_eq!((r.track_count, r.album_count), (3, 1));
    assert_eq!(r.genres, ["Electronic"]);
    let by_artist = store
        .list_albums(Some(&ids::artist_id("Zed")), None, 10)
        .await?;
    assert_eq!(by_artist.items.len(), 1);
    assert_eq!(by_artist.items[0].title, "Else");
    Ok(())
}

pub async fn keyset_pages_see_every_track_once_with_the_total(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let tracks: Vec<_> = (0..7)
        .map(|i| {
            track(
                &format!("p{i}"),
                &format!("T{i}"),
                "A",
                "B",
                1,
                i,
                100 + i64::from(i % 3),
            )
        })
        .collect();
    put_all(&store, &tracks).await?;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_tracks(&TrackFilter::All, after.as_ref(), 3)
            .await?;
        assert_eq!(page.total, 7);
        seen.extend(page.items.iter().map(|t| t.id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<_> = tracks.iter().map(|t| (t.create_ms, t.id.clone())).collect();
    expected.sort();
    assert_eq!(
        seen,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
    Ok(())
}

pub async fn artists_list_by_sort_name(store: Arc<dyn CatalogStore>) -> anyhow::Result<()> {
    let tracks = [
        track("a", "1", "Zed", "Z", 1, 1, 1),
        track("b", "2", "The Beatles", "Abbey Road", 1, 1, 2),
        track("c", "3", "Can", "Tago Mago", 1, 1, 3),
    ];
    put_all(&store, &tracks).await?;
    let first = store.list_artists(None, 2).await?;
    let names: Vec<_> = first.items.iter().map(|a| a.sort_name.as_str()).collect();
    assert_eq!(names, ["Beatles, The", "Can"]);
    let rest = store.list_artists(first.next.as_ref(), 2).await?;
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].name, "Zed");
    assert_eq!(rest.total, 3);
    Ok(())
}

pub async fn an_artist_pictures_the_cover_of_their_first_album_that_has_one(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let cover = |id: &str| {
        Some(Cover {
            id: id.repeat(64),
            media_type: "image/jpeg".to_owned(),
        })
    };
    let with = |mut t: TrackRecord, year: u32, picture: Option<Cover>| {
        t.year = year;
        t.cover = picture;
        t
    };
    let tracks = [
        // The first album (1999) has no cover; the second's first covered track names it.
        with(track("a1", "1", "Can", "Early", 1, 1, 1), 1999, None),
        with(track("b2", "2", "Can", "Later", 1, 2, 2), 2004, cover("b")),
        with(track("b1", "1", "Can", "Later", 1, 1, 3), 2004, None),
        with(track("c1", "1", "Can", "Latest", 1, 1, 4), 2010, cover("c")),
        with(track("z1", "1", "Zed", "Bare", 1, 1, 5), 2010, None),
    ];
    put_all(&store, &tracks).await?;
    let listed = store.list_artists(None, 10).await?;
    let pictures: Vec<_> = listed
        .items
        .iter()
        .map(|a| (a.name.as_str(), a.image.as_ref().map(|c| &c.id[..1])))
        .collect();
    assert_eq!(pictures, [("Can", Some("b")), ("Zed", None)]);
    let by_id = store.artists(&[ids::artist_id("Can")]).await?;
    assert_eq!(by_id.first().and_then(|a| a.image.clone()), cover("b"));
    Ok(())
}

pub async fn re_putting_a_source_keeps_its_id_and_creation_time(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let original = track("file:/x.ogg", "Old", "A", "B", 1, 1, 1000);
    put_all(&store, std::slice::from_ref(&original)).await?;
    let mut changed = original.clone();
    changed.title = "New".into();
    changed.content_hash = "sha256:changed".into();
    changed.update_ms = 2000;
    put_all(&store, std::slice::from_ref(&changed)).await?;
    let found = store.tracks(std::slice::from_ref(&original.id)).await?;
    assert_eq!(found, vec![changed]);
    assert_eq!(store.track_id_by_hash("sha256:file:/x.ogg").await?, None);
    Ok(())
}

pub async fn tracks_put_together_are_all_stored_with_their_albums(
    store: Arc<dyn CatalogStore>,
) -> anyhow::Result<()> {
    let tracks: Vec<_> = (0..5)
        .map(|i| {
            track(
                &format!("bulk{i}"),
                &format!("T{i}"),
                "A",
                "B",
                1,
                i + 1,
                10 + i64::from(i),
            )
        })
        .collect();
    let pairs: Vec<_> = tracks.iter().map(|t| (t.clone(), event())).collect();
    store.put_tracks(&pairs).await?;
    let page = store.list_tracks(&TrackFilter::All, None, 10).await?;
    assert_eq!(page.total, 5);
    let ids: Vec<_> = page.items.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, tracks.iter().map(|t| t.id.clone()).collect::<Vec<_>>());
    let albums = store.albums(&[tracks[0].album.id.clone()]).await?;
    assert_eq!(albums.len(), 1);
    assert_eq!((albums[0].track_count, albums[0].year), (5, 2012));
    Ok(())
}
