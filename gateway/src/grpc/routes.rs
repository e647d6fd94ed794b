//! Which gRPC methods the edge exposes, and which service stands behind each.
//!
//! The list is explicit: an RPC added to a contract is not reachable from the outside until
//! someone adds it here (a test fails until every method of an exposed service is either
//! listed or deliberately left out). Left out on purpose: all of `IngestService` (admin
//! uploads and scans), `PlayerService.ReadAudioRange`, the gateway's own back end for
//! HTTP Range requests (apps stream with `StreamAudio`, browsers use `/v1/tracks/{id}/audio`),
//! `CatalogService.GetImage`, the back end of `/v1/images/{id}`, and
//! `PlaylistService.PutGeneratedPlaylist`, which only reco-svc calls.

use std::collections::HashMap;

use crate::settings::GatewaySettings;

/// Which upstream serves a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    Player,
    Playlist,
    Search,
    Reco,
}

impl Upstream {
    /// The service's name, as assertions name their audience.
    fn audience(self) -> &'static str {
        use crate::upstream::audience;
        match self {
            Self::Player => audience::PLAYER,
            Self::Playlist => audience::PLAYLIST,
            Self::Search => audience::SEARCH,
            Self::Reco => audience::RECO,
        }
    }
}

/// Every exposed service with its exposed methods.
pub(crate) const EXPOSED: &[(&str, &[&str])] = &[
    (
        "tunemesh.catalog.v1.CatalogService",
        &[
            "GetTrack",
            "BatchGetTracks",
            "ListTracks",
            "GetAlbum",
            "BatchGetAlbums",
            "ListAlbums",
            "GetArtist",
            "BatchGetArtists",
            "ListArtists",
            "GetLibraryStatus",
            "SampleTracks",
            "SampleAlbums",
            "ListGenres",
        ],
    ),
    (
        "tunemesh.player.v1.PlayerService",
        &[
            "StreamAudio",
            "GetAudioManifest",
            "GetAudioSegment",
            "ReportPlayback",
        ],
    ),
    (
        "tunemesh.playlist.v1.PlaylistService",
        &[
            "CreatePlaylist",
            "GetPlaylist",
            "ListMyPlaylists",
            "UpdatePlaylistDetails",
            "DeletePlaylist",
            "AddPlaylistItems",
            "RemovePlaylistItems",
            "MovePlaylistItems",
            "AddPlaylistCollaborator",
            "RemovePlaylistCollaborator",
            "FollowPlaylist",
            "UnfollowPlaylist",
            "LikeTracks",
            "UnlikeTracks",
            "ListLikedTracks",
            "CheckLikedTracks",
            "LikeAlbums",
            "UnlikeAlbums",
            "ListLikedAlbums",
            "CheckLikedAlbums",
            "LikeArtists",
            "UnlikeArtists",
            "ListLikedArtists",
            "CheckLikedArtists",
            "SavePlayQueue",
            "GetPlayQueue",
        ],
    ),
    ("tunemesh.search.v1.SearchService", &["Search"]),
    (
        "tunemesh.reco.v1.RecommendationService",
        &[
            "Recommend",
            "Radio",
            "SimilarTracks",
            "RecentlyPlayed",
            "MostPlayedAlbums",
            "TopTracks",
        ],
    ),
];

/// The exposed methods whose response is a stream (server streaming): each holds one of the
/// caller's stream permits and goes over the service's streaming connection.
pub(crate) const STREAMING: &[&str] = &["/tunemesh.player.v1.PlayerService/StreamAudio"];

/// Methods of exposed services that stay internal, with the reason: the decision is written
/// down here and the test below checks every method of an exposed service is either listed
/// or here.
#[cfg(test)]
const INTERNAL: &[(&str, &str)] = &[
    (
        "/tunemesh.player.v1.PlayerService/ReadAudioRange",
        "the back end of the HTTP audio route; apps use StreamAudio",
    ),
    (
        "/tunemesh.catalog.v1.CatalogService/GetImage",
        "the back end of the HTTP image route, which resizes and caches",
    ),
    (
        "/tunemesh.playlist.v1.PlaylistService/PutGeneratedPlaylist",
        "service to service: reco-svc's mixer writes generated playlists; users only read them",
    ),
];

fn upstream_of(service: &str) -> Option<Upstream> {
    match service.split('.').nth(1)? {
        "catalog" | "player" => Some(Upstream::Player),
        "playlist" => Some(Upstream::Playlist),
        "search" => Some(Upstream::Search),
        "reco" => Some(Upstream::Reco),
        _ => None,
    }
}

/// The exposed paths (`/package.Service/Method`) and the discovery name and audience of the
/// service serving each.
#[derive(Debug, Clone)]
pub struct GrpcRoutes {
    paths: HashMap<String, (String, &'static str)>,
}

impl GrpcRoutes {
    /// Routes to the upstreams named in `settings`.
    pub fn new(settings: &GatewaySettings) -> Self {
        let name = |upstream| match upstream {
            Upstream::Player => settings.player_upstream.clone(),
            Upstream::Playlist => settings.playlist_upstream.clone(),
            Upstream::Search => settings.search_upstream.clone(),
            Upstream::Reco => settings.reco_upstream.clone(),
        };
        let paths = EXPOSED
            .iter()
            .flat_map(|(service, methods)| {
                let upstream = upstream_of(service);
                let audience = upstream.map_or("", Upstream::audience);
                let upstream = upstream.map(name).unwrap_or_default();
                methods.iter().map(move |method| {
                    (format!("/{service}/{method}"), (upstream.clone(), audience))
                })
            })
            .collect();
        Self { paths }
    }

    /// Whether `path` is a method whose response streams.
    pub fn streams(path: &str) -> bool {
        STREAMING.contains(&path)
    }

    /// The discovery name of the service behind `path`, if the path is exposed.
    pub fn upstream(&self, path: &str) -> Option<&str> {
        self.route(path).map(|(upstream, _)| upstream)
    }

    /// The discovery name and the audience (the service's name in assertions) of the service
    /// behind `path`, if the path is exposed.
    pub fn route(&self, path: &str) -> Option<(&str, &'static str)> {
        self.paths
            .get(path)
            .map(|(upstream, audience)| (upstream.as_str(), *audience))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tunemesh_proto::prost::Message as _;
    use tunemesh_proto::prost_types::FileDescriptorSet;

    use super::*;

    /// Every method of every exposed service, as the contracts define them.
    fn contract_methods() -> BTreeSet<String> {
        let set = FileDescriptorSet::decode(tunemesh_proto::FILE_DESCRIPTOR_SET).expect("set");
        let exposed: BTreeSet<&str> = EXPOSED.iter().map(|(s, _)| *s).collect();
        set.file
            .iter()
            .flat_map(|file| {
                let package = file.package().to_owned();
                file.service.iter().flat_map(move |service| {
                    let name = format!("{package}.{}", service.name());
                    service
                        .method
                        .iter()
                        .map(move |m| (name.clone(), m.name().to_owned()))
                })
            })
            .filter(|(service, _)| exposed.contains(service.as_str()))
            .map(|(service, method)| format!("/{service}/{method}"))
            .collect()
    }

    #[test]
    fn every_method_of_an_exposed_service_is_listed_or_kept_internal() {
        let routes = GrpcRoutes::new(&GatewaySettings::default());
        let listed: BTreeSet<String> = routes.paths.keys().cloned().collect();
        let internal: BTreeSet<String> = INTERNAL.iter().map(|(p, _)| (*p).to_owned()).collect();
        let contract = contract_methods();
        assert!(listed.is_disjoint(&internal));
        let decided: BTreeSet<String> = listed.union(&internal).cloned().collect();
        assert_eq!(
            decided, contract,
            "a method is listed but absent, or undecided"
        );
    }

    #[test]
    fn every_server_streaming_method_exposed_is_marked_streaming() {
        let set = FileDescriptorSet::decode(tunemesh_proto::FILE_DESCRIPTOR_SET).expect("set");
        let routes = GrpcRoutes::new(&GatewaySettings::default());
        let streaming: BTreeSet<String> = set
            .file
            .iter()
            .flat_map(|file| {
                file.service.iter().flat_map(move |service| {
                    let name = format!("{}.{}", file.package(), service.name());
                    service
                        .method
                        .iter()
                        .filter(|m| m.server_streaming())
                        .map(move |m| format!("/{name}/{}", m.name()))
                })
            })
            .filter(|path| routes.upstream(path).is_some())
            .collect();
        let marked: BTreeSet<String> = STREAMING.iter().map(|p| (*p).to_owned()).collect();
        assert_eq!(streaming, marked);
    }

    #[test]
    fn admin_and_internal_paths_are_not_routed() {
        let routes = GrpcRoutes::new(&GatewaySettings::default());
        assert_eq!(
            routes.upstream("/tunemesh.playlist.v1.PlaylistService/GetPlaylist"),
            Some("playlist")
        );
        assert_eq!(
            routes.upstream("/tunemesh.player.v1.PlayerService/StreamAudio"),
            Some("player")
        );
        for path in [
            "/tunemesh.catalog.v1.IngestService/UploadTrack",
            "/tunemesh.player.v1.PlayerService/ReadAudioRange",
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "/tunemesh.catalog.v1.CatalogService/GetTrack/",
            "/tunemesh.catalog.v1.CatalogService",
        ] {
            assert_eq!(routes.upstream(path), None, "{path}");
        }
    }
}
