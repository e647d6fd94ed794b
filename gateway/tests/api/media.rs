//! MSE delivery (manifest, init and media segments) and signed media links for `<audio src>`.

use reqwest::Method;
use serde_json::Value;
use tunemesh_gateway::media::MediaTokens;
use tunemesh_gateway::model::catalog::Quality;
use tunemesh_runtime::identity::Caller;

use crate::support::{self, TestGateway, error_code, header, status_and_json, text};
use crate::upstream::{AUDIO_SIZE, SEGMENTS, WEBM, audio_bytes, segment_bytes};

async fn token(gateway: &TestGateway) -> anyhow::Result<(String, String)> {
    let session = gateway.signup("ann").await?;
    Ok((
        text(&session, "/access_token").to_owned(),
        text(&session, "/user_id").to_owned(),
    ))
}

#[tokio::test]
async fn the_manifest_lists_qualities_codecs_and_segment_urls() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = token(&gateway).await?;
    let (status, body) =
        status_and_json(gateway.get("/v1/tracks/t1/manifest", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["track_id"], "t1");
    assert_eq!(body["duration_ms"], 12_500);
    let qualities = body["qualities"].as_array().expect("qualities");
    assert_eq!(qualities.len(), 2);
    let normal = &qualities[0];
    assert_eq!(normal["quality"], "normal");
    assert_eq!(normal["bitrate_bps"], 64_000);
    assert_eq!(normal["codecs"], WEBM);
    assert_eq!(normal["init_url"], "/v1/tracks/t1/segments/normal/init");
    let segments = normal["segments"].as_array().expect("segments");
    assert_eq!(segments.len(), SEGMENTS as usize);
    assert_eq!(segments[1]["url"], "/v1/tracks/t1/segments/normal/1");
    assert_eq!(segments[1]["start_ms"], 5_000);
    let total: u64 = segments
        .iter()
        .filter_map(|s| s["duration_ms"].as_u64())
        .sum();
    assert_eq!(total, 12_500, "segment durations add up to the track's");
    assert_eq!(normal["progressive"]["size_bytes"], AUDIO_SIZE);
    assert_eq!(qualities[1]["quality"], "high");

    let (status, body) =
        status_and_json(gateway.get("/v1/tracks/missing/manifest", &token).await?).await?;
    assert_eq!(status, 404);
    error_code(&body, "not_found");
    Ok(())
}

#[tokio::test]
async fn segments_are_immutable_webm_with_a_strong_etag() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = token(&gateway).await?;
    for (path, index) in [
        ("/v1/tracks/t1/segments/high/init", None),
        ("/v1/tracks/t1/segments/high/2", Some(2)),
    ] {
        let response = gateway.get(path, &token).await?;
        assert_eq!(response.status(), 200, "{path}");
        assert!(header(&response, "content-type").starts_with("audio/webm"));
        assert_eq!(
            header(&response, "cache-control"),
            "private, max-age=31536000, immutable"
        );
        let etag = header(&response, "etag");
        assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
        let high: i32 = tunemesh_proto::catalog::v1::AudioQuality::High.into();
        assert_eq!(response.bytes().await?.to_vec(), segment_bytes(high, index));

        let again = gateway
            .request(Method::GET, path)
            .bearer_auth(&token)
            .header("if-none-match", &etag)
            .send()
            .await?;
        assert_eq!(again.status(), 304);
        assert_eq!(header(&again, "etag"), etag);
    }
    Ok(())
}

#[tokio::test]
async fn bad_segment_requests_are_clear_errors() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = token(&gateway).await?;
    let cases = [
        ("/v1/tracks/t1/segments/normal/3", 404, "not_found"),
        ("/v1/tracks/t1/segments/loud/0", 400, "invalid_argument"),
        ("/v1/tracks/t1/segments/normal/-1", 400, "invalid_argument"),
        (
            "/v1/tracks/t1/segments/normal/99999999999",
            400,
            "invalid_argument",
        ),
    ];
    for (path, status, code) in cases {
        let (got, body) = status_and_json(gateway.get(path, &token).await?).await?;
        assert_eq!(got, status, "{path}: {body}");
        error_code(&body, code);
    }
    let response = gateway
        .request(Method::GET, "/v1/tracks/t1/segments/normal/0")
        .send()
        .await?;
    assert_eq!(response.status(), 401);
    Ok(())
}

async fn audio_link(gateway: &TestGateway, token: &str, quality: &str) -> anyhow::Result<Value> {
    let path = format!("/v1/tracks/t1/audio-url?quality={quality}");
    let (status, body) = status_and_json(gateway.get(&path, token).await?).await?;
    anyhow::ensure!(status == 200, "audio-url: {status} {body}");
    Ok(body)
}

#[tokio::test]
async fn a_signed_link_plays_without_a_header() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, _) = token(&gateway).await?;
    let link = audio_link(&gateway, &token, "high").await?;
    let url = text(&link, "/url").to_owned();
    assert!(
        url.starts_with("/v1/tracks/t1/audio?quality=high&token="),
        "{url}"
    );
    let response = gateway
        .request(Method::GET, &url)
        .header("range", "bytes=10-19")
        .send()
        .await?;
    assert_eq!(response.status(), 206);
    assert_eq!(response.bytes().await?.to_vec(), audio_bytes(10, 20));

    // The same token opens the segments of that track and quality.
    let media_token = text(&link, "/token");
    let segment = format!("/v1/tracks/t1/segments/high/0?token={media_token}");
    let response = gateway.request(Method::GET, &segment).send().await?;
    assert_eq!(response.status(), 200);
    // The manifest embeds a working link per quality.
    let (_, manifest) =
        status_and_json(gateway.get("/v1/tracks/t1/manifest", &token).await?).await?;
    let embedded = text(&manifest, "/qualities/0/progressive/url");
    let response = gateway.request(Method::GET, embedded).send().await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await?.len() as u64, AUDIO_SIZE);
    Ok(())
}

#[tokio::test]
async fn expired_forged_and_misused_links_are_401() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (token, user_id) = token(&gateway).await?;
    let caller = Caller::new(user_id, vec![]);
    let settings = support::settings();
    let expired = MediaTokens::new(&settings.auth.keys()?, settings.auth.media_link_ttl)
        .mint(&caller, "t1", Quality::NORMAL, 1_000)?
        .0;
    let mut other = settings.auth.clone();
    other.jwt_secret = Some(secrecy::SecretString::from(
        "another-secret-0123456789abcdef-xyz",
    ));
    let now = tunemesh_runtime::clock::now_secs();
    let forged = MediaTokens::new(&other.keys()?, other.media_link_ttl)
        .mint(&caller, "t1", Quality::NORMAL, now)?
        .0;
    let valid = text(&audio_link(&gateway, &token, "normal").await?, "/token").to_owned();
    let cases = [
        (format!("/v1/tracks/t1/audio?token={expired}"), "expired"),
        (format!("/v1/tracks/t1/audio?token={forged}"), "not valid"),
        (format!("/v1/tracks/t1/audio?token=x{valid}"), "not valid"),
        (
            format!("/v1/tracks/t2/audio?token={valid}"),
            "another track",
        ),
        (
            format!("/v1/tracks/t1/audio?quality=high&token={valid}"),
            "another track",
        ),
        (
            format!("/v1/tracks/t1/segments/high/0?token={valid}"),
            "another track",
        ),
        // A media token is not an access token.
        (
            "/v1/tracks/t1/manifest?token=".to_owned() + &valid,
            "access token",
        ),
    ];
    for (path, reason) in cases {
        let (status, body) =
            status_and_json(gateway.request(Method::GET, &path).send().await?).await?;
        assert_eq!(status, 401, "{path}: {body}");
        let message = error_code(&body, "unauthenticated");
        assert!(message.contains(reason), "{path}: {message}");
    }
    let response = gateway
        .request(Method::GET, "/v1/tracks/t1/manifest")
        .bearer_auth(&valid)
        .send()
        .await?;
    assert_eq!(response.status(), 401, "a media token is no bearer token");
    Ok(())
}
