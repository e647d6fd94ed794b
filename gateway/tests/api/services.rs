//! What stands behind the gateway besides the fake player: the real playlist-svc (embedded
//! storage in a temporary folder, embedded event bus) and small stand-ins for search-svc and
//! reco-svc that verify the caller identity and answer canned results.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tunemesh_discovery::connect::{ConnectCa, EmbeddedCa};
use tunemesh_discovery::{EmbeddedRegistry, Mesh, Registry};
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_proto::reco::v1 as reco;
use tunemesh_proto::reco::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use tunemesh_proto::search::v1 as search;
use tunemesh_proto::search::v1::search_service_server::{SearchService, SearchServiceServer};
use tunemesh_runtime::identity::MeshIdentity;
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::mesh::{leaf, serve_as};

use crate::upstream::sample_track;

/// The running services; dropping it stops them.
#[derive(Debug)]
pub struct Services {
    /// The last search request the stand-in saw.
    pub last_search: Arc<Mutex<Option<search::SearchRequest>>>,
    /// The mesh the services are found in (a test calls playlist-svc as a service would).
    pub mesh: Mesh,
    /// The mesh's CA, for calling as another service.
    ca: EmbeddedCa,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Services {
    /// The mesh, calling as `service` (with a leaf of the mesh's CA for it).
    pub fn mesh_as(&self, service: &str) -> anyhow::Result<Mesh> {
        Ok(self.mesh.as_service(leaf(&self.ca, service)?))
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[derive(Clone)]
struct Fakes {
    identity: MeshIdentity,
    last_search: Arc<Mutex<Option<search::SearchRequest>>>,
}

/// `Search` answers one track and one playlist without a cover of its own (its first tracks
/// are the fake player's `cover-<digit>` tracks) per query; the query `down` → UNAVAILABLE.
#[tonic::async_trait]
impl SearchService for Fakes {
    async fn search(
        &self,
        request: Request<search::SearchRequest>,
    ) -> Result<Response<search::SearchResponse>, Status> {
        self.identity.verifier("search").caller(&request)?;
        let request = request.into_inner();
        if request.query == "down" {
            return Err(Status::unavailable("index shard 3 at 10.0.0.9 down"));
        }
        *self
            .last_search
            .lock()
            .map_err(|_| Status::internal("poisoned"))? = Some(request.clone());
        if request.query.starts_with("lib ") {
            return Ok(Response::new(crate::fake_library::search(&request)));
        }
        let track = sample_track("t1");
        Ok(Response::new(search::SearchResponse {
            results: vec![
                search::SearchResult {
                    item: Some(search::search_result::Item::Track(search::TrackSummary {
                        id: track.id,
                        title: track.title,
                        artists: track.artists,
                        album: track.album,
                        duration: track.duration,
                        cover: None,
                    })),
                    score: 1.5,
                    highlights: vec![search::Highlight {
                        field: search::HighlightField::TrackTitle.into(),
                        text: "Ascension".into(),
                        ranges: vec![search::TextRange { start: 0, end: 3 }],
                    }],
                },
                search::SearchResult {
                    item: Some(search::search_result::Item::Playlist(
                        search::PlaylistSummary {
                            id: "p1".into(),
                            name: "Road trip".into(),
                            description: "songs for the A7".into(),
                            owner_id: "someone".into(),
                            follower_count: 12,
                            item_count: 40,
                            cover: None,
                            first_track_ids: ["cover-1", "cover-2", "cover-3", "cover-4"]
                                .map(String::from)
                                .into(),
                        },
                    )),
                    score: 1.0,
                    highlights: Vec::new(),
                },
            ],
            total_hits_estimate: 2,
            next_page_token: String::new(),
        }))
    }
}

fn recommendation(track_id: &str, kind: reco::RecommendationReasonKind) -> reco::Recommendation {
    reco::Recommendation {
        track_id: track_id.to_owned(),
        score: 0.5,
        reason: Some(reco::RecommendationReason {
            kind: kind.into(),
            related_id: String::new(),
            text: String::new(),
        }),
    }
}

/// Canned recommendations; the seed or track `missing` → NOT_FOUND, `new` → UNIMPLEMENTED
/// (what reco-svc answered before it was built).
#[tonic::async_trait]
impl RecommendationService for Fakes {
    async fn recommend(
        &self,
        request: Request<reco::RecommendRequest>,
    ) -> Result<Response<reco::RecommendResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        let limit = request.into_inner().limit.max(1);
        Ok(Response::new(reco::RecommendResponse {
            recommendations: (0..limit.min(3))
                .map(|i| recommendation(&format!("t{i}"), reco::RecommendationReasonKind::Popular))
                .collect(),
        }))
    }

    async fn radio(
        &self,
        request: Request<reco::RadioRequest>,
    ) -> Result<Response<reco::RadioResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        let request = request.into_inner();
        seed_status(&request.seed_track_id)?;
        Ok(Response::new(reco::RadioResponse {
            tracks: vec![recommendation(
                "t9",
                reco::RecommendationReasonKind::RadioSeed,
            )],
            next_page_token: "r2".into(),
        }))
    }

    async fn similar_tracks(
        &self,
        request: Request<reco::SimilarTracksRequest>,
    ) -> Result<Response<reco::SimilarTracksResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        seed_status(&request.into_inner().track_id)?;
        Ok(Response::new(reco::SimilarTracksResponse {
            tracks: vec![recommendation(
                "t8",
                reco::RecommendationReasonKind::ListenersAlsoPlayed,
            )],
        }))
    }

    /// A canned history: a covered track, one the catalogue lost, and another; their albums.
    async fn recently_played(
        &self,
        request: Request<reco::RecentlyPlayedRequest>,
    ) -> Result<Response<reco::RecentlyPlayedResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        let played = |id: &str, minutes| reco::PlayedTrack {
            track_id: id.to_owned(),
            last_played_at: played_at(minutes),
        };
        Ok(Response::new(reco::RecentlyPlayedResponse {
            tracks: vec![
                played("cover-a1", 2),
                played("missing-1", 1),
                played("t2", 0),
            ],
            albums: vec![
                played_album("cover-b", Some(2), 0.0),
                played_album("missing-al", Some(1), 0.0),
            ],
        }))
    }

    async fn most_played_albums(
        &self,
        request: Request<reco::MostPlayedAlbumsRequest>,
    ) -> Result<Response<reco::MostPlayedAlbumsResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        Ok(Response::new(reco::MostPlayedAlbumsResponse {
            albums: vec![
                played_album("cover-b", Some(2), 2.5),
                played_album("al-old", None, 1.25),
            ],
        }))
    }

    async fn top_tracks(
        &self,
        request: Request<reco::TopTracksRequest>,
    ) -> Result<Response<reco::TopTracksResponse>, Status> {
        self.identity.verifier("reco").caller(&request)?;
        let top = |id: &str, plays| reco::TopTrack {
            track_id: id.to_owned(),
            plays,
        };
        Ok(Response::new(reco::TopTracksResponse {
            tracks: vec![top("cover-c", 7), top("missing-2", 5), top("t6", 3)],
        }))
    }
}

/// A time of the canned history: 2023-11-14T22:13:20Z plus `minutes`.
fn played_at(minutes: i64) -> Option<tunemesh_proto::prost_types::Timestamp> {
    Some(tunemesh_proto::prost_types::Timestamp {
        seconds: 1_700_000_000 + 60 * minutes,
        nanos: 0,
    })
}

fn played_album(id: &str, minutes: Option<i64>, plays: f64) -> reco::PlayedAlbum {
    reco::PlayedAlbum {
        album_id: id.to_owned(),
        last_played_at: minutes.and_then(played_at),
        plays,
    }
}

fn seed_status(track_id: &str) -> Result<(), Status> {
    match track_id {
        "missing" => Err(Status::not_found("track missing not found")),
        "new" => Err(Status::unimplemented("not implemented")),
        _ => Ok(()),
    }
}

/// Starts the real playlist-svc and the stand-ins, registered in `registry`; `mesh` is how
/// playlist-svc reaches the (fake) catalogue.
pub async fn start(
    registry: &EmbeddedRegistry,
    mesh: &Mesh,
    identity: MeshIdentity,
    ca: &EmbeddedCa,
) -> anyhow::Result<Services> {
    let shutdown = CancellationToken::new();
    let dir = tempfile::tempdir()?;
    let bus = EmbeddedBus::open(&EmbeddedSettings::new(dir.path().join("events.sqlite"))).await?;
    let ctx = ServiceContext {
        grpc: tunemesh_testkit::grpc_settings(),
        storage: Storage::Embedded {
            data_dir: dir.path().to_owned(),
        },
        identity: identity.clone(),
        mesh: mesh.clone(),
        connect: Some(ConnectCa::embedded(ca.clone())),
        tls: None,
    };
    let ctx = ctx.for_service(tunemesh_playlist::SERVICE_NAME).await?;
    let playlist = tunemesh_playlist::build(&Default::default(), &ctx, Arc::new(bus)).await?;
    let registry_dyn: Arc<dyn Registry> = Arc::new(registry.clone());
    tokio::spawn(playlist.run_until(Some(registry_dyn), shutdown.clone()));

    let fakes = Fakes {
        identity,
        last_search: Arc::default(),
    };
    for (name, server) in [
        (
            "search",
            tonic::service::Routes::new(SearchServiceServer::new(fakes.clone())),
        ),
        (
            "reco",
            tonic::service::Routes::new(RecommendationServiceServer::new(fakes.clone())),
        ),
    ] {
        serve_as(registry, name, ca, server, shutdown.clone()).await?;
    }
    Ok(Services {
        last_search: fakes.last_search,
        mesh: mesh.clone(),
        ca: ca.clone(),
        shutdown,
        _dir: dir,
    })
}
