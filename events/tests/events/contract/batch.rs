//! Contract cases for batches: several events published in one call, and deliveries settled
//! together (what the outbox relay and search-svc's commits do).

use tunemesh_events::{BusError, ConsumerState};
use tunemesh_proto::subjects;
use tunemesh_testkit::assert_eventually;

use super::cases::{QUIET, play, spec, take_and_ack, track};
use super::harness::{Fixture, next, next_within};

pub async fn a_batch_is_published_in_order_and_an_invalid_event_is_refused_alone(
    f: &Fixture,
) -> anyhow::Result<()> {
    let first = play(subjects::PLAY, "b1");
    let mut invalid = play(subjects::PLAY, "bad");
    invalid.subject = "events.>".to_owned();
    let batch = [first.clone(), invalid, play(subjects::PLAY, "b2"), first];
    let answers = f.bus.publish_batch(&batch).await;
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert!(matches!(answers[0], Ok(p) if !p.duplicate), "{answers:?}");
    assert!(
        matches!(answers[1], Err(BusError::InvalidEnvelope { .. })),
        "{answers:?}"
    );
    assert!(matches!(answers[2], Ok(p) if !p.duplicate), "{answers:?}");
    assert!(matches!(answers[3], Ok(p) if p.duplicate), "{answers:?}");

    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    assert_eq!(take_and_ack(&mut subscription, 2).await?, ["b1", "b2"]);
    assert!(next_within(&mut subscription, QUIET).await?.is_none());
    Ok(())
}

pub async fn deliveries_acked_together_are_all_settled(f: &Fixture) -> anyhow::Result<()> {
    let tracks: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let batch: Vec<_> = tracks.iter().map(|t| play(subjects::PLAY, t)).collect();
    assert!(f.bus.publish_batch(&batch).await.iter().all(Result::is_ok));

    let mut subscription = f.bus.subscribe(spec("reco", &[subjects::PLAY])).await?;
    let mut deliveries = Vec::new();
    for _ in 0..tracks.len() {
        deliveries.push(next(&mut subscription).await?);
    }
    let got: Vec<String> = deliveries
        .iter()
        .map(|d| track(d.envelope()))
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(got, tracks);
    for acked in futures::future::join_all(deliveries.into_iter().map(|d| d.ack())).await {
        acked?;
    }
    assert_eventually!(
        f.bus.consumer_state("reco").await.ok() == Some(ConsumerState::default()),
        "acked events still pending"
    );
    // Past the ack wait: nothing comes again.
    assert!(next_within(&mut subscription, QUIET).await?.is_none());
    Ok(())
}
