//! Subsonic's binary endpoints: `stream` (rungs, ranges, validators, time offsets, now
//! playing), `download`, `getCoverArt`, and their failures as Subsonic bodies, against the
//! fake player-svc; XML answers validated against the XSD.

use std::sync::MutexGuard;

use reqwest::{Method, Response};
use tunemesh_proto::player::v1 as player;

use crate::subsonic_support::{AppUser, app_user, assert_valid, failed_with, json_call, xml_call};
use crate::support::{self, TestGateway, header};
use crate::upstream::{AUDIO_SIZE, Seen, audio_bytes};

/// What the fake player-svc saw.
pub fn seen(gateway: &TestGateway) -> MutexGuard<'_, Seen> {
    gateway
        .upstream
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// `user`'s credentials as DSub sends them.
pub fn auth(user: &AppUser) -> String {
    format!("u={}&p={}&v=1.2.0&c=DSub", user.name, user.secret)
}

async fn get(
    gateway: &TestGateway,
    method: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<Response> {
    let mut request = gateway.request(Method::GET, &format!("/rest/{method}?{query}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(request.send().await?)
}

/// The quality an audio answer's ETag names (`"<id>.AUDIO_QUALITY_<Q>.<version>"`).
fn rung(response: &Response) -> String {
    let etag = header(response, "etag");
    etag.split('.').nth(1).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn stream_serves_the_rung_under_max_bit_rate_with_ranges_and_is_never_a_play()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = auth(&ann);
    // The fake has the normal (64) and high (96) rungs.
    for (extra, want) in [
        ("", "AUDIO_QUALITY_HIGH"),
        ("&maxBitRate=0", "AUDIO_QUALITY_HIGH"),
        ("&maxBitRate=320&format=opus", "AUDIO_QUALITY_HIGH"),
        ("&maxBitRate=96", "AUDIO_QUALITY_HIGH"),
        ("&maxBitRate=95", "AUDIO_QUALITY_NORMAL"),
        (
            "&maxBitRate=64&estimateContentLength=true",
            "AUDIO_QUALITY_NORMAL",
        ),
        ("&maxBitRate=32", "AUDIO_QUALITY_NORMAL"),
        ("&maxBitRate=64&format=raw", "AUDIO_QUALITY_HIGH"),
        ("&maxBitRate=64&format=mp3", "AUDIO_QUALITY_NORMAL"),
    ] {
        let response = get(
            &gateway,
            "stream.view",
            &format!("id=t1&{auth}{extra}"),
            &[],
        )
        .await?;
        assert_eq!(response.status(), 200, "{extra}");
        assert_eq!(rung(&response), want, "{extra}");
        assert_eq!(header(&response, "content-type"), "audio/ogg; codecs=opus");
        assert_eq!(header(&response, "content-length"), AUDIO_SIZE.to_string());
        assert_eq!(header(&response, "accept-ranges"), "bytes");
        assert_eq!(response.bytes().await?.len() as u64, AUDIO_SIZE);
    }
    let query = format!("id=t1&{auth}&maxBitRate=64");
    let partial = get(&gateway, "stream", &query, &[("range", "bytes=100-199")]).await?;
    assert_eq!(partial.status(), 206);
    assert_eq!(
        header(&partial, "content-range"),
        format!("bytes 100-199/{AUDIO_SIZE}")
    );
    let etag = header(&partial, "etag");
    assert_eq!(partial.bytes().await?.to_vec(), audio_bytes(100, 200));
    let same = [("range", "bytes=0-9"), ("if-range", etag.as_str())];
    assert_eq!(get(&gateway, "stream", &query, &same).await?.status(), 206);
    let changed = [("range", "bytes=0-9"), ("if-range", "\"other\"")];
    assert_eq!(
        get(&gateway, "stream", &query, &changed).await?.status(),
        200
    );
    let head = gateway
        .request(Method::HEAD, &format!("/rest/stream?{query}"))
        .send()
        .await?;
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-length"), AUDIO_SIZE.to_string());
    assert!(head.bytes().await?.is_empty());

    assert!(
        seen(&gateway).reports.is_empty(),
        "a stream is never a play"
    );
    // It shows as now playing, to everyone.
    let bob = app_user(&gateway, "bob", "Feishin").await?;
    let now = json_call(
        &gateway,
        "getNowPlaying",
        &format!("u=bob&p={}", bob.secret),
    )
    .await?;
    let entry = &now["nowPlaying"]["entry"][0];
    assert_eq!(entry["id"], "t1", "{now}");
    assert_eq!(entry["username"], "ann", "{now}");
    assert_eq!(entry["playerName"], "DSub", "{now}");
    assert_eq!(entry["minutesAgo"], 0, "{now}");
    assert!(entry["playerId"].is_i64(), "{now}");
    let xml = xml_call(&gateway, "getNowPlaying", &auth).await?;
    assert!(xml.contains(r#"username="ann""#), "{xml}");
    Ok(())
}

#[tokio::test]
async fn stream_from_a_time_offset_has_an_exact_length() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let query = format!("id=t1&{}&maxBitRate=64&timeOffset=30", auth(&ann));
    let response = get(&gateway, "stream", &query, &[]).await?;
    assert_eq!(response.status(), 200);
    let rest = AUDIO_SIZE - 30_000;
    assert_eq!(header(&response, "content-length"), rest.to_string());
    assert_eq!(header(&response, "accept-ranges"), "none");
    assert_eq!(
        response.bytes().await?.to_vec(),
        audio_bytes(30_000, AUDIO_SIZE)
    );
    let asked = seen(&gateway)
        .streams
        .last()
        .cloned()
        .expect("a StreamAudio");
    assert_eq!(asked.start_position.map(|p| p.seconds), Some(30));
    let normal = tunemesh_proto::catalog::v1::AudioQuality::Normal;
    assert_eq!(asked.quality, i32::from(normal));
    assert_eq!(asked.container, i32::from(player::AudioContainer::Ogg));
    // Past the end: an error body, not a broken stream.
    let past = format!("id=t1&{}&timeOffset=1000", auth(&ann));
    let xml = get(&gateway, "stream", &past, &[]).await?.text().await?;
    assert_valid(&xml);
    assert!(xml.contains(r#"status="failed""#), "{xml}");
    Ok(())
}

#[tokio::test]
async fn binary_endpoints_fail_with_a_subsonic_body_in_the_callers_format() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = auth(&ann);
    let cases = [
        ("stream", format!("id=missing&{auth}"), 70),
        ("stream", format!("id=..%2Fetc&{auth}"), 70),
        ("stream", auth.clone(), 10),
        ("stream", "id=t1&u=ann&p=wrong".to_owned(), 40),
        ("stream", "id=t1".to_owned(), 10),
        ("stream", format!("id=t1&{auth}&maxBitRate=fast"), 10),
        ("download", format!("id=missing&{auth}"), 70),
        ("getCoverArt", format!("id=t1&{auth}"), 70),
        ("getCoverArt", format!("id={}&{auth}", "e".repeat(64)), 70),
        ("getCoverArt", format!("id=cover-a&size=big&{auth}"), 10),
    ];
    for (method, query, code) in cases {
        // DSub's way: no `f`, and it reads errors only from a text/xml body.
        let response = get(&gateway, method, &query, &[]).await?;
        assert_eq!(response.status(), 200, "{method} {query}");
        assert_eq!(header(&response, "content-type"), "text/xml; charset=utf-8");
        let xml = response.text().await?;
        assert_valid(&xml);
        assert!(
            xml.contains(&format!(r#"<error code="{code}""#)),
            "{method} {query}: {xml}"
        );
        let body = json_call(&gateway, method, &query).await?;
        failed_with(&body, code);
    }
    Ok(())
}

#[tokio::test]
async fn download_is_the_best_rung_as_a_named_file() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let query = format!("id=t1&{}", auth(&ann));
    let response = get(&gateway, "download.view", &query, &[]).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(rung(&response), "AUDIO_QUALITY_HIGH");
    assert_eq!(
        header(&response, "content-disposition"),
        "attachment; filename=\"$uicideboy$ - Ascension.opus\"; \
         filename*=UTF-8''$uicideboy$%20-%20Ascension.opus"
    );
    assert_eq!(response.bytes().await?.len() as u64, AUDIO_SIZE);
    assert!(
        seen(&gateway).reports.is_empty(),
        "a download is never a play"
    );
    Ok(())
}

#[tokio::test]
async fn cover_art_resolves_song_ids_resizes_and_revalidates() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let image = "a".repeat(64);
    seen(&gateway)
        .images
        .insert(image.clone(), crate::images::png(600, 400));
    let auth = auth(&ann);
    let direct = get(
        &gateway,
        "getCoverArt",
        &format!("id={image}&size=100&{auth}"),
        &[],
    )
    .await?;
    assert_eq!(direct.status(), 200);
    assert_eq!(header(&direct, "content-type"), "image/jpeg");
    assert_eq!(
        header(&direct, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let etag = header(&direct, "etag");
    let bytes = direct.bytes().await?;
    let decoded = image::load_from_memory(&bytes)?;
    assert_eq!(decoded.width(), 128, "fitted in the served size above 100");
    for id in ["cover-a"] {
        let query = format!("id={id}&size=100&{auth}");
        let resolved = get(&gateway, "getCoverArt.view", &query, &[]).await?;
        assert_eq!(resolved.status(), 200, "{id}");
        assert_eq!(header(&resolved, "etag"), etag, "{id}: the same image");
        assert_eq!(header(&resolved, "cache-control"), "private, max-age=86400");
        assert_eq!(resolved.bytes().await?, bytes);
        let again = get(&gateway, "getCoverArt", &query, &[("if-none-match", &etag)]).await?;
        assert_eq!(again.status(), 304, "{id}");
    }
    // Sizes beyond the largest served are the largest; no size is the stored image.
    let huge = get(
        &gateway,
        "getCoverArt",
        &format!("id={image}&size=9000&{auth}"),
        &[],
    )
    .await?;
    assert_eq!(huge.status(), 200);
    let stored = get(&gateway, "getCoverArt", &format!("id={image}&{auth}"), &[]).await?;
    assert_eq!(header(&stored, "content-type"), "image/png");
    Ok(())
}
