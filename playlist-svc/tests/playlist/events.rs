//! Playlist events end to end on the real NATS JetStream: each committed change reaches a
//! deduplicating consumer once, even when the relay is killed in the middle of a publish.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::support::{Env, Mode, track};
use tunemesh_events::dedup::MemoryProcessed;
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::{ConsumerSpec, EventBus, Subscription};
use tunemesh_playlist::PlaylistSettings;
use tunemesh_proto::events::v1::{PlaylistEvent, playlist_event};
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
