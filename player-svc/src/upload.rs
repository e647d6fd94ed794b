//! The client side of `tunemesh ingest DIR`: uploads every file under a folder to a running
//! deployment's `IngestService`, with the size and SHA-256 the server checks.

use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use sha2::{Digest, Sha256};
use tunemesh_proto::catalog::v1::ingest_service_client::IngestServiceClient;
use tunemesh_proto::catalog::v1::upload_track_request::Payload;
use tunemesh_proto::catalog::v1::{IngestResult, UploadTrackHeader, UploadTrackRequest};
use tunemesh_proto::tonic;
use tunemesh_proto::tonic::client::GrpcService;
use tunemesh_proto::tonic::codegen::{Body, Bytes, StdError};
use tunemesh_proto::tonic::transport::{Channel, Endpoint};
use tunemesh_runtime::connect::MeshTls;

/// Bytes per upload message (the contract allows 1 MiB).
const CHUNK: usize = 1 << 20;
/// Uploads in flight at once: the server transcodes them in parallel on its own pool.
const IN_FLIGHT: usize = 2;

/// The files under `dir`, in path order.
pub async fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir.to_owned();
    Ok(tokio::task::spawn_blocking(move || crate::library::walk(&dir)).await??)
}

/// A channel to the player at `server`, over mutual TLS as `tls`'s service (the ingest job's
/// own identity).
pub async fn channel(server: &str, tls: &MeshTls) -> anyhow::Result<Channel> {
    let connector = tunemesh_runtime::connect::connector(tls, crate::SERVICE_NAME)?;
    Ok(Endpoint::from_shared(server.to_owned())?
        .connect_with_connector(connector)
        .await?)
}

/// Uploads `files` through `channel` (see [`channel`]) as the ingest job (service `ingest`,
/// named by its mesh certificate: no user assertion, no shared key), calling `done` with each
/// file's result (or the error that stopped it) as it finishes.
pub async fn upload_files(
    channel: Channel,
    files: Vec<PathBuf>,
    done: impl FnMut(&Path, anyhow::Result<IngestResult>),
) -> anyhow::Result<()> {
    upload_with(IngestServiceClient::new(channel), files, done).await
}

/// [`upload_files`] through `client` (e.g. one a test signs as the gateway's admin).
pub async fn upload_with<C>(
    client: IngestServiceClient<C>,
    files: Vec<PathBuf>,
    mut done: impl FnMut(&Path, anyhow::Result<IngestResult>),
) -> anyhow::Result<()>
where
    C: GrpcService<tonic::body::Body> + Clone,
    C::Error: Into<StdError>,
    C::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <C::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut uploads = futures::stream::iter(files)
        .map(|path| {
            let client = client.clone();
            async move {
                let result = upload_one(client, &path).await;
                (path, result)
            }
        })
        .buffered(IN_FLIGHT);
    while let Some((path, result)) = uploads.next().await {
        done(&path, result);
    }
    Ok(())
}

async fn upload_one<C>(
    mut client: IngestServiceClient<C>,
    path: &Path,
) -> anyhow::Result<IngestResult>
where
    C: GrpcService<tonic::body::Body>,
    C::Error: Into<StdError>,
    C::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <C::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    // One buffer: hashing and every chunk share it (clones and slices, no copies).
    let bytes = bytes::Bytes::from(tokio::fs::read(path).await?);
    let digest = {
        let bytes = bytes.clone();
        tokio::task::spawn_blocking(move || Sha256::digest(&bytes)).await?
    };
    let sha256 = hex::encode(digest);
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload")
        .to_owned();
    let header = UploadTrackRequest {
        payload: Some(Payload::Header(UploadTrackHeader {
            file_name,
            size_bytes: bytes.len() as u64,
            sha256,
        })),
    };
    let chunks: Vec<UploadTrackRequest> = (0..bytes.len())
        .step_by(CHUNK)
        .map(|start| UploadTrackRequest {
            payload: Some(Payload::Chunk(
                bytes.slice(start..bytes.len().min(start + CHUNK)),
            )),
        })
        .collect();
    let request = tunemesh_proto::tonic::Request::new(futures::stream::iter(
        std::iter::once(header).chain(chunks),
    ));
    let response = client.upload_track(request).await?.into_inner();
    response
        .result
        .ok_or_else(|| anyhow::anyhow!("the server sent no result"))
}
