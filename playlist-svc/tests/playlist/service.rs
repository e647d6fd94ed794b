//! playlist-svc end to end through its gRPC API, on PostgreSQL + Redis and on the embedded
//! SQLite + moka adapters: the same cases run against both (the store contract).

use std::collections::HashSet;

use crate::support::{Mode, Service, start, track};
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic::Code;

async fn create(
    service: &Service,
    owner: &str,
    public: bool,
    collaborative: bool,
) -> anyhow::Result<Playlist> {
    let request = CreatePlaylistRequest {
        name: "road trip".into(),
        public,
        collaborative,
        ..Default::default()
    };
    let response = service
        .client()
        .create_playlist(service.as_user(Some(owner), request))
        .await?;
    response
        .into_inner()
        .playlist
        .ok_or_else(|| anyhow::anyhow!("no playlist"))
}

async fn get(
    service: &Service,
    user: &str,
    id: &str,
) -> Result<GetPlaylistResponse, tunemesh_proto::tonic::Status> {
    let request = GetPlaylistRequest {
        playlist_id: id.into(),
        page_size: 500,
        ..Default::default()
    };
    service
        .client()
        .get_playlist(service.as_user(Some(user), request))
        .await
        .map(|r| r.into_inner())
}

async fn add(
    service: &Service,
    user: Option<&str>,
    id: &str,
    tracks: Vec<String>,
    expected_version: Option<u64>,
    position: Option<u32>,
) -> Result<AddPlaylistItemsResponse, tunemesh_proto::tonic::Status> {
    let request = AddPlaylistItemsRequest {
        playlist_id: id.into(),
        track_ids: tracks,
        expected_version,
        position,
        ..Default::default()
    };
    service
        .client()
        .add_playlist_items(service.as_user(user, request))
        .await
        .map(|r| r.into_inner())
}

async fn fifty_concurrent_writers_lose_nothing(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let playlist = create(&service, "alice", false, false).await?;
    let writers = (0..50).map(|n| {
        let (service, id) = (&service, playlist.id.clone());
        async move { add(service, Some("alice"), &id, vec![track(n)], None, None).await }
    });
    let results = futures::future::join_all(writers).await;
    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let read = get(&service, "alice", &playlist.id).await?;
    let tracks: Vec<&str> = read.items.iter().map(|i| i.track_id.as_str()).collect();
    assert_eq!(tracks.len(), 50);
    assert_eq!(
        tracks.iter().collect::<HashSet<_>>().len(),
        50,
        "every writer's track once"
    );
    let positions: Vec<u32> = read.items.iter().map(|i| i.position).collect();
    assert_eq!(positions, (0..50).collect::<Vec<_>>());
    assert_eq!(
        read.playlist.map(|p| (p.version, p.item_count)),
        Some((51, 50))
    );
    // Each writer's reported position is where its item is now (all appends).
    for result in results.into_iter().flatten() {
        let item = &result.items[0];
        assert_eq!(read.items[item.position as usize].item_id, item.item_id);
    }
    Ok(())
}

#[tokio::test]
async fn fifty_concurrent_writers_lose_nothing_on_postgres() -> anyhow::Result<()> {
    fifty_concurrent_writers_lose_nothing(Mode::Production).await
}

#[tokio::test]
async fn fifty_concurrent_writers_lose_nothing_on_sqlite() -> anyhow::Result<()> {
    fifty_concurrent_writers_lose_nothing(Mode::Embedded).await
}

async fn inserts_and_moves_keep_a_consistent_order(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let playlist = create(&service, "alice", false, false).await?;
    add(
        &service,
        Some("alice"),
        &playlist.id,
        (0..5).map(track).collect(),
        Some(1),
        None,
    )
    .await?;
    // [0 1 2 3 4] → insert 9 at 2 → [0 1 9 2 3 4]
    add(
        &service,
        Some("alice"),
        &playlist.id,
        vec![track(9)],
        Some(2),
        Some(2),
    )
    .await?;
    // move [1, 9] before 4 (position 5) → [0 2 3 1 9 4]
    let request = MovePlaylistItemsRequest {
        playlist_id: playlist.id.clone(),
        expected_version: Some(3),
        range_start: 1,
        range_length: 2,
        insert_before: 5,
    };
    let moved = service
        .client()
        .move_playlist_items(service.as_user(Some("alice"), request))
        .await?
        .into_inner();
    assert_eq!(moved.version, 4);
    let read = get(&service, "alice", &playlist.id).await?;
    let order: Vec<String> = read.items.iter().map(|i| i.track_id.clone()).collect();
    assert_eq!(order, [0, 2, 3, 1, 9, 4].map(track));
    // Remove two by item id.
    let ids = vec![read.items[0].item_id.clone(), read.items[4].item_id.clone()];
    let request = RemovePlaylistItemsRequest {
        playlist_id: playlist.id.clone(),
        expected_version: Some(4),
        item_ids: ids,
    };
    service
        .client()
        .remove_playlist_items(service.as_user(Some("alice"), request))
        .await?;
    let read = get(&service, "alice", &playlist.id).await?;
    let order: Vec<String> = read.items.iter().map(|i| i.track_id.clone()).collect();
    assert_eq!(order, [2, 3, 1, 4].map(track));
    assert_eq!(read.playlist.map(|p| p.version), Some(5));
    Ok(())
}

#[tokio::test]
async fn inserts_and_moves_keep_a_consistent_order_on_postgres() -> anyhow::Result<()> {
    inserts_and_moves_keep_a_consistent_order(Mode::Production).await
}

#[tokio::test]
async fn inserts_and_moves_keep_a_consistent_order_on_sqlite() -> anyhow::Result<()> {
    inserts_and_moves_keep_a_consistent_order(Mode::Embedded).await
}

async fn authorization_matrix(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    for public in [false, true] {
        let playlist = create(&service, "owner", public, true).await?;
        let invite = AddPlaylistCollaboratorRequest {
            playlist_id: playlist.id.clone(),
            user_id: "collab".into(),
            ..Default::default()
        };
        service
            .client()
            .add_playlist_collaborator(service.as_user(Some("owner"), invite))
            .await?;
        for (user, read, write) in [
            (Some("owner"), Code::Ok, Code::Ok),
            (Some("collab"), Code::Ok, Code::Ok),
            (
                Some("stranger"),
                if public { Code::Ok } else { Code::NotFound },
                if public {
                    Code::PermissionDenied
                } else {
                    Code::NotFound
                },
            ),
            (None, Code::Unauthenticated, Code::Unauthenticated),
        ] {
            let request = GetPlaylistRequest {
                playlist_id: playlist.id.clone(),
                ..Default::default()
            };
            let got = service
                .client()
                .get_playlist(service.as_user(user, request))
                .await;
            assert_eq!(
                got.err().map_or(Code::Ok, |s| s.code()),
                read,
                "read by {user:?}, public {public}"
            );
            let wrote = add(&service, user, &playlist.id, vec![track(1)], None, None).await;
            assert_eq!(
                wrote.err().map_or(Code::Ok, |s| s.code()),
                write,
                "write by {user:?}, public {public}"
            );
        }
        // Only the owner changes details.
        let rename = UpdatePlaylistDetailsRequest {
            playlist_id: playlist.id.clone(),
            name: Some("mine now".into()),
            ..Default::default()
        };
        let status = service
            .client()
            .update_playlist_details(service.as_user(Some("collab"), rename))
            .await
            .err()
            .map(|s| s.code());
        assert_eq!(status, Some(Code::PermissionDenied));
    }
    Ok(())
}

#[tokio::test]
async fn authorization_matrix_on_postgres() -> anyhow::Result<()> {
    authorization_matrix(Mode::Production).await
}

#[tokio::test]
async fn authorization_matrix_on_sqlite() -> anyhow::Result<()> {
    authorization_matrix(Mode::Embedded).await
}

async fn bad_input_gets_a_clear_answer(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    for name in [String::new(), "   ".into(), "x".repeat(10_000)] {
        let request = CreatePlaylistRequest {
            name,
            ..Default::default()
        };
        let status = service
            .client()
            .create_playlist(service.as_user(Some("alice"), request))
            .await
            .err();
        let status = status.ok_or_else(|| anyhow::anyhow!("bad name accepted"))?;
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("name"), "{}", status.message());
    }
    let playlist = create(&service, "alice", false, false).await?;
    let unknown = add(
        &service,
        Some("alice"),
        &playlist.id,
        vec![track(1), "no-such-track".into()],
        None,
        None,
    )
    .await;
    let status = unknown
        .err()
        .ok_or_else(|| anyhow::anyhow!("unknown track accepted"))?;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("no-such-track"),
        "{}",
        status.message()
    );
    let past_end = add(
        &service,
        Some("alice"),
        &playlist.id,
        vec![track(1)],
        None,
        Some(5),
    )
    .await;
    let status = past_end
        .err()
        .ok_or_else(|| anyhow::anyhow!("position accepted"))?;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("position 5"),
        "{}",
        status.message()
    );
    let stale = add(
        &service,
        Some("alice"),
        &playlist.id,
        vec![track(1)],
        Some(7),
        None,
    )
    .await;
    let status = stale
        .err()
        .ok_or_else(|| anyhow::anyhow!("wrong version accepted"))?;
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("version 1"),
        "{}",
        status.message()
    );
    let request = MovePlaylistItemsRequest {
        playlist_id: playlist.id.clone(),
        range_start: 3,
        ..Default::default()
    };
    let status = service
        .client()
        .move_playlist_items(service.as_user(Some("alice"), request))
        .await
        .err();
    assert_eq!(status.map(|s| s.code()), Some(Code::InvalidArgument));
    let missing = get(&service, "alice", "no-such-playlist")
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(missing, Some(Code::NotFound));
    let request = GetPlaylistRequest {
        playlist_id: playlist.id.clone(),
        page_token: "garbage".into(),
        ..Default::default()
    };
    let status = service
        .client()
        .get_playlist(service.as_user(Some("alice"), request))
        .await
        .err();
    assert_eq!(status.map(|s| s.code()), Some(Code::InvalidArgument));
    // Nothing of the refused writes landed.
    let read = get(&service, "alice", &playlist.id).await?;
    assert_eq!(
        read.playlist.map(|p| (p.version, p.item_count)),
        Some((1, 0))
    );
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_on_postgres() -> anyhow::Result<()> {
    bad_input_gets_a_clear_answer(Mode::Production).await
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_on_sqlite() -> anyhow::Result<()> {
    bad_input_gets_a_clear_answer(Mode::Embedded).await
}

async fn paging_library_and_likes(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let playlist = create(&service, "alice", true, false).await?;
    add(
        &service,
        Some("alice"),
        &playlist.id,
        (0..7).map(track).collect(),
        None,
        None,
    )
    .await?;
    let mut token = String::new();
    let mut seen = Vec::new();
    loop {
        let request = GetPlaylistRequest {
            playlist_id: playlist.id.clone(),
            page_size: 3,
            page_token: token,
        };
        let page = service
            .client()
            .get_playlist(service.as_user(Some("bob"), request))
            .await?
            .into_inner();
        seen.extend(page.items.iter().map(|i| i.position));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, (0..7).collect::<Vec<_>>());
    service
        .client()
        .follow_playlist(service.as_user(
            Some("bob"),
            FollowPlaylistRequest {
                playlist_id: playlist.id.clone(),
            },
        ))
        .await?;
    let library = service
        .client()
        .list_my_playlists(service.as_user(Some("bob"), ListMyPlaylistsRequest::default()))
        .await?
        .into_inner();
    assert_eq!(library.playlists.len(), 1);
    assert_eq!(
        library.playlists[0].relation,
        PlaylistRelation::Follower as i32
    );
    assert_eq!(
        library.playlists[0]
            .playlist
            .as_ref()
            .map(|p| p.follower_count),
        Some(1)
    );
    let like = LikeTracksRequest {
        track_ids: vec![track(1), track(2)],
        expected_version: Some(0),
    };
    assert_eq!(
        service
            .client()
            .like_tracks(service.as_user(Some("bob"), like))
            .await?
            .into_inner()
            .version,
        1
    );
    let check = CheckLikedTracksRequest {
        track_ids: vec![track(2), track(3)],
    };
    let checked = service
        .client()
        .check_liked_tracks(service.as_user(Some("bob"), check))
        .await?
        .into_inner();
    assert_eq!((checked.liked, checked.version), (vec![true, false], 1));
    let liked = service
        .client()
        .list_liked_tracks(service.as_user(Some("bob"), ListLikedTracksRequest::default()))
        .await?
        .into_inner();
    assert_eq!(liked.total_size, 2);
    let stale = LikeTracksRequest {
        track_ids: vec![track(3)],
        expected_version: Some(0),
    };
    let status = service
        .client()
        .like_tracks(service.as_user(Some("bob"), stale))
        .await
        .err()
        .map(|s| s.code());
    assert_eq!(status, Some(Code::FailedPrecondition));
    Ok(())
}

#[tokio::test]
async fn paging_library_and_likes_on_postgres() -> anyhow::Result<()> {
    paging_library_and_likes(Mode::Production).await
}

#[tokio::test]
async fn paging_library_and_likes_on_sqlite() -> anyhow::Result<()> {
    paging_library_and_likes(Mode::Embedded).await
}
