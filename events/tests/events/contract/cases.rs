//! The behaviour every event-bus adapter must show; each function takes a fresh fixture.

use std::time::Duration;

use futures::FutureExt as _;
use tokio::time::Instant;
use tunemesh_events::{ConsumerSpec, ConsumerState, Envelope, StartFrom};
use tunemesh_proto::events::v1::PlayEvent;
use tunemesh_proto::subjects;
use tunemesh_testkit::assert_eventually;

pub use super::batch::*;
use super::harness::{Fixture, is_invalid_spec, next, next_within};

/// Short waits keep the suite fast; the quiet period proves "nothing more comes".
const ACK_WAIT: Duration = Duration::from_millis(400);
pub(super) const QUIET: Duration = Duration::from_millis(1200);

pub(super) fn play(subject: &str, track: &str) -> Envelope {
    let event = PlayEvent {
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Envelope::new(subject, &event)
}

pub(super) fn spec(name: &str, subjects: &[&str]) -> ConsumerSpec {
    ConsumerSpec {
        ack_wait: ACK_WAIT,
        batch_size: 4,
        max_in_flight: 16,
        ..ConsumerSpec::new(name, subjects)
    }
}

pub(super) fn track(envelope: &Envelope) -> anyhow::Result<String> {
    Ok(envelope.decode::<PlayEvent>()?.track_id)
}

async fn publish_tracks(fixture: &Fixture, subject: &str, tracks: &[&str]) -> anyhow::Result<()> {
    for t in tracks {
        fixture.bus.publish(&play(subject, t)).await?;
    }
    Ok(())
}

/// Takes `count` deliveries, acks them and returns their tracks.
pub(super) async fn take_and_ack(
    subscription: &mut tunemesh_events::Subscription,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let mut tracks = Vec::new();
    for _ in 0..count {
        let delivery = next(subscription).await?;
        tracks.push(track(delivery.envelope())?);
        delivery.ack().await?;
    }
    Ok(tracks)
}

pub async fn published_events_are_consumed_in_order_and_acked(f: &Fixture) -> anyhow::Result<()> {
    let mut sent = play(subjects::PLAY, "t1");
    sent.headers.insert("tracestate".into(), "vendor=1".into());
    assert!(!f.bus.publish(&sent).await?.duplicate);
    publish_tracks(f, subjects::PLAY, &["t2", "t3"]).await?;

    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    let first = next(&mut subscription).await?;
    assert_eq!(first.attempt(), 1);
    let got = first.envelope();
    assert_eq!(
        (&got.id, &got.subject, &got.payload),
        (&sent.id, &sent.subject, &sent.payload)
    );
    assert_eq!(
        got.headers.get("tracestate").map(String::as_str),
        Some("vendor=1")
    );
    assert_eq!(got.occurred_at_millis(), sent.occurred_at_millis());
    first.ack().await?;
    assert_eq!(take_and_ack(&mut subscription, 2).await?, ["t2", "t3"]);

    assert_eventually!(
        f.bus.consumer_state("reco").await.ok() == Some(ConsumerState::default()),
        "acked events still pending"
    );
    Ok(())
}

pub async fn a_duplicate_id_is_delivered_once(f: &Fixture) -> anyhow::Result<()> {
    let event = play(subjects::PLAY, "once");
    assert!(!f.bus.publish(&event).await?.duplicate);
    assert!(f.bus.publish(&event).await?.duplicate, "same id again");
    publish_tracks(f, subjects::PLAY, &["after"]).await?;

    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    assert_eq!(take_and_ack(&mut subscription, 2).await?, ["once", "after"]);
    assert!(next_within(&mut subscription, QUIET).await?.is_none());
    Ok(())
}

pub async fn a_nakd_event_comes_back_after_its_delay_with_the_next_attempt(
    f: &Fixture,
) -> anyhow::Result<()> {
    let sent = play(subjects::PLAY, "retry");
    f.bus.publish(&sent).await?;
    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;

    let first = next(&mut subscription).await?;
    assert_eq!(first.attempt(), 1);
    let delay = Duration::from_millis(300);
    let naked_at = Instant::now();
    first.nak(delay).await?;

    let again = next(&mut subscription).await?;
    assert!(
        naked_at.elapsed() >= delay / 2,
        "came back before the delay"
    );
    assert_eq!(again.envelope().id, sent.id);
    assert_eq!(again.attempt(), 2);
    again.ack().await?;
    Ok(())
}

pub async fn an_event_never_acked_is_delivered_at_most_max_deliver_times(
    f: &Fixture,
) -> anyhow::Result<()> {
    f.bus.publish(&play(subjects::PLAY, "ignored")).await?;
    let spec = ConsumerSpec {
        max_deliver: 3,
        ..spec("reco", &[subjects::PLAY])
    };
    let mut subscription = f.bus.subscribe(spec).await?;

    let mut attempts = Vec::new();
    // Each delivery is dropped unsettled: it comes back after the ack wait, until the limit.
    while let Some(delivery) = next_within(&mut subscription, QUIET).await? {
        attempts.push(delivery.attempt());
        assert!(
            attempts.len() <= 3,
            "delivered past max_deliver: {attempts:?}"
        );
    }
    assert_eq!(attempts, [1, 2, 3]);
    Ok(())
}

pub async fn a_termed_event_is_not_delivered_again(f: &Fixture) -> anyhow::Result<()> {
    publish_tracks(f, subjects::PLAY, &["poison", "fine"]).await?;
    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;

    let poison = next(&mut subscription).await?;
    assert_eq!(track(poison.envelope())?, "poison");
    poison.term().await?;
    assert_eq!(take_and_ack(&mut subscription, 1).await?, ["fine"]);
    assert!(next_within(&mut subscription, QUIET).await?.is_none());
    Ok(())
}

pub async fn a_durable_consumer_resumes_where_it_left_off(f: &Fixture) -> anyhow::Result<()> {
    publish_tracks(f, subjects::PLAY, &["a", "b", "c", "d"]).await?;
    let mut first = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    assert_eq!(take_and_ack(&mut first, 2).await?, ["a", "b"]);
    drop(first);

    // Events the dropped subscription had pulled but not settled come back after the ack
    // wait; acked ones never do.
    let mut second = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    assert_eq!(take_and_ack(&mut second, 2).await?, ["c", "d"]);
    assert!(next_within(&mut second, QUIET).await?.is_none());
    Ok(())
}

pub async fn a_deleted_consumer_starts_afresh_under_the_same_name(
    f: &Fixture,
) -> anyhow::Result<()> {
    publish_tracks(f, subjects::CATALOG, &["1", "2"]).await?;
    let mut first = f
        .bus
        .subscribe(spec("replica", &[subjects::CATALOG]))
        .await?;
    assert_eq!(take_and_ack(&mut first, 2).await?, ["1", "2"]);
    drop(first);
    assert!(f.bus.delete_consumer("replica").await?);
    assert!(!f.bus.delete_consumer("replica").await?);
    assert!(f.bus.consumer_state("replica").await.is_err());

    // A replica that lost its state replays everything under its stable name.
    let mut again = f
        .bus
        .subscribe(spec("replica", &[subjects::CATALOG]))
        .await?;
    assert_eq!(take_and_ack(&mut again, 2).await?, ["1", "2"]);
    Ok(())
}

pub async fn replay_from_the_beginning_sees_everything_and_new_only_sees_new(
    f: &Fixture,
) -> anyhow::Result<()> {
    publish_tracks(f, subjects::CATALOG, &["1", "2", "3"]).await?;
    let mut live = f.bus.subscribe(spec("live", &[subjects::CATALOG])).await?;
    assert_eq!(take_and_ack(&mut live, 3).await?, ["1", "2", "3"]);

    let new_only = ConsumerSpec {
        start: StartFrom::NewOnly,
        ..spec("tail", &[subjects::CATALOG])
    };
    let mut tail = f.bus.subscribe(new_only).await?;
    publish_tracks(f, subjects::CATALOG, &["4"]).await?;
    assert_eq!(take_and_ack(&mut tail, 1).await?, ["4"]);

    // A fresh replica replays the whole stream, long after the events were consumed.
    let mut replica = f
        .bus
        .subscribe(spec("replica", &[subjects::CATALOG]))
        .await?;
    assert_eq!(take_and_ack(&mut replica, 4).await?, ["1", "2", "3", "4"]);
    Ok(())
}

pub async fn subject_filters_deliver_only_their_subjects(f: &Fixture) -> anyhow::Result<()> {
    publish_tracks(f, subjects::PLAY, &["p1"]).await?;
    publish_tracks(f, subjects::CATALOG, &["c1"]).await?;
    publish_tracks(f, subjects::PLAYLIST, &["l1"]).await?;
    publish_tracks(f, subjects::CATALOG, &["c2"]).await?;

    let mut catalog = f
        .bus
        .subscribe(spec("search", &[subjects::CATALOG]))
        .await?;
    assert_eq!(take_and_ack(&mut catalog, 2).await?, ["c1", "c2"]);
    assert!(next_within(&mut catalog, QUIET).await?.is_none());

    let mut all = f.bus.subscribe(spec("audit", &["events.>"])).await?;
    assert_eq!(take_and_ack(&mut all, 4).await?, ["p1", "c1", "l1", "c2"]);

    // Several filters either work exactly or are refused: never a silent "everything".
    match f
        .bus
        .subscribe(spec("both", &[subjects::PLAY, subjects::PLAYLIST]))
        .await
    {
        Err(error) => assert!(is_invalid_spec(&error), "unexpected error: {error}"),
        Ok(mut both) => {
            assert_eq!(take_and_ack(&mut both, 2).await?, ["p1", "l1"]);
            assert!(next_within(&mut both, QUIET).await?.is_none());
        }
    }
    Ok(())
}

pub async fn a_consumer_that_stops_pulling_holds_a_bounded_number_of_events(
    f: &Fixture,
) -> anyhow::Result<()> {
    let total = 40_u64;
    for i in 0..total {
        f.bus.publish(&play(subjects::PLAY, &i.to_string())).await?;
    }
    let spec = ConsumerSpec {
        batch_size: 2,
        max_in_flight: 4,
        ack_wait: Duration::from_secs(30),
        ..spec("slow", &[subjects::PLAY])
    };
    let mut subscription = f.bus.subscribe(spec).await?;
    let _held = next(&mut subscription).await?;

    // The consumer stopped pulling: the rest stays on the bus, not in this process.
    assert_eventually!(
        f.bus
            .consumer_state("slow")
            .await
            .is_ok_and(|s| s.in_flight >= 1 && s.in_flight + s.pending == total),
        "consumer state never settled"
    );
    // An unbounded prefetch would show itself within the quiet period: watch it throughout.
    let watching = Instant::now();
    while watching.elapsed() < QUIET {
        let state = f.bus.consumer_state("slow").await?;
        assert!(
            state.in_flight <= 4,
            "in flight beyond the bound: {state:?}"
        );
        assert_eq!(state.pending, total - state.in_flight);
        tokio::time::sleep(tunemesh_testkit::POLL_INTERVAL).await;
    }
    Ok(())
}

pub async fn invalid_specs_are_refused(f: &Fixture) -> anyhow::Result<()> {
    let bad = [
        spec("has.dot", &[subjects::PLAY]),
        spec("reco", &[]),
        ConsumerSpec {
            max_deliver: 0,
            ..spec("reco", &[subjects::PLAY])
        },
    ];
    for spec in bad {
        let error = f.bus.subscribe(spec).await.err();
        assert!(error.as_ref().is_some_and(is_invalid_spec), "{error:?}");
    }
    assert!(matches!(
        f.bus.consumer_state("never-created").await,
        Err(tunemesh_events::BusError::UnknownConsumer(_))
    ));
    Ok(())
}

pub async fn a_pull_cancelled_midway_loses_nothing(f: &Fixture) -> anyhow::Result<()> {
    let tracks: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    for t in &tracks {
        f.bus.publish(&play(subjects::PLAY, t)).await?;
    }
    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;

    // Poll each pull once and drop it if it is not ready, as a `select!` would cancel it.
    let mut seen = Vec::new();
    let started = Instant::now();
    while seen.len() < tracks.len() && started.elapsed() < Duration::from_secs(10) {
        let Some(delivery) = subscription.next().now_or_never() else {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        };
        {
            let delivery = delivery?;
            assert_eq!(delivery.attempt(), 1, "a cancelled pull lost a delivery");
            seen.push(track(delivery.envelope())?);
            delivery.ack().await?;
        }
    }
    assert_eq!(seen, tracks);
    Ok(())
}

pub async fn invalid_envelopes_are_refused(f: &Fixture) -> anyhow::Result<()> {
    let mut wildcard = play(subjects::PLAY, "x");
    wildcard.subject = "events.>".to_owned();
    let mut header = play(subjects::PLAY, "x");
    header
        .headers
        .insert("bad: name".to_owned(), "v".to_owned());
    for envelope in [wildcard, header] {
        let error = f.bus.publish(&envelope).await.err();
        assert!(
            matches!(
                error,
                Some(tunemesh_events::BusError::InvalidEnvelope { .. })
            ),
            "{error:?}"
        );
    }
    Ok(())
}

pub async fn a_durable_consumer_takes_new_settings_and_keeps_its_position(
    f: &Fixture,
) -> anyhow::Result<()> {
    publish_tracks(f, subjects::PLAY, &["a", "b"]).await?;
    let mut first = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    assert_eq!(take_and_ack(&mut first, 1).await?, ["a"]);
    drop(first);

    // A redeployed service changes its retry settings; the consumer keeps its place.
    let changed = ConsumerSpec {
        max_deliver: 7,
        ack_wait: ACK_WAIT * 2,
        max_in_flight: 32,
        ..spec("reco", &[subjects::PLAY])
    };
    let mut second = f.bus.subscribe(changed).await?;
    assert_eq!(take_and_ack(&mut second, 1).await?, ["b"]);
    Ok(())
}
