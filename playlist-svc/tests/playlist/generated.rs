//! Generated playlists ("Made for you") through the gRPC API, on both storage modes: a
//! service caller creates and replaces one idempotently; the listener it is for reads,
//! lists and follows it, nobody else sees it; every change a user asks for is refused; no
//! user (admins neither) may write one; a replacement's events keep item counts right.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{Env, Mode, Service, start, track};
use tunemesh_events::{ConsumerSpec, EventBus};
use tunemesh_playlist::PlaylistSettings;
use tunemesh_proto::events::v1::{PlaylistChangeKind, PlaylistEvent, playlist_event};
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic::{Code, Status};
use tunemesh_runtime::identity::Caller;

fn tracks(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(track).collect()
}

fn daily_mix(for_user: &str, track_ids: Vec<String>) -> PutGeneratedPlaylistRequest {
    PutGeneratedPlaylistRequest {
        for_user_id: for_user.to_owned(),
        kind: "daily-mix".to_owned(),
        name: "Daily Mix".to_owned(),
        description: "made for you".to_owned(),
        track_ids,
    }
}

/// Puts `for_user`'s daily mix as reco-svc's mixer does: known by its certificate, with no
/// assertion.
async fn put(
    service: &Service,
    for_user: &str,
    track_ids: Vec<String>,
) -> Result<PutGeneratedPlaylistResponse, Status> {
    service
        .client_as("reco")
        .expect("a leaf of the test's CA for reco")
        .put_generated_playlist(daily_mix(for_user, track_ids))
        .await
        .map(|r| r.into_inner())
}

/// Puts `for_user`'s daily mix through the gateway, with its assertion that `caller` calls.
async fn put_asserted(
    service: &Service,
    caller: &Caller,
    for_user: &str,
    track_ids: Vec<String>,
) -> Result<PutGeneratedPlaylistResponse, Status> {
    service
        .client()
        .put_generated_playlist(service.as_caller(caller, daily_mix(for_user, track_ids)))
        .await
        .map(|r| r.into_inner())
}

async fn listed(
    service: &Service,
    user: &str,
    relations: Vec<i32>,
) -> anyhow::Result<Vec<LibraryPlaylist>> {
    let request = ListMyPlaylistsRequest {
        relations,
        ..Default::default()
    };
    let page = service
        .client()
        .list_my_playlists(service.as_user(Some(user), request))
        .await?;
    Ok(page.into_inner().playlists)
}

async fn read_tracks(service: &Service, user: &str, id: &str) -> Result<Vec<String>, Status> {
    let request = GetPlaylistRequest {
        playlist_id: id.to_owned(),
        ..Default::default()
    };
    let page = service
        .client()
        .get_playlist(service.as_user(Some(user), request))
        .await?;
    Ok(page
        .into_inner()
        .items
        .into_iter()
        .map(|i| i.track_id)
        .collect())
}

async fn a_service_puts_a_generated_playlist_only_its_listener_reads(
    mode: Mode,
) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let first = put(&service, "ann", tracks(0..5)).await?;
    assert!(first.changed);
    let playlist = first.playlist.expect("a playlist");
    assert_eq!(playlist.owner_id, "system");
    assert!(!playlist.public);
    assert_eq!((playlist.version, playlist.item_count), (1, 5));
    let generated = playlist.generated.clone().expect("marked generated");
    assert_eq!(
        (generated.user_id.as_str(), generated.kind.as_str()),
        ("ann", "daily-mix")
    );

    let again = put(&service, "ann", tracks(0..5)).await?;
    assert!(!again.changed, "the same content changes nothing");
    assert_eq!(
        again.playlist.map(|p| (p.id, p.version)),
        Some((playlist.id.clone(), 1))
    );

    let replaced = put(&service, "ann", tracks(3..9)).await?;
    assert!(replaced.changed);
    let after = replaced.playlist.expect("a playlist");
    assert_eq!(after.id, playlist.id, "one playlist per listener and kind");
    assert_eq!((after.version, after.item_count), (3, 6));
    assert_eq!(
        read_tracks(&service, "ann", &playlist.id).await?,
        tracks(3..9)
    );
    let hidden = read_tracks(&service, "bob", &playlist.id).await;
    assert_eq!(hidden.map_err(|s| s.code()), Err(Code::NotFound));

    let made_for_you = i32::from(PlaylistRelation::MadeForYou);
    let mine = listed(&service, "ann", Vec::new()).await?;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].relation, made_for_you);
    service
        .client()
        .follow_playlist(service.as_user(
            Some("ann"),
            FollowPlaylistRequest {
                playlist_id: playlist.id.clone(),
            },
        ))
        .await?;
    let only = listed(&service, "ann", vec![made_for_you]).await?;
    assert_eq!(only.len(), 1, "followed, still listed once: {only:?}");
    assert_eq!(only[0].relation, made_for_you);
    assert!(
        listed(&service, "bob", vec![made_for_you])
            .await?
            .is_empty()
    );
    let own = listed(&service, "ann", vec![i32::from(PlaylistRelation::Owner)]).await?;
    assert!(own.is_empty(), "ann does not own it: {own:?}");

    let bobs = put(&service, "bob", tracks(0..2)).await?;
    assert_ne!(bobs.playlist.map(|p| p.id), Some(playlist.id));
    Ok(())
}

#[tokio::test]
async fn a_service_puts_a_generated_playlist_only_its_listener_reads_on_postgres()
-> anyhow::Result<()> {
    a_service_puts_a_generated_playlist_only_its_listener_reads(Mode::Production).await
}

#[tokio::test]
async fn a_service_puts_a_generated_playlist_only_its_listener_reads_on_sqlite()
-> anyhow::Result<()> {
    a_service_puts_a_generated_playlist_only_its_listener_reads(Mode::Embedded).await
}

async fn every_change_a_user_asks_of_a_generated_playlist_is_refused(
    mode: Mode,
) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let playlist = put(&service, "ann", tracks(0..3))
        .await?
        .playlist
        .expect("a playlist");
    let id = playlist.id.clone();
    let page = service
        .client()
        .get_playlist(service.as_user(
            Some("ann"),
            GetPlaylistRequest {
                playlist_id: id.clone(),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let item = page.items[0].item_id.clone();
    let ann = Some("ann");
    let mut client = service.client();
    let details = |change: UpdatePlaylistDetailsRequest| UpdatePlaylistDetailsRequest {
        playlist_id: id.clone(),
        ..change
    };
    let refusals: Vec<(&str, Result<(), Status>)> = vec![
        (
            "rename",
            client
                .update_playlist_details(service.as_user(
                    ann,
                    details(UpdatePlaylistDetailsRequest {
                        name: Some("mine now".into()),
                        ..Default::default()
                    }),
                ))
                .await
                .map(drop),
        ),
        (
            "make public",
            client
                .update_playlist_details(service.as_user(
                    ann,
                    details(UpdatePlaylistDetailsRequest {
                        public: Some(true),
                        ..Default::default()
                    }),
                ))
                .await
                .map(drop),
        ),
        (
            "add items",
            client
                .add_playlist_items(service.as_user(
                    ann,
                    AddPlaylistItemsRequest {
                        playlist_id: id.clone(),
                        track_ids: vec![track(7)],
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "remove items",
            client
                .remove_playlist_items(service.as_user(
                    ann,
                    RemovePlaylistItemsRequest {
                        playlist_id: id.clone(),
                        item_ids: vec![item],
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "move items",
            client
                .move_playlist_items(service.as_user(
                    ann,
                    MovePlaylistItemsRequest {
                        playlist_id: id.clone(),
                        range_start: 0,
                        range_length: 1,
                        insert_before: 3,
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "add a collaborator",
            client
                .add_playlist_collaborator(service.as_user(
                    ann,
                    AddPlaylistCollaboratorRequest {
                        playlist_id: id.clone(),
                        user_id: "bob".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "remove a collaborator",
            client
                .remove_playlist_collaborator(service.as_user(
                    ann,
                    RemovePlaylistCollaboratorRequest {
                        playlist_id: id.clone(),
                        user_id: "ann".into(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
        (
            "delete",
            client
                .delete_playlist(service.as_user(
                    ann,
                    DeletePlaylistRequest {
                        playlist_id: id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop),
        ),
    ];
    for (what, result) in refusals {
        let status = result.expect_err(what);
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
        assert!(status.message().contains("read-only"), "{what}: {status:?}");
    }
    let strangers = client
        .delete_playlist(service.as_user(
            Some("bob"),
            DeletePlaylistRequest {
                playlist_id: id.clone(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(
        strangers.map_err(|s| s.code()).map(drop),
        Err(Code::NotFound)
    );
    assert_eq!(read_tracks(&service, "ann", &id).await?, tracks(0..3));
    Ok(())
}

#[tokio::test]
async fn every_change_a_user_asks_of_a_generated_playlist_is_refused_on_postgres()
-> anyhow::Result<()> {
    every_change_a_user_asks_of_a_generated_playlist_is_refused(Mode::Production).await
}

#[tokio::test]
async fn every_change_a_user_asks_of_a_generated_playlist_is_refused_on_sqlite()
-> anyhow::Result<()> {
    every_change_a_user_asks_of_a_generated_playlist_is_refused(Mode::Embedded).await
}

#[tokio::test]
async fn users_admins_and_other_services_may_not_put_generated_playlists() -> anyhow::Result<()> {
    let (_env, service) = start(Mode::Embedded).await?;
    let admin = Caller::new("root".into(), vec!["admin".into()]);
    let user = Caller::new("ann".into(), Vec::new());
    for caller in [user, admin] {
        let refused = put_asserted(&service, &caller, "ann", tracks(0..3)).await;
        let status = refused.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{caller:?}");
    }
    // A service is known by its certificate only: an assertion naming one, even signed by
    // the gateway's key, is refused.
    let reco = Caller::service("reco");
    let minted = put_asserted(&service, &reco, "ann", tracks(0..3)).await;
    assert_eq!(
        minted.map(drop).map_err(|s| s.code()),
        Err(Code::Unauthenticated)
    );
    // Another service by its certificate (the gateway calling for itself, no assertion) is
    // no generator. (No caller is anonymous: a client without a leaf of the mesh's CA does
    // not get through the handshake.)
    let gateway = service
        .client()
        .put_generated_playlist(service.as_user(None, daily_mix("ann", tracks(0..3))))
        .await;
    assert_eq!(
        gateway.map(drop).map_err(|s| s.code()),
        Err(Code::PermissionDenied)
    );
    assert!(listed(&service, "ann", Vec::new()).await?.is_empty());
    // reco-svc by its certificate may.
    put(&service, "ann", tracks(0..3)).await?;
    assert_eq!(listed(&service, "ann", Vec::new()).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_generated_playlist_of_unknown_tracks_is_invalid() -> anyhow::Result<()> {
    let (_env, service) = start(Mode::Embedded).await?;
    let unknown = put(&service, "ann", vec!["no-such-track".into()]).await;
    assert_eq!(
        unknown.map(drop).map_err(|s| s.code()),
        Err(Code::InvalidArgument)
    );
    Ok(())
}

#[tokio::test]
async fn a_replacement_publishes_the_removal_of_the_old_items_then_the_new_ones()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let env = Env::new(Mode::Embedded).await?;
    let bus: Arc<dyn EventBus> = env.embedded_bus().await?;
    let mut events = bus
        .subscribe(ConsumerSpec::new(
            "generated-test",
            &[tunemesh_proto::subjects::PLAYLIST],
        ))
        .await?;
    let settings = PlaylistSettings {
        outbox_poll_interval: Duration::from_millis(50),
        ..PlaylistSettings::default()
    };
    let service = env.spawn(&settings, bus.clone()).await?;
    put(&service, "ann", tracks(0..2)).await?;
    put(&service, "ann", tracks(0..2)).await?;
    put(&service, "ann", tracks(2..5)).await?;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let delivery = tokio::time::timeout(Duration::from_secs(20), events.next()).await??;
        let event = delivery.envelope().decode::<PlaylistEvent>()?;
        delivery.ack().await?;
        if let Some(playlist_event::Event::PlaylistChanged(changed)) = event.event {
            assert_eq!(changed.owner_id, "system");
            let count = changed.playlist.as_ref().map(|p| p.item_count);
            seen.push((changed.kind(), changed.version, changed.track_ids, count));
        }
    }
    assert_eq!(
        seen,
        [
            (PlaylistChangeKind::Created, 1, tracks(0..2), Some(2)),
            (PlaylistChangeKind::ItemsRemoved, 2, tracks(0..2), Some(0)),
            (PlaylistChangeKind::ItemsAdded, 3, tracks(2..5), Some(3)),
        ]
    );
    Ok(())
}
