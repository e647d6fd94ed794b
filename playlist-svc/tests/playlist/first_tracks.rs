//! `Playlist.first_track_ids`: the tracks of the first items, in order and at most
//! `FIRST_TRACKS`, in every answer that carries a playlist (get, list, create, edit), so a
//! client can derive a cover without reading the items. Both storage modes.

use crate::support::{Mode, Service, start, track};
use tunemesh_playlist::model::FIRST_TRACKS;
use tunemesh_proto::playlist::v1::*;

async fn first_tracks(service: &Service, id: &str) -> anyhow::Result<Vec<String>> {
    let request = GetPlaylistRequest {
        playlist_id: id.into(),
        page_size: 1,
        ..Default::default()
    };
    let answer = service
        .client()
        .get_playlist(service.as_user(Some("alice"), request))
        .await?
        .into_inner();
    Ok(answer.playlist.unwrap_or_default().first_track_ids)
}

async fn first_tracks_follow_the_items(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let request = CreatePlaylistRequest {
        name: "covers".into(),
        track_ids: vec![track(3), track(1), track(3)],
        ..Default::default()
    };
    let created = service
        .client()
        .create_playlist(service.as_user(Some("alice"), request))
        .await?
        .into_inner()
        .playlist
        .unwrap_or_default();
    // A repeated track stays: clients skip repeated covers anyway.
    assert_eq!(created.first_track_ids, [3, 1, 3].map(track));

    // Ten more in front: only the first FIRST_TRACKS come back, in playlist order.
    let request = AddPlaylistItemsRequest {
        playlist_id: created.id.clone(),
        track_ids: (10..20).map(track).collect(),
        position: Some(0),
        expected_version: None,
        ..Default::default()
    };
    service
        .client()
        .add_playlist_items(service.as_user(Some("alice"), request))
        .await?;
    let expected: Vec<String> = (10..10 + FIRST_TRACKS).map(track).collect();
    assert_eq!(first_tracks(&service, &created.id).await?, expected);

    // The library listing carries them too.
    let request = ListMyPlaylistsRequest::default();
    let listed = service
        .client()
        .list_my_playlists(service.as_user(Some("alice"), request))
        .await?
        .into_inner();
    let entry = listed.playlists.first().and_then(|e| e.playlist.clone());
    assert_eq!(entry.unwrap_or_default().first_track_ids, expected);

    // A move to the front shows at once (the cached page is invalidated by the edit).
    let request = MovePlaylistItemsRequest {
        playlist_id: created.id.clone(),
        expected_version: None,
        range_start: 11,
        range_length: 1,
        insert_before: 0,
    };
    service
        .client()
        .move_playlist_items(service.as_user(Some("alice"), request))
        .await?;
    let moved = first_tracks(&service, &created.id).await?;
    assert_eq!(moved.first(), Some(&track(1)), "{moved:?}");
    assert_eq!(moved.len(), FIRST_TRACKS);
    Ok(())
}

#[tokio::test]
async fn first_tracks_follow_the_items_on_postgres() -> anyhow::Result<()> {
    first_tracks_follow_the_items(Mode::Production).await
}

#[tokio::test]
async fn first_tracks_follow_the_items_on_sqlite() -> anyhow::Result<()> {
    first_tracks_follow_the_items(Mode::Embedded).await
}
