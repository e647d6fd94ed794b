//! Subsonic's binary endpoints and playback reports: `stream` (rungs, ranges, validators,
//! time offsets), `download`, `getCoverArt`, their failures as Subsonic bodies, `scrobble`
//! (idempotent per user, track and time), `getNowPlaying` and `reportPlayback`, against the
//! fake player-svc; XML answers validated against the XSD.

use std::sync::MutexGuard;

use reqwest::{Method, Response};
use tunemesh_proto::player::v1 as player;

use crate::subsonic_support::{AppUser, app_user, assert_valid, failed_with, json_call, xml_call};
use crate::support::{self, TestGateway, header};
use crate::upstream::{AUDIO_SIZE, Seen, audio_bytes};

fn seen(gateway: &TestGateway) -> MutexGuard<'_, Seen> {
    gateway
        .upstream
        .seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn auth(user: &AppUser) -> String {
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

fn state(report: &player::ReportPlaybackRequest) -> player::PlaybackState {
    player::PlaybackState::try_from(report.state).unwrap_or_default()
}

#[tokio::test]
async fn a_scrobble_counts_once_per_user_track_and_time_and_now_playing_opens_its_session()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = auth(&ann);
    let once = format!("id=t1&time=1700000000000&{auth}");
    for _ in 0..2 {
        let body = json_call(&gateway, "scrobble", &once).await?;
        assert_eq!(body["status"], "ok", "{body}");
    }
    let other_time = format!("id=t1&time=1700000300000&submission=true&{auth}");
    xml_call(&gateway, "scrobble.view", &other_time).await?;
    let batch = format!("id=t1&id=t2&time=1600000000000&time=1600000300000&{auth}");
    assert_eq!(
        json_call(&gateway, "scrobble", &batch).await?["status"],
        "ok"
    );
    {
        let seen = seen(&gateway);
        let reports = &seen.reports;
        assert_eq!(reports.len(), 5);
        for report in reports {
            assert_eq!(state(report), player::PlaybackState::Ended);
            assert_eq!(report.sequence, 0);
            assert_eq!(
                report.played.map(|p| p.seconds),
                Some(215),
                "the whole song"
            );
        }
        assert_eq!(
            reports[0], reports[1],
            "a re-sent scrobble is the same report"
        );
        assert_eq!(
            reports[0].client_time.map(|t| t.seconds),
            Some(1_700_000_000)
        );
        let sessions: std::collections::HashSet<_> =
            reports.iter().map(|r| &r.play_session_id).collect();
        assert_eq!(sessions.len(), 4);
        assert_eq!(reports[4].track_id, "t2");
    }
    for (query, code) in [
        (format!("id=t1&time=1&time=2&{auth}"), 10),
        (format!("id=t1&time=soon&{auth}"), 10),
        (format!("id=missing&{auth}"), 70),
        (auth.clone(), 10),
    ] {
        failed_with(&json_call(&gateway, "scrobble", &query).await?, code);
    }

    // Now playing opens a session; the scrobble of that song ends it, once.
    let playing = format!("id=t3&submission=false&{auth}");
    assert_eq!(
        json_call(&gateway, "scrobble", &playing).await?["status"],
        "ok"
    );
    let opened = seen(&gateway).reports.last().cloned().expect("a report");
    assert_eq!(state(&opened), player::PlaybackState::Playing);
    assert_eq!(opened.played.map(|p| p.seconds), Some(0));
    let now = json_call(&gateway, "getNowPlaying", &auth).await?;
    assert_eq!(now["nowPlaying"]["entry"][0]["id"], "t3", "{now}");
    // Stamped now, by the app's clock, as an app scrobbling the song it plays does.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let done = format!("id=t3&time={stamp}&{auth}");
    for _ in 0..2 {
        assert_eq!(
            json_call(&gateway, "scrobble", &done).await?["status"],
            "ok"
        );
    }
    let seen = seen(&gateway);
    let [.., first, second] = seen.reports.as_slice() else {
        anyhow::bail!("two reports");
    };
    assert_eq!(
        first, second,
        "the re-sent scrobble repeats the final report"
    );
    assert_eq!(first.play_session_id, opened.play_session_id);
    assert_eq!(first.sequence, 1);
    assert_eq!(state(first), player::PlaybackState::Ended);
    Ok(())
}

#[tokio::test]
async fn report_playback_follows_one_play_and_ignore_scrobble_only_shows_it() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "Supersonic").await?;
    let auth = format!("u=ann&p={}&c=Supersonic", ann.secret);
    let step = |state: &str, at: u64| {
        format!("mediaId=t1&mediaType=song&positionMs={at}&state={state}&{auth}")
    };
    for (state, at) in [
        ("starting", 0),
        ("playing", 0),
        ("paused", 1000),
        ("stopped", 215_000),
    ] {
        let body = json_call(&gateway, "reportPlayback", &step(state, at)).await?;
        assert_eq!(body["status"], "ok", "{state}: {body}");
    }
    {
        let seen = seen(&gateway);
        let states: Vec<_> = seen.reports.iter().map(state).collect();
        use player::PlaybackState::{Ended, Paused, Playing};
        assert_eq!(states, [Playing, Playing, Paused, Ended]);
        let last = seen.reports.last().expect("reports");
        assert_eq!(
            last.end_reason,
            i32::from(player::PlaybackEndReason::Completed)
        );
        assert!(
            seen.reports
                .iter()
                .all(|r| r.play_session_id == last.play_session_id)
        );
        let sequences: Vec<_> = seen.reports.iter().map(|r| r.sequence).collect();
        assert_eq!(sequences, [0, 1, 2, 3]);
    }
    let quiet = format!("{}&ignoreScrobble=true", step("playing", 5000));
    xml_call(&gateway, "reportPlayback.view", &quiet).await?;
    assert_eq!(
        seen(&gateway).reports.len(),
        4,
        "ignoreScrobble reports nothing"
    );
    let now = json_call(&gateway, "getNowPlaying", &auth).await?;
    assert_eq!(now["nowPlaying"]["entry"][0]["playerName"], "Supersonic");
    for (query, code) in [
        (step("rewinding", 0), 10),
        (
            step("playing", 0).replace("mediaType=song", "mediaType=podcast"),
            70,
        ),
        (
            step("playing", 0).replace("mediaId=t1", "mediaId=missing"),
            70,
        ),
        (
            step("playing", 0).replace("positionMs=0", "positionMs=-1"),
            10,
        ),
    ] {
        failed_with(&json_call(&gateway, "reportPlayback", &query).await?, code);
    }
    let extensions = json_call(&gateway, "getOpenSubsonicExtensions", "").await?;
    let names: Vec<&str> = extensions["openSubsonicExtensions"]
        .as_array()
        .map(|all| all.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"playbackReport") && names.contains(&"transcodeOffset"));
    Ok(())
}
