//! What only one adapter can show: the JetStream stream is set up idempotently and updated in
//! place; the embedded bus keeps events and consumer positions across a restart.

use std::time::Duration;

use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::{NatsSettings, connect};
use tunemesh_events::{ConsumerSpec, Envelope, EventBus};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::subjects;
use tunemesh_testkit::{delete_nats_streams, init_tracing, servers, unique_prefix};

fn play(track: &str) -> Envelope {
    let event = PlayEvent {
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Envelope::new(subjects::PLAY, &event)
}

async fn next_track(subscription: &mut tunemesh_events::Subscription) -> anyhow::Result<String> {
    let delivery = tokio::time::timeout(Duration::from_secs(10), subscription.next()).await??;
    let track = delivery.envelope().decode::<PlayEvent>()?.track_id;
    delivery.ack().await?;
    Ok(track)
}

#[tokio::test]
async fn the_stream_is_created_once_and_updated_in_place() -> anyhow::Result<()> {
    init_tracing();
    let nats = NatsSettings {
        url: servers().nats_url.clone(),
        stream_prefix: unique_prefix("stream"),
        ..NatsSettings::default()
    };
    let first = JetStreamBus::connect(&nats, &JetStreamSettings::default()).await?;
    first.publish(&play("kept")).await?;

    let changed = JetStreamSettings {
        max_age: Duration::from_secs(3600),
        duplicate_window: Duration::from_secs(30),
        ..JetStreamSettings::default()
    };
    let second = JetStreamBus::connect(&nats, &changed).await?;
    assert_eq!(
        second.stream_name(),
        format!("{}_events", nats.stream_prefix)
    );

    let (_client, js) = connect(&nats).await?;
    let mut stream = js.get_stream(second.stream_name()).await?;
    let info = stream.info().await?;
    assert_eq!(info.config.max_age, Duration::from_secs(3600));
    assert_eq!(info.config.duplicate_window, Duration::from_secs(30));
    assert_eq!(
        info.state.messages, 1,
        "updating the stream kept its events"
    );

    assert_eq!(delete_nats_streams(&js, &nats.stream_prefix).await?, 1);
    Ok(())
}

#[tokio::test]
async fn the_embedded_bus_keeps_events_and_positions_across_a_restart() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let settings = EmbeddedSettings::new(dir.path().join("events.sqlite3"));
    // Events the stopped process had pulled but not acked come back after the ack wait.
    let spec = ConsumerSpec {
        ack_wait: Duration::from_millis(300),
        ..ConsumerSpec::new("reco", &[subjects::PLAY])
    };
    {
        let bus = EmbeddedBus::open(&settings).await?;
        for track in ["a", "b", "c"] {
            bus.publish(&play(track)).await?;
        }
        let mut subscription = bus.subscribe(spec.clone()).await?;
        assert_eq!(next_track(&mut subscription).await?, "a");
    }

    let bus = EmbeddedBus::open(&settings).await?;
    let mut subscription = bus.subscribe(spec).await?;
    assert_eq!(next_track(&mut subscription).await?, "b");
    assert_eq!(next_track(&mut subscription).await?, "c");
    let replay = ConsumerSpec::new("replica", &[subjects::PLAY]);
    let mut replica = bus.subscribe(replay).await?;
    assert_eq!(next_track(&mut replica).await?, "a");
    Ok(())
}
