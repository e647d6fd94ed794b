//! The per-service NATS users of `tunemesh_events::access` on a real nats-server run with the
//! generated `authorization` block: each service does its work, and nothing of another's.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::SecretString;
use tunemesh_events::access::{SERVICES, authorization};
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::nats::NatsSettings;
use tunemesh_events::{ConsumerSpec, Envelope, EventBus};
use tunemesh_proto::events::v1::{PlayEvent, PlaylistEvent};
use tunemesh_proto::subjects;
use tunemesh_testkit::init_tracing;
use tunemesh_testkit::private::PrivateNats;

const PREFIX: &str = "tm";

struct Bus {
    server: PrivateNats,
    passwords: BTreeMap<&'static str, String>,
}

impl Bus {
    async fn start() -> anyhow::Result<Self> {
        let passwords: BTreeMap<_, _> = SERVICES
            .iter()
            .map(|a| (a.service, uuid::Uuid::new_v4().simple().to_string()))
            .collect();
        let config = authorization(PREFIX, |s| format!("\"{}\"", passwords[s]));
        let server = PrivateNats::start(&config).await?;
        Ok(Self { server, passwords })
    }

    fn settings(&self, user: &str, password: &str) -> NatsSettings {
        NatsSettings {
            url: self.server.url(),
            stream_prefix: PREFIX.to_owned(),
            // Refused requests get no answer: fail them quickly.
            request_timeout: Duration::from_secs(1),
            user: Some(user.to_owned()),
            password: Some(SecretString::from(password.to_owned())),
            ..NatsSettings::default()
        }
    }

    async fn connect(&self, service: &str) -> anyhow::Result<JetStreamBus> {
        let settings = self.settings(service, &self.passwords[service]);
        Ok(JetStreamBus::connect(&settings, &JetStreamSettings::default()).await?)
    }
}

fn play(track: &str) -> Envelope {
    let event = PlayEvent {
        track_id: track.to_owned(),
        ..PlayEvent::default()
    };
    Envelope::new(subjects::PLAY, &event)
}

#[tokio::test]
async fn each_service_uses_only_its_own_subjects_and_consumers() -> anyhow::Result<()> {
    init_tracing();
    let bus = Bus::start().await?;

    // player-svc publishes plays; a playlist event (playlist-svc's subject) is refused.
    let player = bus.connect("player").await?;
    player.publish(&play("t1")).await?;
    let playlist_event = Envelope::new(subjects::PLAYLIST, &PlaylistEvent::default());
    assert!(player.publish(&playlist_event).await.is_err());
    // playlist-svc publishes its own, not plays.
    let playlist = bus.connect("playlist").await?;
    playlist.publish(&playlist_event).await?;
    assert!(playlist.publish(&play("forged")).await.is_err());

    // reco-svc reads plays through its named consumer and acks them.
    let reco = bus.connect("reco").await?;
    let mut plays = reco
        .subscribe(ConsumerSpec::new("reco-play", &[subjects::PLAY]))
        .await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), plays.next()).await??;
    assert_eq!(delivery.envelope().decode::<PlayEvent>()?.track_id, "t1");
    delivery.ack().await?;
    let state = reco.consumer_state("reco-play").await?;
    assert_eq!(
        (state.pending, state.in_flight),
        (0, 0),
        "the ack was taken"
    );
    // ...but no consumer under a name that is not its own.
    let other_name = ConsumerSpec::new("reco-extra", &[subjects::PLAY]);
    assert!(reco.subscribe(other_name).await.is_err());
    let other_subject = ConsumerSpec::new("reco-play", &[subjects::CATALOG]);
    assert!(reco.subscribe(other_subject).await.is_err());

    // search-svc makes per-replica consumers, on its subjects, never on reco's names.
    let search = bus.connect("search").await?;
    let mut own = search
        .subscribe(ConsumerSpec::new("search-play-search-0", &[subjects::PLAY]))
        .await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), own.next()).await??;
    delivery.ack().await?;
    let stolen = ConsumerSpec::new("reco-play", &[subjects::PLAY]);
    assert!(search.subscribe(stolen).await.is_err());
    assert!(search.consumer_state("reco-play").await.is_err());
    assert!(search.delete_consumer("reco-play").await.is_err());

    // player-svc consumes nothing.
    let spy = ConsumerSpec::new("player-spy", &[subjects::PLAYLIST]);
    assert!(player.subscribe(spy).await.is_err());

    // reco's consumer is intact after all that.
    assert!(reco.consumer_state("reco-play").await.is_ok());
    Ok(())
}

#[tokio::test]
async fn a_wrong_password_or_missing_one_is_refused() -> anyhow::Result<()> {
    init_tracing();
    let bus = Bus::start().await?;
    let wrong = bus.settings("reco", "not-the-password");
    let error = JetStreamBus::connect(&wrong, &JetStreamSettings::default())
        .await
        .expect_err("wrong password");
    assert!(!format!("{error:?}").contains("not-the-password"));
    let anonymous = NatsSettings {
        user: None,
        password: None,
        ..bus.settings("reco", "")
    };
    assert!(
        JetStreamBus::connect(&anonymous, &JetStreamSettings::default())
            .await
            .is_err()
    );
    Ok(())
}
