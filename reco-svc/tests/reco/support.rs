//! The reco service on real servers: its own JetStream stream and Redis prefix per test,
//! events published the way player-svc publishes them.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::{Envelope, EventBus};
use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, Track};
use tunemesh_proto::events::v1::{
    CatalogEvent, EventMeta, LikedTracksChanged, PlayEvent, PlaylistChangeKind, PlaylistChanged,
    PlaylistEvent, TrackAdded, catalog_event, playlist_event,
};
use tunemesh_proto::player::v1::PlaybackEndReason;
use tunemesh_proto::prost_types::Timestamp;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::reco::v1::{
    RadioRequest, RecommendRequest, Recommendation, SimilarTracksRequest,
};
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_proto::tonic::{self, Request, Status};
use tunemesh_reco::RecoSettings;
use tunemesh_reco::store::redis::RedisStore;
use tunemesh_runtime::identity::{
    ActAs, Asserting, AssertionSigner, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{
    SpawnedApp, delete_nats_streams, delete_redis_keys, grpc_settings, nats_client, redis_client,
    servers, spawn_app,
};

/// One test's bus: a JetStream stream of its own, deleted at the end.
pub struct TestBus {
    pub bus: Arc<dyn EventBus>,
    js: async_nats::jetstream::Context,
    prefix: String,
}

impl TestBus {
    /// A stream whose duplicate window is `window` (short ones let a test get a duplicate
    /// past JetStream to the consumer).
    pub async fn with_window(label: &str, window: Duration) -> anyhow::Result<Self> {
        let prefix = tunemesh_testkit::unique_prefix(label);
        let js = async_nats::jetstream::new(nats_client().await?);
        let settings = JetStreamSettings {
            duplicate_window: window,
            ..JetStreamSettings::default()
        };
        let bus = JetStreamBus::new(js.clone(), &prefix, &settings).await?;
        Ok(Self {
            bus: Arc::new(bus),
            js,
            prefix,
        })
    }

    pub async fn new(label: &str) -> anyhow::Result<Self> {
        Self::with_window(label, Duration::from_secs(120)).await
    }

    /// Publishes `event`; true when the bus stored it (not a duplicate).
    pub async fn publish<E: tunemesh_events::Event>(&self, event: &E) -> anyhow::Result<bool> {
        let published = self.bus.publish(&Envelope::from_event(event)?).await?;
        Ok(!published.duplicate)
    }

    pub async fn cleanup(self) -> anyhow::Result<()> {
        delete_nats_streams(&self.js, &self.prefix).await?;
        Ok(())
    }
}

/// The reco service under test on Redis, and a client that signs as the test gateway.
pub struct TestReco {
    pub app: SpawnedApp,
    pub client: RecommendationServiceClient<Asserting<Channel>>,
    pub store: RedisStore,
    redis_prefix: String,
    consumer_prefix: String,
}

impl TestReco {
    /// Builds the service on `bus` with its own Redis prefix and consumers, and connects.
    pub async fn start(bus: &TestBus, label: &str) -> anyhow::Result<Self> {
        let redis_prefix = format!("{}:", tunemesh_testkit::unique_prefix(label));
        let redis = RedisSettings {
            url: servers().redis_url.clone().into(),
            key_prefix: redis_prefix.clone(),
            ..RedisSettings::default()
        };
        let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
        let ctx = ServiceContext {
            grpc: grpc_settings(),
            storage: Storage::Production {
                postgres: PostgresSettings::default(),
                redis: redis.clone(),
            },
            identity,
            mesh: Mesh::new(Arc::new(EmbeddedRegistry::new()), MeshSettings::default()),
            // One service alone, called directly: plaintext.
            connect: None,
            tls: None,
        };
        let consumer_prefix = tunemesh_testkit::unique_prefix("reco");
        let settings = RecoSettings {
            consumer_prefix: consumer_prefix.clone(),
            lag_interval: Duration::from_millis(200),
            ..RecoSettings::default()
        };
        let app = tunemesh_reco::build(&settings, &ctx, bus.bus.clone()).await?;
        let app = spawn_app(app, None);
        let client = RecommendationServiceClient::new(signing(app.channel().await?));
        let pool = tunemesh_runtime::redis::connect(&redis).await?;
        let store = RedisStore::new(
            pool,
            KeyPrefix::from(&redis).scoped("reco"),
            settings.dedup_ttl,
        );
        let reco = Self {
            app,
            client,
            store,
            redis_prefix,
            consumer_prefix,
        };
        reco.wait_ready().await?;
        Ok(reco)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        tunemesh_testkit::eventually(Duration::from_secs(30), || async {
            match self.recommend("readiness-probe", 1).await {
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    anyhow::bail!("still loading: {status}")
                }
                _ => Ok(()),
            }
        })
        .await
    }

    /// `message` from `user`: the client signs it as the test gateway would.
    pub fn signed<T>(&self, user: &str, message: T) -> Result<Request<T>, Status> {
        Ok(signed(user, message))
    }

    pub async fn recommend(&self, user: &str, limit: u32) -> Result<Vec<Recommendation>, Status> {
        let request = self.signed(
            user,
            RecommendRequest {
                limit,
                exclude_track_ids: Vec::new(),
            },
        )?;
        Ok(self
            .client
            .clone()
            .recommend(request)
            .await?
            .into_inner()
            .recommendations)
    }

    /// Track ids recommended to `user`, best first.
    pub async fn ids(&self, user: &str, limit: u32) -> anyhow::Result<Vec<String>> {
        Ok(self
            .recommend(user, limit)
            .await?
            .into_iter()
            .map(|r| r.track_id)
            .collect())
    }

    /// Waits until every event published on `bus` so far has been applied (each of the
    /// service's consumers has nothing pending or unsettled).
    pub async fn settled(&self, bus: &TestBus) -> anyhow::Result<()> {
        let names: Vec<String> = ["play", "catalog", "playlist"]
            .iter()
            .map(|what| format!("{}-{what}", self.consumer_prefix))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        tunemesh_testkit::eventually(Duration::from_secs(30), || async {
            let drained = tunemesh_events::projection::drained(bus.bus.as_ref(), &names).await;
            anyhow::ensure!(drained, "events still pending");
            Ok(())
        })
        .await
    }

    /// A page of `user`'s radio on `seed`.
    pub async fn radio(&self, user: &str, seed: &str) -> anyhow::Result<Vec<Recommendation>> {
        let request = RadioRequest {
            seed_track_id: seed.to_owned(),
            limit: 10,
            page_token: String::new(),
        };
        let request = self.signed(user, request)?;
        Ok(self
            .client
            .clone()
            .radio(request)
            .await?
            .into_inner()
            .tracks)
    }

    /// Tracks similar to `track`.
    pub async fn similar(&self, track: &str) -> anyhow::Result<Vec<Recommendation>> {
        let request = SimilarTracksRequest {
            track_id: track.to_owned(),
            limit: 10,
        };
        let request = self.signed("someone", request)?;
        let answer = self.client.clone().similar_tracks(request).await?;
        Ok(answer.into_inner().tracks)
    }

    pub async fn cleanup(self) -> anyhow::Result<()> {
        self.app.stop().await?;
        delete_redis_keys(&redis_client().await?, &self.redis_prefix).await?;
        Ok(())
    }
}

fn meta(event_id: String, at: SystemTime) -> Option<EventMeta> {
    Some(EventMeta {
        event_id,
        occurred_at: Some(Timestamp::from(at)),
        producer: "reco-tests".to_owned(),
        // trace_context is deprecated: the trace travels in the message headers
        ..EventMeta::default()
    })
}

/// A whole, counted play of `track` by `user` ending at `at`.
pub fn play_at(user: &str, track: &str, at: SystemTime) -> PlayEvent {
    PlayEvent {
        meta: meta(tunemesh_events::new_event_id(), at),
        user_id: user.to_owned(),
        track_id: track.to_owned(),
        play_session_id: tunemesh_events::new_event_id(),
        end_reason: PlaybackEndReason::Completed as i32,
        counted: true,
        ..PlayEvent::default()
    }
}

/// A whole play ending now.
pub fn play(user: &str, track: &str) -> PlayEvent {
    play_at(user, track, SystemTime::now())
}

/// An early skip of `track` by `user`, now.
pub fn skip(user: &str, track: &str) -> PlayEvent {
    PlayEvent {
        end_reason: PlaybackEndReason::Skipped as i32,
        counted: false,
        ..play(user, track)
    }
}

/// `TrackAdded` for a track by `artist`.
pub fn track_added(id: &str, artist: &str) -> CatalogEvent {
    track_on_album(id, artist, "")
}

/// `TrackAdded` for a track by `artist` on `album` (none when empty).
pub fn track_on_album(id: &str, artist: &str, album: &str) -> CatalogEvent {
    CatalogEvent {
        event: Some(catalog_event::Event::TrackAdded(TrackAdded {
            meta: meta(tunemesh_events::new_event_id(), SystemTime::now()),
            track: Some(Track {
                id: id.to_owned(),
                title: format!("Title of {id}"),
                artists: vec![ArtistRef {
                    id: artist.to_owned(),
                    name: format!("Artist {artist}"),
                }],
                album: (!album.is_empty()).then(|| AlbumRef {
                    id: album.to_owned(),
                    title: format!("Album {album}"),
                }),
                ..Track::default()
            }),
        })),
    }
}

/// `user` liked (or unliked) `tracks`, now.
pub fn liked(user: &str, tracks: &[&str], liked: bool) -> PlaylistEvent {
    PlaylistEvent {
        event: Some(playlist_event::Event::LikedTracksChanged(
            LikedTracksChanged {
                meta: meta(tunemesh_events::new_event_id(), SystemTime::now()),
                user_id: user.to_owned(),
                track_ids: tracks.iter().map(|t| (*t).to_owned()).collect(),
                liked,
                version: 0,
            },
        )),
    }
}

/// A change of `kind` to playlist `id` of `owner` naming `tracks`, now.
pub fn playlist_changed(
    id: &str,
    owner: &str,
    kind: PlaylistChangeKind,
    tracks: &[&str],
) -> PlaylistEvent {
    PlaylistEvent {
        event: Some(playlist_event::Event::PlaylistChanged(PlaylistChanged {
            meta: meta(tunemesh_events::new_event_id(), SystemTime::now()),
            playlist_id: id.to_owned(),
            version: 0,
            kind: kind.into(),
            actor_user_id: owner.to_owned(),
            owner_id: owner.to_owned(),
            track_ids: tracks.iter().map(|t| (*t).to_owned()).collect(),
            ..PlaylistChanged::default()
        })),
    }
}

/// The track ids of an answer, in order.
pub fn ids(answer: &[Recommendation]) -> Vec<String> {
    answer.iter().map(|r| r.track_id.clone()).collect()
}

/// Listening sessions of several other users, so tracks have neighbours: each user plays
/// every track of one group in a row.
pub async fn seed_sessions(bus: &TestBus, groups: &[&[&str]]) -> anyhow::Result<()> {
    seed_sessions_on(&bus.bus, groups).await
}

/// [`seed_sessions`] on any bus.
pub async fn seed_sessions_on(bus: &Arc<dyn EventBus>, groups: &[&[&str]]) -> anyhow::Result<()> {
    for (g, group) in groups.iter().enumerate() {
        for u in 0..3 {
            let user = format!("other-{g}-{u}");
            for track in *group {
                bus.publish(&Envelope::from_event(&play(&user, track))?)
                    .await?;
            }
        }
    }
    Ok(())
}

/// `channel`, signing requests made [`signed`] as the test gateway would, for reco-svc.
pub fn signing<S>(channel: S) -> Asserting<S> {
    Asserting::new(
        channel,
        AssertionSigner::for_tests(),
        tunemesh_reco::SERVICE_NAME,
    )
}

/// `message` from `user`, for a client made with [`signing`].
pub fn signed<T>(user: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .extensions_mut()
        .insert(ActAs(Caller::new(user.to_owned(), Vec::new())));
    request
}
