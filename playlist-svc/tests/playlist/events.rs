//! Playlist events end to end on the real NATS JetStream: each committed change reaches a
//! deduplicating consumer once, even when the relay is killed in the middle of a publish, and
//! carries the playlist as the change left it, with a revision that orders every change.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Env, Mode, track};
use tunemesh_events::dedup::MemoryProcessed;
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::{ConsumerSpec, EventBus, Subscription};
use tunemesh_playlist::PlaylistSettings;
use tunemesh_proto::events::v1::{PlaylistChanged, PlaylistEvent, playlist_event};
use tunemesh_proto::playlist::v1::*;
use tunemesh_testkit::{
    StallingBus, assert_eventually, delete_nats_streams, servers, unique_prefix,
};

/// `(playlist id, version)` of every event handled for the first time, read until `want`
/// arrived and then for a quiet second more.
async fn consume(
    subscription: &mut Subscription,
    want: usize,
) -> anyhow::Result<Vec<(String, u64)>> {
    let processed = MemoryProcessed::new(1024);
    let mut handled = Vec::new();
    let quiet = Duration::from_secs(1);
    loop {
        let wait = if handled.len() >= want {
            quiet
        } else {
            Duration::from_secs(20)
        };
        let Ok(delivery) = tokio::time::timeout(wait, subscription.next()).await else {
            break;
        };
        let delivery = delivery?;
        if processed.first_time(&delivery.envelope().id) {
            let event = delivery.envelope().decode::<PlaylistEvent>()?;
            if let Some(playlist_event::Event::PlaylistChanged(changed)) = event.event {
                handled.push((changed.playlist_id, changed.version));
            }
        }
        delivery.ack().await?;
    }
    Ok(handled)
}

#[tokio::test]
async fn each_change_reaches_a_deduplicating_consumer_once_despite_a_killed_relay()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let nats = NatsSettings {
        url: servers().nats_url.clone(),
        stream_prefix: unique_prefix("playlist"),
        ..NatsSettings::default()
    };
    let real: Arc<dyn EventBus> =
        Arc::new(JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?);
    let mut subscription = real
        .subscribe(ConsumerSpec {
            ack_wait: Duration::from_millis(500),
            ..ConsumerSpec::new(
                "playlist-events-test",
                &[tunemesh_proto::subjects::PLAYLIST],
            )
        })
        .await?;
    let env = Env::new(Mode::Production).await?;
    let settings = PlaylistSettings {
        outbox_poll_interval: Duration::from_millis(100),
        outbox_lease: Duration::from_millis(500),
        ..PlaylistSettings::default()
    };

    let stalling = Arc::new(StallingBus::new(real.clone(), None));
    let first = env.spawn(&settings, stalling.clone()).await?;
    let request = CreatePlaylistRequest {
        name: "events".into(),
        ..Default::default()
    };
    let playlist = first
        .client()
        .create_playlist(first.as_user(Some("alice"), request))
        .await?
        .into_inner()
        .playlist
        .unwrap_or_default();
    tokio::time::timeout(Duration::from_secs(10), stalling.stalled()).await?;
    for n in 0..2 {
        let add = AddPlaylistItemsRequest {
            playlist_id: playlist.id.clone(),
            track_ids: vec![track(n)],
            ..Default::default()
        };
        first
            .client()
            .add_playlist_items(first.as_user(Some("alice"), add))
            .await?;
    }
    // The relay dies mid-publish with the service; a new instance takes over the outbox.
    first.app.stop().await?;
    let second = env.spawn(&settings, real.clone()).await?;

    let handled = consume(&mut subscription, 3).await?;
    let expected: HashSet<(String, u64)> = (1..=3).map(|v| (playlist.id.clone(), v)).collect();
    assert_eq!(handled.len(), 3, "each change handled once: {handled:?}");
    assert_eq!(handled.iter().cloned().collect::<HashSet<_>>(), expected);
    assert_eventually!(
        async {
            real.consumer_state("playlist-events-test")
                .await
                .is_ok_and(|s| s.pending == 0)
        },
        timeout = Duration::from_secs(5),
        "consumer never caught up",
    );
    drop(second);
    let (_client, js) = connect(&nats).await?;
    delete_nats_streams(&js, &nats.stream_prefix).await?;
    Ok(())
}

/// Every `PlaylistChanged` on the bus, in order, until `want` arrived.
async fn changes(
    subscription: &mut Subscription,
    want: usize,
) -> anyhow::Result<Vec<PlaylistChanged>> {
    let mut seen = Vec::new();
    while seen.len() < want {
        let delivery = tokio::time::timeout(Duration::from_secs(20), subscription.next())
            .await
            .map_err(|_| anyhow::anyhow!("only {} events: {seen:?}", seen.len()))??;
        if let Some(playlist_event::Event::PlaylistChanged(changed)) =
            delivery.envelope().decode::<PlaylistEvent>()?.event
        {
            seen.push(changed);
        }
        delivery.ack().await?;
    }
    Ok(seen)
}

#[tokio::test]
async fn each_change_carries_the_playlist_after_it_and_a_revision_that_follows_also_raise()
-> anyhow::Result<()> {
    for mode in [Mode::Production, Mode::Embedded] {
        let nats = NatsSettings {
            url: servers().nats_url.clone(),
            stream_prefix: unique_prefix("playlist-details"),
            ..NatsSettings::default()
        };
        let bus: Arc<dyn EventBus> =
            Arc::new(JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?);
        let mut subscription = bus
            .subscribe(ConsumerSpec::new(
                "playlist-details-test",
                &[tunemesh_proto::subjects::PLAYLIST],
            ))
            .await?;
        let env = Env::new(mode).await?;
        let service = env.spawn(&PlaylistSettings::default(), bus.clone()).await?;
        let create = CreatePlaylistRequest {
            name: "Carried Along".into(),
            description: "details travel with the event".into(),
            public: true,
            track_ids: vec![track(1), track(2)],
            ..Default::default()
        };
        let id = service
            .client()
            .create_playlist(service.as_user(Some("alice"), create))
            .await?
            .into_inner()
            .playlist
            .unwrap_or_default()
            .id;
        let follow = FollowPlaylistRequest {
            playlist_id: id.clone(),
        };
        service
            .client()
            .follow_playlist(service.as_user(Some("bob"), follow))
            .await?;
        let hide = UpdatePlaylistDetailsRequest {
            playlist_id: id.clone(),
            public: Some(false),
            ..Default::default()
        };
        service
            .client()
            .update_playlist_details(service.as_user(Some("alice"), hide))
            .await?;
        let delete = DeletePlaylistRequest {
            playlist_id: id.clone(),
            ..Default::default()
        };
        service
            .client()
            .delete_playlist(service.as_user(Some("alice"), delete))
            .await?;

        let seen = changes(&mut subscription, 4).await?;
        let details = |i: usize| seen[i].playlist.clone().unwrap_or_default();
        assert_eq!(details(0).name, "Carried Along", "{mode:?}");
        assert_eq!(details(0).description, "details travel with the event");
        assert!(details(0).public);
        assert_eq!(details(0).first_track_ids, [track(1), track(2)]);
        assert_eq!(details(0).item_count, 2);
        // A follow leaves the version alone but raises the revision and the followers.
        assert_eq!((seen[1].version, details(1).follower_count), (1, 1));
        assert!(!details(2).public, "{mode:?}: {seen:?}");
        assert_eq!(seen[3].playlist, None, "a deletion carries no details");
        let revisions: Vec<u64> = seen.iter().map(|c| c.revision).collect();
        assert!(
            revisions.windows(2).all(|w| w[0] < w[1]) && revisions[0] >= 1,
            "{mode:?}: revisions {revisions:?}"
        );
        drop(service);
        let (_client, js) = connect(&nats).await?;
        delete_nats_streams(&js, &nats.stream_prefix).await?;
    }
    Ok(())
}
