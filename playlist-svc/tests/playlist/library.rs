//! Liked albums, liked artists and the play queue through the gRPC API, the same cases on
//! both stores (the store contract): likes are idempotent, checked against the catalogue,
//! versioned per kind and listed most recent first with their times; a queue is one per
//! user, replaced whole, versioned and bounded. Album likes publish `LikedItemsChanged`.

use std::time::Duration;

use crate::support::{Env, Mode, Service, album, artist, start, track};
use tunemesh_events::ConsumerSpec;
use tunemesh_playlist::PlaylistSettings;
use tunemesh_proto::events::v1::{LikedItemKind, PlaylistEvent, playlist_event};
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic::Code;

async fn like_albums(
    service: &Service,
    user: &str,
    ids: Vec<String>,
    expected_version: Option<u64>,
) -> Result<u64, tunemesh_proto::tonic::Status> {
    let request = LikeAlbumsRequest {
        album_ids: ids,
        expected_version,
    };
    Ok(service
        .client()
        .like_albums(service.as_user(Some(user), request))
        .await?
        .into_inner()
        .version)
}

async fn liked_albums(
    service: &Service,
    user: &str,
    page_size: i32,
    page_token: String,
) -> anyhow::Result<ListLikedAlbumsResponse> {
    let request = ListLikedAlbumsRequest {
        page_size,
        page_token,
    };
    Ok(service
        .client()
        .list_liked_albums(service.as_user(Some(user), request))
        .await?
        .into_inner())
}

async fn album_and_artist_likes_keep_times_and_versions(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    assert_eq!(
        like_albums(&service, "bob", vec![album(1), album(2)], Some(0)).await?,
        1
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Idempotent: a second like of album 1 keeps its time and the version.
    assert_eq!(
        like_albums(&service, "bob", vec![album(1), album(3), album(3)], None).await?,
        2
    );
    assert_eq!(like_albums(&service, "bob", vec![album(1)], None).await?, 2);

    let check = CheckLikedAlbumsRequest {
        album_ids: vec![album(3), album(4), album(1)],
    };
    let checked = service
        .client()
        .check_liked_albums(service.as_user(Some("bob"), check))
        .await?
        .into_inner();
    assert_eq!(checked.liked, [true, false, true]);
    assert_eq!(checked.version, 2);
    let seconds: Vec<i64> = checked.like_times.iter().map(|t| t.seconds).collect();
    assert!(
        seconds[0] > 0 && seconds[1] == 0 && seconds[2] > 0,
        "{seconds:?}"
    );
    assert!(
        (checked.like_times[0].seconds, checked.like_times[0].nanos)
            > (checked.like_times[2].seconds, checked.like_times[2].nanos),
        "album 1 kept its first time"
    );

    // Most recent first, in pages that chain.
    let first = liked_albums(&service, "bob", 2, String::new()).await?;
    assert_eq!((first.total_size, first.version), (3, 2));
    assert_eq!(first.albums[0].album_id, album(3));
    assert!(!first.next_page_token.is_empty());
    let second = liked_albums(&service, "bob", 2, first.next_page_token).await?;
    let ids: Vec<&str> = second.albums.iter().map(|a| a.album_id.as_str()).collect();
    assert_eq!(ids.len(), 1);
    assert!(second.next_page_token.is_empty());
    assert!(second.albums[0].like_time.is_some());

    // Artists are their own list, with their own version; other users see nothing.
    let request = LikeArtistsRequest {
        artist_ids: vec![artist(7)],
        expected_version: Some(0),
    };
    let liked = service
        .client()
        .like_artists(service.as_user(Some("bob"), request))
        .await?
        .into_inner();
    assert_eq!(liked.version, 1);
    let artists = service
        .client()
        .list_liked_artists(service.as_user(Some("bob"), ListLikedArtistsRequest::default()))
        .await?
        .into_inner();
    assert_eq!(artists.artists.len(), 1);
    assert_eq!(artists.artists[0].artist_id, artist(7));
    assert_eq!(
        liked_albums(&service, "carol", 0, String::new())
            .await?
            .total_size,
        0
    );

    // Unlike: idempotent, the version moves once.
    let unlike = |ids: Vec<String>| UnlikeAlbumsRequest {
        album_ids: ids,
        expected_version: None,
    };
    let client = || service.client();
    let version = client()
        .unlike_albums(service.as_user(Some("bob"), unlike(vec![album(1), album(9)])))
        .await?
        .into_inner()
        .version;
    assert_eq!(version, 3);
    let version = client()
        .unlike_albums(service.as_user(Some("bob"), unlike(vec![album(1)])))
        .await?
        .into_inner()
        .version;
    assert_eq!(version, 3);
    let request = UnlikeArtistsRequest {
        artist_ids: vec![artist(7)],
        expected_version: Some(1),
    };
    let version = client()
        .unlike_artists(service.as_user(Some("bob"), request))
        .await?
        .into_inner()
        .version;
    assert_eq!(version, 2);

    // Track checks carry like times too.
    let like = LikeTracksRequest {
        track_ids: vec![track(5)],
        expected_version: None,
    };
    client()
        .like_tracks(service.as_user(Some("bob"), like))
        .await?;
    let check = CheckLikedTracksRequest {
        track_ids: vec![track(5), track(6)],
    };
    let checked = client()
        .check_liked_tracks(service.as_user(Some("bob"), check))
        .await?
        .into_inner();
    assert_eq!(checked.like_times.len(), 2);
    assert!(checked.like_times[0].seconds > 0 && checked.like_times[1].seconds == 0);
    Ok(())
}

#[tokio::test]
async fn album_and_artist_likes_keep_times_and_versions_on_postgres() -> anyhow::Result<()> {
    album_and_artist_likes_keep_times_and_versions(Mode::Production).await
}

#[tokio::test]
async fn album_and_artist_likes_keep_times_and_versions_on_sqlite() -> anyhow::Result<()> {
    album_and_artist_likes_keep_times_and_versions(Mode::Embedded).await
}

async fn bad_likes_are_refused(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let code = |r: Result<u64, tunemesh_proto::tonic::Status>| r.err().map(|s| s.code());
    let unknown = like_albums(&service, "bob", vec![album(1), "album-5000".into()], None).await;
    assert_eq!(code(unknown), Some(Code::InvalidArgument));
    let none = like_albums(&service, "bob", Vec::new(), None).await;
    assert_eq!(code(none), Some(Code::InvalidArgument));
    let many = like_albums(&service, "bob", (0..101).map(album).collect(), None).await;
    assert_eq!(code(many), Some(Code::InvalidArgument));
    let bad = like_albums(&service, "bob", vec!["../x".into()], None).await;
    assert_eq!(code(bad), Some(Code::InvalidArgument));
    // Nothing of the refused requests landed.
    assert_eq!(
        liked_albums(&service, "bob", 0, String::new())
            .await?
            .version,
        0
    );
    like_albums(&service, "bob", vec![album(1)], None).await?;
    let stale = like_albums(&service, "bob", vec![album(2)], Some(0)).await;
    assert_eq!(code(stale), Some(Code::FailedPrecondition));
    let request = LikeArtistsRequest {
        artist_ids: vec![album(1)],
        expected_version: None,
    };
    let status = service
        .client()
        .like_artists(service.as_user(Some("bob"), request))
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(
        status,
        Some(Code::InvalidArgument),
        "an album id is no artist"
    );
    let anonymous = service
        .client()
        .list_liked_albums(service.as_user(None, ListLikedAlbumsRequest::default()))
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(anonymous, Some(Code::Unauthenticated));
    // A token of the liked albums is refused by the liked artists.
    let page = liked_albums(&service, "bob", 1, String::new()).await?;
    like_albums(&service, "bob", vec![album(2)], None).await?;
    let page = if page.next_page_token.is_empty() {
        liked_albums(&service, "bob", 1, String::new()).await?
    } else {
        page
    };
    let request = ListLikedArtistsRequest {
        page_size: 1,
        page_token: page.next_page_token,
    };
    let status = service
        .client()
        .list_liked_artists(service.as_user(Some("bob"), request))
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(status, Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn bad_likes_are_refused_on_postgres() -> anyhow::Result<()> {
    bad_likes_are_refused(Mode::Production).await
}

#[tokio::test]
async fn bad_likes_are_refused_on_sqlite() -> anyhow::Result<()> {
    bad_likes_are_refused(Mode::Embedded).await
}

fn save(tracks: Vec<String>, current: Option<u32>, position_ms: i64) -> SavePlayQueueRequest {
    SavePlayQueueRequest {
        track_ids: tracks,
        current_index: current,
        position_ms,
        client_name: "DSub".into(),
        expected_version: None,
    }
}

async fn get_queue(service: &Service, user: &str) -> anyhow::Result<Option<PlayQueue>> {
    Ok(service
        .client()
        .get_play_queue(service.as_user(Some(user), GetPlayQueueRequest {}))
        .await?
        .into_inner()
        .queue)
}

async fn play_queue_is_saved_whole_per_user(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    assert_eq!(get_queue(&service, "bob").await?, None);
    let tracks = vec![track(1), track(2), track(1)];
    let saved = service
        .client()
        .save_play_queue(service.as_user(Some("bob"), save(tracks.clone(), Some(2), 61_500)))
        .await?
        .into_inner()
        .queue
        .ok_or_else(|| anyhow::anyhow!("no queue"))?;
    assert_eq!(saved.version, 1);
    assert_eq!(saved.track_ids, tracks);
    assert_eq!(saved.current_index, Some(2));
    assert_eq!(saved.changed_by, "DSub");
    assert!(saved.change_time.is_some_and(|t| t.seconds > 0));
    assert_eq!(get_queue(&service, "bob").await?.as_ref(), Some(&saved));
    assert_eq!(get_queue(&service, "carol").await?, None);

    // The largest queue fits; one more track does not.
    let full: Vec<String> = (0..1000).map(|n| track(n % 10)).collect();
    let mut request = save(full.clone(), Some(999), 0);
    request.expected_version = Some(1);
    let saved = service
        .client()
        .save_play_queue(service.as_user(Some("bob"), request))
        .await?
        .into_inner()
        .queue
        .ok_or_else(|| anyhow::anyhow!("no queue"))?;
    assert_eq!((saved.version, saved.track_ids.len()), (2, 1000));

    let refused = [
        (
            save((0..1001).map(|n| track(n % 10)).collect(), None, 0),
            Code::InvalidArgument,
        ),
        (save(vec![track(1)], Some(1), 0), Code::InvalidArgument),
        (save(vec![track(1)], Some(0), -1), Code::InvalidArgument),
        (save(vec!["bad id".into()], None, 0), Code::InvalidArgument),
        (
            SavePlayQueueRequest {
                client_name: "x".repeat(101),
                ..save(Vec::new(), None, 0)
            },
            Code::InvalidArgument,
        ),
        (
            SavePlayQueueRequest {
                expected_version: Some(1),
                ..save(Vec::new(), None, 0)
            },
            Code::FailedPrecondition,
        ),
    ];
    for (request, want) in refused {
        let status = service
            .client()
            .save_play_queue(service.as_user(Some("bob"), request))
            .await
            .err()
            .map(|s| s.code());
        assert_eq!(status, Some(want));
    }
    assert_eq!(
        get_queue(&service, "bob").await?.map(|q| q.version),
        Some(2)
    );

    // An empty save clears the queue, which stays a queue (version 3).
    let cleared = service
        .client()
        .save_play_queue(service.as_user(Some("bob"), save(Vec::new(), None, 0)))
        .await?
        .into_inner()
        .queue
        .ok_or_else(|| anyhow::anyhow!("no queue"))?;
    assert!(cleared.track_ids.is_empty());
    assert_eq!((cleared.version, cleared.current_index), (3, None));
    Ok(())
}

#[tokio::test]
async fn play_queue_is_saved_whole_per_user_on_postgres() -> anyhow::Result<()> {
    play_queue_is_saved_whole_per_user(Mode::Production).await
}

#[tokio::test]
async fn play_queue_is_saved_whole_per_user_on_sqlite() -> anyhow::Result<()> {
    play_queue_is_saved_whole_per_user(Mode::Embedded).await
}

#[tokio::test]
async fn album_likes_publish_liked_items_changed_with_only_what_changed() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let env = Env::new(Mode::Embedded).await?;
    let bus = env.embedded_bus().await?;
    let mut subscription = bus
        .subscribe(ConsumerSpec::new(
            "library-test",
            &[tunemesh_proto::subjects::PLAYLIST],
        ))
        .await?;
    let settings = PlaylistSettings {
        outbox_poll_interval: Duration::from_millis(100),
        ..PlaylistSettings::default()
    };
    let service = env.spawn(&settings, bus).await?;
    like_albums(&service, "bob", vec![album(1)], None).await?;
    like_albums(&service, "bob", vec![album(1), album(2)], None).await?;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let delivery = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .map_err(|_| anyhow::anyhow!("no event within 20 s; saw {seen:?}"))??;
        let event = delivery.envelope().decode::<PlaylistEvent>()?;
        if let Some(playlist_event::Event::LikedItemsChanged(changed)) = event.event {
            assert_eq!(changed.user_id, "bob");
            assert_eq!(changed.kind, LikedItemKind::Album as i32);
            assert!(changed.liked);
            seen.push((changed.item_ids, changed.version));
        }
        delivery.ack().await?;
    }
    assert_eq!(seen, [(vec![album(1)], 1), (vec![album(2)], 2)]);
    Ok(())
}
