//! `GET /v1/tracks/{id}/audio`: whole files, byte ranges, validators and their failures.

use reqwest::Method;
use tunemesh_gateway::settings::GatewaySettings;

use crate::support::{self, TestGateway, error_code, header, status_and_json, text};
use crate::upstream::{AUDIO_SIZE, audio_bytes};

const PATH: &str = "/v1/tracks/t1/audio";

async fn fetch(
    gateway: &TestGateway,
    token: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let mut request = gateway.request(Method::GET, path).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(request.send().await?)
}

#[tokio::test]
async fn the_whole_file_comes_with_length_validator_and_range_support() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let response = fetch(&gateway, &token, PATH, &[]).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "accept-ranges"), "bytes");
    assert_eq!(header(&response, "content-type"), "audio/ogg; codecs=opus");
    assert_eq!(header(&response, "content-length"), AUDIO_SIZE.to_string());
    assert!(header(&response, "etag").starts_with('"'));
    assert_eq!(response.bytes().await?.to_vec(), audio_bytes(0, AUDIO_SIZE));
    Ok(())
}

#[tokio::test]
async fn byte_ranges_answer_206_with_exactly_those_bytes() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let last = AUDIO_SIZE - 1;
    let cases = [
        ("bytes=100-199".to_owned(), 100, 199),
        // Crosses the 64 KiB chunks of the service.
        ("bytes=65000-140000".to_owned(), 65_000, 140_000),
        ("bytes=199990-".to_owned(), 199_990, last),
        ("bytes=-500".to_owned(), AUDIO_SIZE - 500, last),
        ("bytes=199000-999999".to_owned(), 199_000, last),
    ];
    for (range, start, end) in cases {
        let response = fetch(&gateway, &token, PATH, &[("range", &range)]).await?;
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{end}/{AUDIO_SIZE}")
        );
        assert_eq!(
            header(&response, "content-length"),
            (end - start + 1).to_string()
        );
        assert_eq!(
            response.bytes().await?.to_vec(),
            audio_bytes(start, end + 1),
            "{range}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_range_past_the_end_is_416_naming_the_size() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    for range in ["bytes=200000-", "bytes=300000-300010", "bytes=-0"] {
        let response = fetch(&gateway, &token, PATH, &[("range", range)]).await?;
        assert_eq!(response.status(), 416, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes */{AUDIO_SIZE}")
        );
    }
    Ok(())
}

#[tokio::test]
async fn multiple_or_malformed_ranges_get_the_whole_file() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    for range in ["bytes=0-10,20-30", "bytes=50-10", "pages=1-2"] {
        let response = fetch(&gateway, &token, PATH, &[("range", range)]).await?;
        assert_eq!(response.status(), 200, "{range}");
        assert_eq!(response.bytes().await?.len() as u64, AUDIO_SIZE);
    }
    Ok(())
}

#[tokio::test]
async fn if_range_serves_the_range_only_for_the_current_validator() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let etag = header(&fetch(&gateway, &token, PATH, &[]).await?, "etag");
    let matching = fetch(
        &gateway,
        &token,
        PATH,
        &[("range", "bytes=0-9"), ("if-range", &etag)],
    )
    .await?;
    assert_eq!(matching.status(), 206);
    for stale in [
        "\"t1.OLD.1\"",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        &format!("W/{etag}"),
    ] {
        let response = fetch(
            &gateway,
            &token,
            PATH,
            &[("range", "bytes=0-9"), ("if-range", stale)],
        )
        .await?;
        assert_eq!(response.status(), 200, "{stale}");
    }
    Ok(())
}

#[tokio::test]
async fn a_track_is_looked_up_once_and_a_reingested_one_gets_a_new_validator() -> anyhow::Result<()>
{
    // Without the edge cache, every range goes to player-svc and meets the new version.
    let gateway = support::spawn_with(GatewaySettings {
        audio_cache_bytes: 0,
        ..support::settings()
    })
    .await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let manifests = || {
        gateway
            .upstream
            .seen
            .lock()
            .map(|s| s.manifests)
            .unwrap_or(0)
    };
    let old = header(&fetch(&gateway, &token, PATH, &[]).await?, "etag");
    let range = fetch(&gateway, &token, PATH, &[("range", "bytes=0-9")]).await?;
    assert_eq!(range.status(), 206);
    // One manifest for both: a byte range is one call to player-svc.
    assert_eq!(manifests(), 1);

    // Re-ingested: same size, other bytes. The kept facts are outdated; the first chunk
    // tells, and the old validator no longer matches.
    if let Ok(mut seen) = gateway.upstream.seen.lock() {
        seen.audio_version = "v2".to_owned();
    }
    let response = fetch(
        &gateway,
        &token,
        PATH,
        &[("range", "bytes=0-9"), ("if-range", &old)],
    )
    .await?;
    assert_eq!(response.status(), 200);
    let new = header(&response, "etag");
    assert_ne!(new, old);
    assert_eq!(response.bytes().await?.len() as u64, AUDIO_SIZE);
    assert_eq!(manifests(), 2);
    let matching = fetch(
        &gateway,
        &token,
        PATH,
        &[("range", "bytes=0-9"), ("if-range", &new)],
    )
    .await?;
    assert_eq!(matching.status(), 206);
    assert_eq!(manifests(), 2);
    Ok(())
}

#[tokio::test]
async fn ranges_read_once_are_answered_from_the_edge_cache_with_the_same_bytes()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let ranges = || gateway.upstream.seen.lock().map(|s| s.ranges).unwrap_or(0);
    let last = AUDIO_SIZE - 1;
    let cases = [(100, 199), (65_000, 140_000), (199_990, last), (0, last)];
    for round in 0..2 {
        for (start, end) in cases {
            let range = format!("bytes={start}-{end}");
            let response = fetch(&gateway, &token, PATH, &[("range", &range)]).await?;
            assert_eq!(response.status(), 206, "{range}");
            assert_eq!(
                header(&response, "content-length"),
                (end - start + 1).to_string()
            );
            let body = response.bytes().await?;
            assert_eq!(
                body.to_vec(),
                audio_bytes(start, end + 1),
                "{range}, round {round}"
            );
        }
        // The first round read the blocks of the first three ranges, which cover the whole
        // file, so the fourth was a hit; the second round asked player-svc for nothing.
        assert_eq!(ranges(), 3, "round {round}");
    }
    Ok(())
}

#[tokio::test]
async fn qualities_and_tracks_that_do_not_exist_are_404_and_bad_ones_400() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let high = fetch(&gateway, &token, "/v1/tracks/t1/audio?quality=high", &[]).await?;
    assert_eq!(high.status(), 200);
    for path in [
        "/v1/tracks/t1/audio?quality=low",
        "/v1/tracks/missing/audio",
    ] {
        let (status, body) = status_and_json(fetch(&gateway, &token, path, &[]).await?).await?;
        assert_eq!(status, 404, "{path}: {body}");
        error_code(&body, "not_found");
    }
    let (status, _) =
        status_and_json(fetch(&gateway, &token, "/v1/tracks/t1/audio?quality=ultra", &[]).await?)
            .await?;
    assert_eq!(status, 400);
    let anonymous = gateway.request(Method::GET, PATH).send().await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}
