//! "Made for you": reco-svc's mixer makes each listener a daily mix from the model and keeps
//! it in playlist-svc as a read-only generated playlist, shown at `/v1/me/made-for-you`.
//!
//! Two tests: a listener's plays lead to a mix through every real service (the mixer inside
//! `tunemesh up`); and the mixer's rules under a clock the test sets, one round at a time,
//! against the mesh's real playlist-svc (taste changed enough, at most once a day, nothing
//! the listener skipped), with the model and the mix marks in memory and in Redis.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings, Registration, Registry};
use tunemesh_reco::mix::target::PlaylistTarget;
use tunemesh_reco::mix::{MixSettings, Mixer};
use tunemesh_reco::model::update::plan_listen;
use tunemesh_reco::model::{Listen, ListenKind, ModelParams};
use tunemesh_reco::service::ModelRecommender;
use tunemesh_reco::store::RecoStore;
use tunemesh_reco::store::memory::MemoryStore;
use tunemesh_reco::store::redis::RedisStore;
use tunemesh_runtime::clock::Clock;
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};

use crate::history::{play, plays_at_once};
use crate::support::RunningMesh;
use crate::taste::{SONGS, get, ingest, until};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The ids of the playlists `/v1/me/made-for-you` answered.
fn mixes(answer: &Value) -> Vec<String> {
    answer["playlists"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|p| p["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The track ids of the items of a `/v1/playlists/{id}` answer, in order.
fn item_tracks(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["track_id"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_listeners_plays_become_a_read_only_daily_mix() -> anyhow::Result<()> {
    let mesh = RunningMesh::start_with(|settings| {
        plays_at_once(settings);
        settings.reco.mix.interval = Duration::from_millis(100);
        settings.reco.mix.min_taste_changes = 2;
    })
    .await?;
    mesh.wait_ready().await?;
    let [ann, bob] = mesh.listeners(["ann", "bob"]).await?;
    let a = ingest(&mesh, &ann, SONGS[0]).await?;
    let b = ingest(&mesh, &ann, SONGS[1]).await?;
    play(&mesh, &ann, &a, "ann-1", true).await?;
    play(&mesh, &ann, &b, "ann-2", true).await?;
    play(&mesh, &bob, &a, "bob-1", true).await?;

    until(&mesh, &ann, "/v1/me/made-for-you", |answer| {
        mixes(answer).len() == 1
    })
    .await?;
    let answer = get(&mesh, &ann, "/v1/me/made-for-you").await?;
    let mix = &answer["playlists"][0];
    assert_eq!(mix["generated"]["kind"], "daily-mix", "{answer}");
    assert_eq!(mix["owner_id"], "system", "{answer}");
    assert_eq!(mix["public"], false, "{answer}");
    let id = mix["id"].as_str().unwrap_or_default().to_owned();
    let page = get(&mesh, &ann, &format!("/v1/playlists/{id}")).await?;
    let tracks = item_tracks(&page);
    assert!(
        tracks.contains(&a.as_str()),
        "ann's favourite is in it: {page}"
    );

    let rename = mesh
        .http
        .patch(mesh.url(&format!("/v1/playlists/{id}")))
        .bearer_auth(&ann)
        .json(&json!({ "name": "mine now" }))
        .send()
        .await?;
    assert_eq!(rename.status(), StatusCode::FORBIDDEN);
    let theirs = mesh
        .http
        .get(mesh.url(&format!("/v1/playlists/{id}")))
        .bearer_auth(&bob)
        .send()
        .await?;
    assert_eq!(
        theirs.status(),
        StatusCode::NOT_FOUND,
        "bob does not see ann's mix"
    );
    let library = get(&mesh, &ann, "/v1/me/playlists").await?;
    assert_eq!(
        library["playlists"][0]["relation"], "made_for_you",
        "{library}"
    );
    mesh.stop().await
}

/// The mixer of the test: its own model in `store`, the mesh's playlist-svc, `clock`.
struct TestMixer {
    store: Arc<dyn RecoStore>,
    mixer: Mixer,
    params: ModelParams,
    clock: Clock,
    _ready: watch::Sender<bool>,
}

impl TestMixer {
    async fn new(
        mesh: &RunningMesh,
        store: Arc<dyn RecoStore>,
        settings: MixSettings,
    ) -> anyhow::Result<Self> {
        let registry = EmbeddedRegistry::new();
        registry
            .register(&Registration::for_service(
                "playlist",
                mesh.service("playlist"),
                "test",
            ))
            .await?;
        let registry: Arc<dyn Registry> = Arc::new(registry);
        let channel =
            Mesh::with_tls(registry, MeshSettings::default(), mesh.tls("reco")).channel("playlist");
        let target = PlaylistTarget::new(channel, Duration::from_secs(5));
        let params = ModelParams::default();
        let (ready, ready_rx) = watch::channel(true);
        let recommender = ModelRecommender::new(store.clone(), params.clone(), ready_rx);
        let clock = Clock::manual(1_800_000_000_000);
        let mixer = Mixer::new(
            store.clone(),
            Arc::new(recommender),
            Arc::new(target),
            settings,
            clock.clone(),
        );
        Ok(Self {
            store,
            mixer,
            params,
            clock,
            _ready: ready,
        })
    }

    /// `n` counted plays of `track` by `user`, a minute apart, as the feed applies them.
    async fn plays(&self, user: &str, track: &str, n: usize) -> anyhow::Result<()> {
        for _ in 0..n {
            self.listen(user, track, ListenKind::Play { weight: 1.0 })
                .await?;
        }
        Ok(())
    }

    /// One listen of `track` by `user` a minute on, as the feed applies it.
    async fn listen(&self, user: &str, track: &str, kind: ListenKind) -> anyhow::Result<()> {
        self.clock.advance(Duration::from_secs(60));
        let listen = Listen {
            event_id: uuid_like(),
            user_id: user.to_owned(),
            track_id: track.to_owned(),
            at_ms: self.clock.now_ms(),
            kind,
        };
        let listener = self.store.listener(user, 50).await?;
        self.store
            .apply(&plan_listen(&listen, &listener, &self.params))
            .await?;
        Ok(())
    }

    /// Who one round mixed.
    async fn round(&self) -> anyhow::Result<Vec<String>> {
        let round = self.mixer.round().await?;
        anyhow::ensure!(round.failed == 0, "{round:?}");
        Ok(round.mixed)
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("play-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[tokio::test]
async fn a_mix_is_remade_only_when_taste_moved_and_at_most_once_a_day() -> anyhow::Result<()> {
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.qualities = vec!["low".to_owned()];
        // The test's own mixer is the only one.
        settings.reco.mix.enabled = false;
    })
    .await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    let session = |name: &'static str| {
        let (http, base) = (mesh.http.clone(), base.clone());
        async move {
            let password = format!("{name} has a long passphrase");
            tunemesh_testkit::accounts::sign_up(&http, &base, name, &password).await
        }
    };
    let (ann, bob) = (session("ann").await?, session("bob").await?);
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let (ann_id, ann_token) = (text(&ann, "user_id"), text(&ann, "access_token"));
    let bob_id = text(&bob, "user_id");
    let a = ingest(&mesh, &ann_token, SONGS[0]).await?;
    let b = ingest(&mesh, &ann_token, SONGS[1]).await?;
    let listeners = Listeners {
        ann: (ann_id, ann_token),
        bob: (bob_id, text(&bob, "access_token")),
        tracks: [a, b],
    };
    // The same rules on the embedded store and on Redis (its own key prefix), each with its
    // own marks: the second pass replaces the mixes the first one made.
    rules_hold(&mesh, Arc::new(MemoryStore::new()), &listeners).await?;
    let prefix = format!("{}:", tunemesh_testkit::unique_prefix("mix"));
    let redis = RedisSettings {
        url: tunemesh_testkit::servers().redis_url.clone().into(),
        key_prefix: prefix.clone(),
        ..RedisSettings::default()
    };
    let pool = tunemesh_runtime::redis::connect(&redis).await?;
    let store = RedisStore::new(pool, KeyPrefix::new(prefix.clone()), DAY);
    let on_redis = rules_hold(&mesh, Arc::new(store), &listeners).await;
    tunemesh_testkit::delete_redis_keys(&tunemesh_testkit::redis_client().await?, &prefix).await?;
    on_redis?;
    mesh.stop().await
}

/// Two listeners of the test (id, access token) and the two tracks of the catalogue.
struct Listeners {
    ann: (String, String),
    bob: (String, String),
    tracks: [String; 2],
}

/// The mixer's rules, round by round, on `store`.
async fn rules_hold(
    mesh: &RunningMesh,
    store: Arc<dyn RecoStore>,
    listeners: &Listeners,
) -> anyhow::Result<()> {
    let ((ann_id, ann_token), (bob_id, bob_token)) = (&listeners.ann, &listeners.bob);
    let [a, b] = &listeners.tracks;
    let mix = TestMixer::new(
        mesh,
        store,
        MixSettings {
            min_taste_changes: 3,
            ..MixSettings::default()
        },
    )
    .await?;

    // Below the threshold: nobody is due.
    mix.plays(ann_id, a, 2).await?;
    mix.plays(bob_id, b, 2).await?;
    assert!(mix.round().await?.is_empty());
    // A third taste event makes ann due: her mix lands in playlist-svc.
    mix.plays(ann_id, b, 1).await?;
    assert_eq!(mix.round().await?, std::slice::from_ref(ann_id));
    let answer = get(mesh, ann_token, "/v1/me/made-for-you").await?;
    assert_eq!(mixes(&answer).len(), 1, "{answer}");
    // Nothing new: no second mix.
    assert!(mix.round().await?.is_empty());
    // Taste moved, but within the day of the last mix: still none.
    mix.plays(ann_id, a, 3).await?;
    mix.clock.advance(DAY / 2);
    assert!(mix.round().await?.is_empty());
    // A day after the last mix, with taste moved: a new one.
    mix.clock.advance(DAY / 2);
    assert_eq!(mix.round().await?, std::slice::from_ref(ann_id));
    // Another day on, taste unchanged since: none.
    mix.clock.advance(DAY * 2);
    assert!(mix.round().await?.is_empty());
    let answer = get(mesh, ann_token, "/v1/me/made-for-you").await?;
    assert_eq!(mixes(&answer).len(), 1, "still one daily mix: {answer}");

    // bob (two plays of b so far) skips a, which ann plays, and plays b once more: his
    // first mix leaves a out.
    mix.listen(bob_id, a, ListenKind::Skip).await?;
    mix.plays(bob_id, b, 1).await?;
    assert_eq!(mix.round().await?, std::slice::from_ref(bob_id));
    let answer = get(mesh, bob_token, "/v1/me/made-for-you").await?;
    let id = mixes(&answer).pop().unwrap_or_default();
    let page = get(mesh, bob_token, &format!("/v1/playlists/{id}")).await?;
    let tracks = item_tracks(&page);
    assert_eq!(tracks, [b.as_str()], "{page}");
    Ok(())
}
