//! A listener's view of a running cluster: REST through the gateways, and gRPC through the
//! same balanced, retrying mesh channel the gateway uses (over the cluster's Consul) for the
//! services the gateway has no routes for yet (playlist, search, reco).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use serde_json::{Value, json};
use tunemesh::Settings;
use tunemesh::cluster::Cluster;
use tunemesh_discovery::{ConsulConnect, ConsulRegistry, Mesh, RetryChannel};
use tunemesh_proto::tonic;
use tunemesh_runtime::SettingsSource;
use tunemesh_runtime::identity::{ActAs, Asserting, AssertionSettings, AssertionSigner, Caller};
use tunemesh_runtime::settings::load;
use tunemesh_testkit::accounts;

/// The real music the test ingests (Debian `singularity-music`, `scripts/music.sh`).
pub const MUSIC: [&str; 2] = [
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg",
    "/usr/share/games/singularity/music/win/Apex Aleph.ogg",
];

/// Idempotent RPCs the mesh may retry on another replica when one fails to answer.
const IDEMPOTENT: [&str; 4] = [
    "/tunemesh.playlist.v1.PlaylistService/GetPlaylist",
    "/tunemesh.playlist.v1.PlaylistService/CreatePlaylist",
    "/tunemesh.search.v1.SearchService/",
    "/tunemesh.reco.v1.RecommendationService/",
];

/// A signed-up listener with clients for the gateways and the mesh.
#[derive(Clone)]
pub struct Listener {
    pub http: reqwest::Client,
    pub gateways: Vec<SocketAddr>,
    pub token: String,
    pub user_id: String,
    pub mesh: Mesh,
    /// Signs as the cluster's gateways do (the test stands in for one).
    pub signer: AssertionSigner,
    next: Arc<AtomicUsize>,
}

impl Listener {
    /// Signs up a new account through a gateway.
    pub async fn sign_up(cluster: &Cluster) -> anyhow::Result<Self> {
        let http = reqwest::Client::new();
        let gateways = cluster.gateways();
        let base = format!("http://{}", gateways[0]);
        let session = accounts::sign_up(&http, &base, "listener", "a long enough passphrase");
        let session = session.await?;
        let text = |key: &str| {
            session[key]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("sign-up answered no {key}: {session}"))
        };
        let settings: Settings = load(&SettingsSource::from_env([(
            "TUNEMESH_CONSUL__ADDR",
            cluster.consul_addr(),
        )]))?;
        let registry = Arc::new(ConsulRegistry::new(settings.consul.clone())?);
        Ok(Self {
            token: text("access_token")?,
            user_id: text("user_id")?,
            http,
            gateways,
            // Calls services as the gateway does: over mutual TLS, with a leaf of the
            // cluster's Consul CA for `gateway`.
            mesh: Mesh::with_tls(
                registry,
                settings.mesh.clone(),
                ConsulConnect::new(settings.consul.clone())?
                    .tls("gateway")
                    .await?,
            ),
            signer: AssertionSigner::new(&AssertionSettings::with_key(
                cluster.assertion_key().clone(),
            ))?,
            next: Arc::default(),
        })
    }

    /// Sends a request built for `http://<gateway>/path`, alternating between the gateways
    /// like a load balancer, and like one, tries the other gateway when one gave no answer at
    /// all (refused or reset: it died). Every request sent here is idempotent (writes carry
    /// an idempotency key).
    pub async fn send(
        &self,
        path: &str,
        build: impl Fn(String) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = None;
        for attempt in 0..self.gateways.len() {
            let gateway = self.gateways[(first + attempt) % self.gateways.len()];
            match build(format!("http://{gateway}{path}")).send().await {
                Ok(response) => return Ok(response),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.map_or_else(|| anyhow::anyhow!("no gateway"), Into::into))
    }

    /// GET with the access token; fails on a non-2xx answer. A body cut short by a dying
    /// gateway is fetched again, as a client would.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let fetch = || async {
            let response = self
                .send(path, |url| self.http.get(url).bearer_auth(&self.token))
                .await?;
            let status = response.status();
            anyhow::ensure!(status.is_success(), "GET {path}: {status}");
            Ok::<_, anyhow::Error>(response.json::<Value>().await?)
        };
        match fetch().await {
            Ok(value) => Ok(value),
            Err(error) if error.downcast_ref::<reqwest::Error>().is_some() => fetch().await,
            Err(error) => Err(error),
        }
    }

    /// Bytes `start..end` of a track's Ogg Opus file. A response cut short (the replica
    /// serving it died) is resumed from where it stopped with a new Range request.
    pub async fn audio_range(&self, track: &str, start: u64, end: u64) -> anyhow::Result<u64> {
        let mut got = start;
        let mut attempts = 0;
        while got < end {
            attempts += 1;
            anyhow::ensure!(attempts <= 3, "audio of {track} still incomplete at {got}");
            let range = format!("bytes={got}-{}", end - 1);
            let response = self
                .send(&format!("/v1/tracks/{track}/audio"), |url| {
                    let request = self.http.get(url).bearer_auth(&self.token);
                    request.header("range", &range)
                })
                .await?;
            let status = response.status();
            anyhow::ensure!(status == 206, "audio of {track}: {status}");
            let mut response = response;
            while let Ok(Some(chunk)) = response.chunk().await {
                got += chunk.len() as u64;
            }
        }
        anyhow::ensure!(got == end, "audio of {track}: {got} bytes, wanted {end}");
        Ok(got - start)
    }

    /// Reports a whole play of `track` in one session; true when it counted.
    pub async fn play(&self, session: &str, track: &str, duration_ms: u64) -> anyhow::Result<bool> {
        let reports = [
            json!({"play_session_id": session, "sequence": 0, "track_id": track,
                   "state": "playing", "position_ms": 0, "played_ms": 0}),
            json!({"play_session_id": session, "sequence": 1, "track_id": track,
                   "state": "ended", "end_reason": "completed",
                   "position_ms": duration_ms, "played_ms": duration_ms}),
        ];
        let mut counted = false;
        for report in reports {
            let response = self
                .send("/v1/playback/report", |url| {
                    self.http.post(url).bearer_auth(&self.token).json(&report)
                })
                .await?;
            let status = response.status();
            anyhow::ensure!(status.is_success(), "playback report: {status}");
            let answer: Value = response.json().await?;
            counted = answer["play_counted"].as_bool().unwrap_or(false);
        }
        Ok(counted)
    }

    /// Adds `track` to the end of a playlist through a gateway, with `key` as its
    /// `Idempotency-Key`: sent again (to the other gateway, when one gave no answer) it
    /// still adds once.
    pub async fn add_to_playlist(
        &self,
        playlist: &str,
        track: &str,
        key: &str,
    ) -> anyhow::Result<()> {
        let path = format!("/v1/playlists/{playlist}/items");
        let body = json!({ "track_id": track });
        let response = self
            .send(&path, |url| {
                let request = self.http.post(url).bearer_auth(&self.token);
                request.header("idempotency-key", key).json(&body)
            })
            .await?;
        let status = response.status();
        anyhow::ensure!(status == 201, "adding to the playlist: {status}");
        Ok(())
    }

    /// Creates a playlist of this listener's through a gateway; its id.
    pub async fn create_playlist(&self, name: &str) -> anyhow::Result<String> {
        let body = json!({ "name": name });
        let response = self
            .send("/v1/playlists", |url| {
                self.http.post(url).bearer_auth(&self.token).json(&body)
            })
            .await?;
        let status = response.status();
        anyhow::ensure!(status == 201, "creating a playlist: {status}");
        let playlist: Value = response.json().await?;
        playlist["id"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("created {playlist}"))
    }

    /// The number of items in a playlist, over gRPC.
    pub async fn playlist_items(&self, playlist: &str) -> anyhow::Result<u32> {
        use tunemesh_proto::playlist::v1::GetPlaylistRequest;
        use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;
        let request = self.signed(GetPlaylistRequest {
            playlist_id: playlist.to_owned(),
            ..GetPlaylistRequest::default()
        })?;
        let answer = PlaylistServiceClient::new(self.channel("playlist"))
            .get_playlist(request)
            .await?
            .into_inner();
        Ok(answer.playlist.map_or(0, |p| p.item_count))
    }

    /// A gRPC request to a service as this listener (signed by [`Listener::channel`]).
    pub fn signed<T>(&self, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(std::time::Duration::from_secs(5));
        let caller = Caller::new(self.user_id.clone(), Vec::new());
        request.extensions_mut().insert(ActAs(caller));
        Ok(request)
    }

    /// The balanced, retrying channel to `service`, signing each call's assertion for it.
    pub fn channel(&self, service: &'static str) -> Asserting<RetryChannel> {
        Asserting::new(
            self.mesh.channel(service).retrying(IDEMPOTENT),
            self.signer.clone(),
            service,
        )
    }
}

/// Copies [`MUSIC`] into a fresh folder to ingest; fails with a hint when it is missing.
pub fn music_folder(root: &Path) -> anyhow::Result<PathBuf> {
    let dir = root.join("music");
    std::fs::create_dir_all(&dir)?;
    for file in MUSIC {
        let source = Path::new(file);
        anyhow::ensure!(source.is_file(), "{file} is missing: run scripts/music.sh");
        let name = source.file_name().context("file name")?;
        std::fs::copy(source, dir.join(name))?;
    }
    Ok(dir)
}
