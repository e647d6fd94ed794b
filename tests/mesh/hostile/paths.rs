//! Hostile: paths. Ids that could climb a path (`..`, `%2e%2e`, `/`, NUL) are refused by the
//! gateway and by every service, and `ScanLibrary` refuses anything outside its roots before
//! it touches the path (the same answer whether the outside path exists or not).

use tunemesh_proto::catalog::v1 as catalog;
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::playlist::v1 as playlist;
use tunemesh_proto::reco::v1 as reco;
use tunemesh_proto::tonic::transport::Channel;
use tunemesh_proto::tonic::{self, Code};
use tunemesh_runtime::identity::{Asserting, Caller};

use super::plays::{grpc_web, sign_up};
use crate::support::RunningMesh;

const INVALID_ARGUMENT: &str = "3";

#[tokio::test]
async fn ids_that_climb_are_refused_over_rest_and_grpc_web() -> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let token = sign_up(&mesh, "climber").await?;

    // REST: the router decodes `%2e%2e` to `..` before the handler sees it. Sent raw, as an
    // attacker would: an HTTP client library resolves `%2e%2e` as a dot segment itself.
    for (method, path) in [
        ("GET", "/v1/tracks/%2e%2e"),
        ("GET", "/v1/tracks/..%2f..%2fetc"),
        ("GET", "/v1/albums/%2E%2E"),
        ("GET", "/v1/artists/.hidden"),
        ("GET", "/v1/playlists/%2e%2e"),
        ("GET", "/v1/tracks/%2e%2e/similar"),
        ("GET", "/v1/radio/%2e%2e"),
        ("GET", "/v1/tracks/a%00b"),
        ("PUT", "/v1/me/liked/%2e%2e"),
    ] {
        let status = raw_request(&mesh, method, path, &token).await?;
        assert_eq!(status, 400, "{method} {path}");
    }

    // gRPC-web goes through the gateway's proxy untouched: the services refuse on their own.
    for id in ["..", "../etc/passwd", "a/b", "%2e%2e", ".x"] {
        let get_track = catalog::GetTrackRequest {
            track_id: id.to_owned(),
        };
        let path = "/tunemesh.catalog.v1.CatalogService/GetTrack";
        let (_, status) = grpc_web(&mesh, path, &token, &get_track).await?;
        assert_eq!(status, INVALID_ARGUMENT, "GetTrack {id:?}");

        let get_playlist = playlist::GetPlaylistRequest {
            playlist_id: id.to_owned(),
            ..playlist::GetPlaylistRequest::default()
        };
        let path = "/tunemesh.playlist.v1.PlaylistService/GetPlaylist";
        let (_, status) = grpc_web(&mesh, path, &token, &get_playlist).await?;
        assert_eq!(status, INVALID_ARGUMENT, "GetPlaylist {id:?}");

        let similar = reco::SimilarTracksRequest {
            track_id: id.to_owned(),
            ..reco::SimilarTracksRequest::default()
        };
        let path = "/tunemesh.reco.v1.RecommendationService/SimilarTracks";
        let (_, status) = grpc_web(&mesh, path, &token, &similar).await?;
        assert_eq!(status, INVALID_ARGUMENT, "SimilarTracks {id:?}");
    }
    mesh.stop().await
}

/// The status of `method path` written byte for byte on a fresh connection to the gateway.
async fn raw_request(
    mesh: &RunningMesh,
    method: &str,
    path: &str,
    token: &str,
) -> anyhow::Result<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(mesh.gateway).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: tunemesh\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let head = String::from_utf8_lossy(&answer);
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    Ok(status.parse()?)
}

/// `ScanLibrary` on `path` as an admin; the error code, or OK.
async fn scan(mesh: &RunningMesh, channel: &Channel, path: &str) -> anyhow::Result<Code> {
    let admin = Caller::new("hostile-admin".to_owned(), vec!["admin".to_owned()]);
    let request = tonic::Request::new(catalog::ScanLibraryRequest {
        path: path.to_owned(),
    });
    let signed = Asserting::acting_as(channel.clone(), mesh.gateway_signer(), "player", admin);
    Ok(
        match IngestServiceClient::new(signed).scan_library(request).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        },
    )
}

#[tokio::test]
async fn scan_library_refuses_outside_its_root_before_touching_the_path() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let outside = tempfile::tempdir()?;
    std::fs::create_dir(root.path().join("albums"))?;
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape"))?;
    let scan_root = root.path().to_owned();
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.scan_roots = vec![scan_root];
    })
    .await?;
    mesh.wait_ready().await?;
    let channel = mesh.channel_as("gateway", "player");
    let root = root.path().display().to_string();
    let outside = outside.path().display().to_string();

    // Outside the root: one answer, whether the path exists or not (no existence oracle).
    assert_eq!(
        scan(&mesh, &channel, &outside).await?,
        Code::PermissionDenied
    );
    let missing = format!("{outside}/not-there");
    assert_eq!(
        scan(&mesh, &channel, &missing).await?,
        Code::PermissionDenied
    );
    assert_eq!(
        scan(&mesh, &channel, "/nonexistent-hostile-dir").await?,
        Code::PermissionDenied
    );
    // `..` is refused on sight, whatever it would resolve to.
    for path in [
        format!("{root}/../not-there"),
        format!("{root}/albums/../../etc"),
        format!("{root}/albums/.."),
    ] {
        assert_eq!(
            scan(&mesh, &channel, &path).await?,
            Code::InvalidArgument,
            "{path}"
        );
    }
    // A link inside the root that leads out of it.
    let escape = format!("{root}/escape");
    assert_eq!(
        scan(&mesh, &channel, &escape).await?,
        Code::PermissionDenied
    );
    // Inside the root: allowed.
    assert_eq!(
        scan(&mesh, &channel, &format!("{root}/albums")).await?,
        Code::Ok
    );
    mesh.stop().await
}
