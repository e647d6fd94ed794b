//! Additions with an idempotency key (`AddPlaylistItemsRequest.request_id`), on both stores: a
//! repeat (a client retrying after a timeout, or the mesh on another replica) adds nothing
//! and answers as the first call did, even once the playlist moved on.

use crate::support::{Mode, start, track};
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic::Code;

async fn a_repeated_addition_adds_once_and_returns_the_first_answer(
    mode: Mode,
) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let create = CreatePlaylistRequest {
        name: "keyed".into(),
        ..Default::default()
    };
    let playlist = service
        .client()
        .create_playlist(service.as_user(Some("alice"), create))
        .await?
        .into_inner()
        .playlist
        .ok_or_else(|| anyhow::anyhow!("no playlist"))?;
    let add = |key: &str, n: usize| AddPlaylistItemsRequest {
        playlist_id: playlist.id.clone(),
        expected_version: Some(playlist.version),
        track_ids: vec![track(n)],
        position: None,
        request_id: key.into(),
    };
    let call = |user: &'static str, request: AddPlaylistItemsRequest| {
        let service = &service;
        async move {
            service
                .client()
                .add_playlist_items(service.as_user(Some(user), request))
                .await
                .map(|r| r.into_inner())
        }
    };

    let first = call("alice", add("add-1", 1)).await?;
    // Concurrent repeats queue on the playlist's row lock and find the key.
    let repeats = futures::future::join_all((0..4).map(|_| call("alice", add("add-1", 1)))).await;
    for repeat in repeats {
        assert_eq!(repeat?, first, "a repeat answers as the first call did");
    }
    // The playlist moves on; a late repeat still gets the first answer, not a conflict.
    let unkeyed = AddPlaylistItemsRequest {
        expected_version: None,
        ..add("", 2)
    };
    call("alice", unkeyed).await?;
    assert_eq!(call("alice", add("add-1", 1)).await?, first);

    let items = service
        .client()
        .get_playlist(service.as_user(
            Some("alice"),
            GetPlaylistRequest {
                playlist_id: playlist.id.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .items;
    let tracks: Vec<String> = items.into_iter().map(|i| i.track_id).collect();
    assert_eq!(tracks, [track(1), track(2)], "each addition applied once");

    // Another caller's key of the same name is theirs alone.
    let other = call("bob", add("add-1", 3)).await.map(drop).unwrap_err();
    assert_eq!(
        other.code(),
        Code::NotFound,
        "bob may not see alice's playlist"
    );
    // A key reused for another playlist is a mistake, not a replay.
    let second = service
        .client()
        .create_playlist(service.as_user(
            Some("alice"),
            CreatePlaylistRequest {
                name: "other".into(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner()
        .playlist
        .ok_or_else(|| anyhow::anyhow!("no playlist"))?;
    let reused = AddPlaylistItemsRequest {
        playlist_id: second.id,
        expected_version: None,
        ..add("add-1", 4)
    };
    let status = call("alice", reused).await.map(drop).unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    Ok(())
}

#[tokio::test]
async fn a_repeated_addition_adds_once_and_returns_the_first_answer_on_postgres()
-> anyhow::Result<()> {
    a_repeated_addition_adds_once_and_returns_the_first_answer(Mode::Production).await
}

#[tokio::test]
async fn a_repeated_addition_adds_once_and_returns_the_first_answer_on_sqlite() -> anyhow::Result<()>
{
    a_repeated_addition_adds_once_and_returns_the_first_answer(Mode::Embedded).await
}
