//! Listening history on both stores: plays and catalogue facts written as the feed writes
//! them, read through the domain (`RecentlyPlayed`, `MostPlayedAlbums`, `TopTracks`), in
//! either order of the two streams.

use std::sync::Arc;

use tokio::sync::watch;
use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, Track};
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_proto::reco::v1::{MostPlayedAlbumsRequest, RecentlyPlayedRequest, TopTracksRequest};
use tunemesh_reco::error::RecoError;
use tunemesh_reco::model::update::{plan_listen, plan_track};
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::service::{ModelRecommender, Recommender};
use tunemesh_reco::store::{Applied, RecoStore};

use crate::contract::on_both;

const DAY: i64 = 86_400_000;
/// Far enough from the epoch that every time is positive.
const T0: i64 = 1_700_000_000_000;

/// One listen of `track` by `user` at `at_ms` (a whole play, or a skip).
fn listen(user: &str, track: &str, at_ms: i64, skip: bool) -> Listen {
    Listen {
        event_id: format!("{user}-{track}-{at_ms}-{skip}"),
        user_id: user.to_owned(),
        track_id: track.to_owned(),
        at_ms,
        kind: if skip {
            ListenKind::Skip
        } else {
            ListenKind::Play { weight: 1.0 }
        },
    }
}

/// Applies `listen` as the play consumer does: read the listener, plan, apply.
async fn apply_listen(store: &dyn RecoStore, listen: &Listen) -> anyhow::Result<()> {
    let params = ModelParams::default();
    loop {
        let listener = store.listener(&listen.user_id, params.recent_size).await?;
        match store
            .apply(&plan_listen(listen, &listener, &params))
            .await?
        {
            Applied::Conflict => continue,
            Applied::Done | Applied::Duplicate => return Ok(()),
        }
    }
}

/// Applies the catalogue fact: `track` by `artist` on `album`, changed at `updated_ms`.
async fn apply_track(
    store: &dyn RecoStore,
    track: &str,
    artist: &str,
    album: &str,
    updated_ms: i64,
) -> anyhow::Result<()> {
    let track = Track {
        id: track.to_owned(),
        title: format!("Title of {track}"),
        artists: vec![ArtistRef {
            id: artist.to_owned(),
            name: format!("Artist {artist}"),
        }],
        album: Some(AlbumRef {
            id: album.to_owned(),
            title: format!("Album {album}"),
        }),
        update_time: Some(Timestamp {
            seconds: updated_ms / 1000,
            nanos: 0,
        }),
        ..Track::default()
    };
    let id = format!("catalog-{}-{updated_ms}", track.id);
    let batch = plan_track(&id, &track, false, &ModelParams::default());
    store.apply(&batch.expect("a valid track")).await?;
    Ok(())
}

/// The domain over `store`, ready.
fn domain(store: Arc<dyn RecoStore>) -> ModelRecommender {
    let (_, ready) = watch::channel(true);
    ModelRecommender::new(store, ModelParams::default(), ready)
}

/// The catalogue of these tests: album x (t1, t2) and y (t3) by artist a, z (t4) by b.
const CATALOGUE: [(&str, &str, &str); 4] = [
    ("t1", "a", "x"),
    ("t2", "a", "x"),
    ("t3", "a", "y"),
    ("t4", "b", "z"),
];

/// ann's plays: t1 twice 90 days ago, t3 and t4 at the same time a day ago, t2 now, a skip
/// of t4 now; bob
/// plays t3 twice and skips t1.
fn plays() -> Vec<Listen> {
    vec![
        listen("ann", "t1", T0 - 90 * DAY, false),
        listen("ann", "t1", T0 - 90 * DAY + 1000, false),
        listen("ann", "t3", T0 - DAY, false),
        listen("ann", "t4", T0 - DAY, false),
        listen("ann", "t2", T0, false),
        listen("ann", "t4", T0 + 1000, true),
        listen("bob", "t3", T0 - 5000, false),
        listen("bob", "t3", T0 - 4000, false),
        listen("bob", "t1", T0 - 3000, true),
    ]
}

/// [`CATALOGUE`], then [`plays`].
async fn seed(store: &dyn RecoStore) -> anyhow::Result<()> {
    for (track, artist, album) in CATALOGUE {
        apply_track(store, track, artist, album, T0 - 100 * DAY).await?;
    }
    for listen in plays() {
        apply_listen(store, &listen).await?;
    }
    Ok(())
}

fn at(ms: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: ms / 1000,
        nanos: 0,
    })
}

/// Everything the history RPCs answer for the tests' listeners and artists.
async fn answers(domain: &ModelRecommender) -> anyhow::Result<String> {
    let mut out = String::new();
    for user in ["ann", "bob", "nobody"] {
        let recent = domain
            .recently_played(user, RecentlyPlayedRequest { limit: 0 })
            .await?;
        let most = domain
            .most_played_albums(user, MostPlayedAlbumsRequest { limit: 0 })
            .await?;
        out.push_str(&format!("{user}: {recent:?} {most:?}\n"));
    }
    for artist in ["a", "b", "unknown"] {
        let request = TopTracksRequest {
            artist_id: artist.to_owned(),
            limit: 0,
        };
        out.push_str(&format!(
            "{artist}: {:?}\n",
            domain.top_tracks(request).await?
        ));
    }
    Ok(out)
}

#[tokio::test]
async fn history_is_latest_first_albums_once_and_skips_are_not_plays() -> anyhow::Result<()> {
    on_both("history recent", |store| async move {
        seed(store.as_ref()).await?;
        let domain = domain(store);
        let recent = domain
            .recently_played("ann", RecentlyPlayedRequest { limit: 0 })
            .await?;
        let tracks: Vec<(&str, _)> = recent
            .tracks
            .iter()
            .map(|t| (t.track_id.as_str(), t.last_played_at))
            .collect();
        // t1 played twice is listed once, at its latest play; the skip of t4 is no play;
        // plays at the same time are in Redis's order (member, descending).
        assert_eq!(
            tracks,
            [
                ("t2", at(T0)),
                ("t4", at(T0 - DAY)),
                ("t3", at(T0 - DAY)),
                ("t1", at(T0 - 90 * DAY + 1000)),
            ]
        );
        let albums: Vec<&str> = recent.albums.iter().map(|a| a.album_id.as_str()).collect();
        assert_eq!(albums, ["x", "z", "y"]);
        assert_eq!(recent.albums[0].last_played_at, at(T0));

        let limited = domain
            .recently_played("ann", RecentlyPlayedRequest { limit: 1 })
            .await?;
        assert_eq!((limited.tracks.len(), limited.albums.len()), (1, 1));
        // bob's skip of t1 is not history either.
        let bob = domain
            .recently_played("bob", RecentlyPlayedRequest { limit: 0 })
            .await?;
        let bob: Vec<&str> = bob.tracks.iter().map(|t| t.track_id.as_str()).collect();
        assert_eq!(bob, ["t3"]);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn most_played_albums_decay_and_top_tracks_count_every_listener() -> anyhow::Result<()> {
    on_both("history counts", |store| async move {
        seed(store.as_ref()).await?;
        let domain = domain(store);
        let most = domain
            .most_played_albums("ann", MostPlayedAlbumsRequest { limit: 0 })
            .await?;
        let albums: Vec<(&str, f64)> = most
            .albums
            .iter()
            .map(|a| (a.album_id.as_str(), a.plays))
            .collect();
        // As of the latest event (T0 + 1 s), 30-day half-life: x holds t2 now (1) and t1
        // twice three half-lives ago (2/8); y and z one play each, at the same time.
        assert_eq!(albums.len(), 3, "{albums:?}");
        assert_eq!(albums[0].0, "x");
        assert!((albums[0].1 - 1.25).abs() < 1e-3, "{albums:?}");
        let day_old = 2f64.powf(-1.0 / 30.0);
        assert_eq!((albums[1].0, albums[2].0), ("y", "z"), "ties by album id");
        assert!((albums[1].1 - day_old).abs() < 1e-3, "{albums:?}");
        assert_eq!(most.albums[0].last_played_at, at(T0));

        let top = |artist: &str| {
            let request = TopTracksRequest {
                artist_id: artist.to_owned(),
                limit: 0,
            };
            let domain = &domain;
            async move {
                let answer = domain.top_tracks(request).await?;
                anyhow::Ok(
                    answer
                        .tracks
                        .into_iter()
                        .map(|t| (t.track_id, t.plays))
                        .collect::<Vec<_>>(),
                )
            }
        };
        // t3: ann once, bob twice; t1: ann twice (bob's skip does not count); t2 once.
        let expected = [("t3", 3), ("t1", 2), ("t2", 1)].map(|(t, n)| (t.to_owned(), n));
        assert_eq!(top("a").await?, expected);
        assert_eq!(top("b").await?, [("t4".to_owned(), 1)]);
        assert!(top("unknown").await?.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn plays_before_their_catalogue_facts_give_the_same_history() -> anyhow::Result<()> {
    on_both("history order", |store| async move {
        let catalogue_first = Arc::new(tunemesh_reco::store::memory::MemoryStore::new());
        for (track, artist, album) in CATALOGUE {
            apply_track(catalogue_first.as_ref(), track, artist, album, T0).await?;
        }
        for listen in plays() {
            apply_listen(catalogue_first.as_ref(), &listen).await?;
        }
        // The store under test gets the plays first, then the catalogue.
        for listen in plays() {
            apply_listen(store.as_ref(), &listen).await?;
        }
        for (track, artist, album) in CATALOGUE {
            apply_track(store.as_ref(), track, artist, album, T0).await?;
        }
        let expected = answers(&domain(catalogue_first)).await?;
        assert_eq!(answers(&domain(store)).await?, expected);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_track_that_moves_album_and_artist_moves_its_history() -> anyhow::Result<()> {
    on_both("history move", |store| async move {
        apply_track(store.as_ref(), "t1", "a", "x", T0).await?;
        apply_listen(store.as_ref(), &listen("ann", "t1", T0, false)).await?;
        apply_track(store.as_ref(), "t1", "b", "w", T0 + 1000).await?;
        let domain = domain(store);
        let recent = domain
            .recently_played("ann", RecentlyPlayedRequest { limit: 0 })
            .await?;
        assert_eq!(recent.albums[0].album_id, "w");
        let top_of = |artist: &str| TopTracksRequest {
            artist_id: artist.to_owned(),
            limit: 0,
        };
        assert!(domain.top_tracks(top_of("a")).await?.tracks.is_empty());
        assert_eq!(domain.top_tracks(top_of("b")).await?.tracks.len(), 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn history_requests_out_of_bounds_are_refused() -> anyhow::Result<()> {
    let store: Arc<dyn RecoStore> = Arc::new(tunemesh_reco::store::memory::MemoryStore::new());
    let domain = domain(store.clone());
    let invalid =
        |result: Result<_, RecoError>| matches!(result, Err(RecoError::InvalidArgument(_)));
    let recent = domain.recently_played("u", RecentlyPlayedRequest { limit: 51 });
    assert!(invalid(recent.await.map(drop)));
    let most = domain.most_played_albums("u", MostPlayedAlbumsRequest { limit: 51 });
    assert!(invalid(most.await.map(drop)));
    let long = "a".repeat(65);
    for artist in ["", "../x", long.as_str()] {
        let request = TopTracksRequest {
            artist_id: artist.to_owned(),
            limit: 5,
        };
        assert!(
            invalid(domain.top_tracks(request).await.map(drop)),
            "{artist:?}"
        );
    }
    let (_, loading) = watch::channel(false);
    let loading = ModelRecommender::new(store, ModelParams::default(), loading);
    let early = loading.recently_played("u", RecentlyPlayedRequest { limit: 5 });
    assert!(matches!(early.await, Err(RecoError::NotReady)));
    Ok(())
}
