//! The audio route reading player-svc's blob store itself (`gateway.blobs`): the same bytes
//! and headers as through `ReadAudioRange`, no call per range, and a track whose file is gone
//! looked up again.

use std::path::Path;

use reqwest::Method;
use tunemesh_gateway::settings::GatewaySettings;
use tunemesh_runtime::blobs::BlobSettings;

use crate::support::{self, TestGateway, error_code, header, status_and_json, text};
use crate::upstream::{AUDIO_SIZE, audio_bytes, blob_key};

const PATH: &str = "/v1/tracks/t1/audio";
const NORMAL: &str = "AUDIO_QUALITY_NORMAL";

/// Writes `bytes` where the manifest says `t1` at `version` is.
fn put(root: &Path, version: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let path = root.join(blob_key("t1", version, NORMAL));
    std::fs::create_dir_all(path.parent().expect("a file in a directory"))?;
    Ok(std::fs::write(path, bytes)?)
}

/// A gateway reading blobs from `root`, with no edge cache (every range reads the store).
async fn gateway_on(root: &Path) -> anyhow::Result<(TestGateway, String)> {
    let gateway = support::spawn_with(GatewaySettings {
        audio_cache_bytes: 0,
        blobs: BlobSettings {
            dir: Some(root.to_owned()),
            s3: None,
        },
        ..support::settings()
    })
    .await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    Ok((gateway, token))
}

async fn fetch(
    gateway: &TestGateway,
    token: &str,
    range: Option<&str>,
) -> anyhow::Result<reqwest::Response> {
    let mut request = gateway.request(Method::GET, PATH).bearer_auth(token);
    if let Some(range) = range {
        request = request.header("range", range);
    }
    Ok(request.send().await?)
}

fn ranges_read_from_player(gateway: &TestGateway) -> usize {
    gateway.upstream.seen.lock().map(|s| s.ranges).unwrap_or(0)
}

#[tokio::test]
async fn ranges_are_read_from_the_blob_store_with_the_same_bytes_and_no_call() -> anyhow::Result<()>
{
    let root = tempfile::tempdir()?;
    put(root.path(), "v1", &audio_bytes(0, AUDIO_SIZE))?;
    let (gateway, token) = gateway_on(root.path()).await?;
    let last = AUDIO_SIZE - 1;
    let cases = [
        (100, 199),
        // Crosses the 64 KiB blocks of the store reads.
        (65_000, 140_000),
        (199_990, last),
        (0, last),
    ];
    for (start, end) in cases {
        let range = format!("bytes={start}-{end}");
        let response = fetch(&gateway, &token, Some(&range)).await?;
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{end}/{AUDIO_SIZE}")
        );
        let body = response.bytes().await?;
        assert_eq!(body.to_vec(), audio_bytes(start, end + 1), "{range}");
    }
    let whole = fetch(&gateway, &token, None).await?;
    assert_eq!(whole.status(), 200);
    assert_eq!(header(&whole, "content-length"), AUDIO_SIZE.to_string());
    assert_eq!(whole.bytes().await?.to_vec(), audio_bytes(0, AUDIO_SIZE));
    assert_eq!(ranges_read_from_player(&gateway), 0);
    Ok(())
}

#[tokio::test]
async fn a_track_whose_file_is_gone_is_looked_up_again_and_served_at_its_new_version()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    put(root.path(), "v1", &audio_bytes(0, AUDIO_SIZE))?;
    let (gateway, token) = gateway_on(root.path()).await?;
    let old = fetch(&gateway, &token, Some("bytes=0-9")).await?;
    assert_eq!(old.status(), 206);
    let old = header(&old, "etag");

    // Re-ingested: the manifest names a new file and the old one is removed.
    put(root.path(), "v2", &audio_bytes(0, AUDIO_SIZE))?;
    std::fs::remove_file(root.path().join(blob_key("t1", "v1", NORMAL)))?;
    if let Ok(mut seen) = gateway.upstream.seen.lock() {
        seen.audio_version = "v2".to_owned();
    }
    let response = fetch(&gateway, &token, Some("bytes=10-19")).await?;
    assert_eq!(response.status(), 206);
    assert_ne!(header(&response, "etag"), old);
    assert_eq!(response.bytes().await?.to_vec(), audio_bytes(10, 20));
    let manifests = gateway.upstream.seen.lock().map(|s| s.manifests).ok();
    assert_eq!(manifests, Some(2));
    assert_eq!(ranges_read_from_player(&gateway), 0);
    Ok(())
}

#[tokio::test]
async fn a_file_shorter_than_its_manifest_says_is_503_never_other_bytes() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    put(root.path(), "v1", &audio_bytes(0, 1000))?;
    let (gateway, token) = gateway_on(root.path()).await?;
    let (status, body) =
        status_and_json(fetch(&gateway, &token, Some("bytes=500-1499")).await?).await?;
    assert_eq!(status, 503, "{body}");
    error_code(&body, "unavailable");
    // A range the file does hold is still served.
    let response = fetch(&gateway, &token, Some("bytes=0-99")).await?;
    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await?.to_vec(), audio_bytes(0, 100));
    Ok(())
}
