//! Catalogue and playback routes through the mesh: JSON shapes, paging, input checks,
//! downstream error mapping and the identity that reaches the service.

use reqwest::Method;
use serde_json::json;

use crate::support::{self, error_code, status_and_json, text};

#[tokio::test]
async fn get_track_answers_the_documented_json_shape() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let response = gateway
        .get("/v1/tracks/t1", text(&session, "/access_token"))
        .await?;
    let (status, track) = status_and_json(response).await?;
    assert_eq!(status, 200, "{track}");
    assert_eq!(track["id"], "t1");
    assert_eq!(track["title"], "Ascension");
    assert_eq!(
        track["artists"],
        json!([{"id": "ar1", "name": "$uicideboy$"}])
    );
    assert_eq!(track["album"], json!({"id": "al1", "title": "Singularity"}));
    assert_eq!(track["duration_ms"], 215_250);
    assert_eq!(track["track_number"], 3);
    assert_eq!(track["year"], 2009);
    assert_eq!(track["available_qualities"], json!(["low", "normal"]));
    assert_eq!(track["created_at"], "2023-11-14T22:13:20Z");
    assert_eq!(track["updated_at"], json!(null));
    assert_eq!(track["cover"], json!(null));
    Ok(())
}

#[tokio::test]
async fn the_identity_reaching_the_service_names_the_signed_in_user() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let token = text(&session, "/access_token");
    // A client-supplied identity or user-id header is not passed on.
    let response = gateway
        .request(Method::GET, "/v1/artists/ar1")
        .bearer_auth(token)
        .header("tunemesh-identity", "forged")
        .header("tunemesh-user-id", "mallory")
        .send()
        .await?;
    let (status, artist) = status_and_json(response).await?;
    assert_eq!(status, 200, "{artist}");
    assert_eq!(artist["name"], "(G)I-DLE");
    let callers = gateway
        .upstream
        .seen
        .lock()
        .map(|seen| seen.callers.clone())
        .unwrap_or_default();
    assert_eq!(callers.len(), 1);
    assert_eq!(callers[0].user_id, text(&session, "/user_id"));
    Ok(())
}

#[tokio::test]
async fn downstream_errors_map_through_the_error_table() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let token = text(&session, "/access_token");
    let cases = [
        ("/v1/tracks/missing", 404, "not_found"),
        ("/v1/tracks/down", 503, "unavailable"),
        ("/v1/tracks/broken", 500, "internal"),
        ("/v1/albums/al1", 501, "unimplemented"),
        ("/v1/albums", 501, "unimplemented"),
    ];
    for (path, expected, code) in cases {
        let (status, body) = status_and_json(gateway.get(path, token).await?).await?;
        assert_eq!(status, expected, "{path}: {body}");
        let message = error_code(&body, code);
        assert!(
            !message.contains("10.0.0.7") && !message.contains("secret"),
            "{message}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn list_tracks_passes_paging_and_filters_and_pages_in_json() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let token = text(&session, "/access_token");
    let (status, page) = status_and_json(
        gateway
            .get("/v1/tracks?page_size=2&album_id=al1", token)
            .await?,
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["tracks"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next_page_token"], "p2");
    assert_eq!(page["total_size"], 3);
    let seen = gateway
        .upstream
        .seen
        .lock()
        .ok()
        .and_then(|s| s.list_tracks.clone());
    let request = seen.ok_or_else(|| anyhow::anyhow!("no ListTracks call"))?;
    assert_eq!(request.page_size, 2);
    assert_eq!(
        request.filter,
        Some(tunemesh_proto::catalog::v1::list_tracks_request::Filter::AlbumId("al1".into()))
    );

    let (_, last) = status_and_json(gateway.get("/v1/tracks?page_token=p2", token).await?).await?;
    assert_eq!(
        last["next_page_token"],
        json!(null),
        "the last page has no token"
    );
    Ok(())
}

#[tokio::test]
async fn malformed_ids_and_paging_are_400() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let token = text(&session, "/access_token");
    let long_id = format!("/v1/tracks/{}", "a".repeat(65));
    let paths = [
        "/v1/tracks?page_size=0",
        "/v1/tracks?page_size=501",
        "/v1/tracks?page_size=-1",
        "/v1/tracks?page_size=ten",
        "/v1/tracks?album_id=a&artist_id=b",
        "/v1/albums?artist_id=a%20b",
        "/v1/artists?page_token=%00",
        "/v1/tracks/a%20b",
        long_id.as_str(),
    ];
    for path in paths {
        let (status, body) = status_and_json(gateway.get(path, token).await?).await?;
        assert_eq!(status, 400, "{path}: {body}");
        error_code(&body, "invalid_argument");
    }
    Ok(())
}

#[tokio::test]
async fn every_catalogue_route_needs_a_token() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    for path in [
        "/v1/tracks",
        "/v1/tracks/t1",
        "/v1/albums",
        "/v1/albums/a",
        "/v1/artists",
        "/v1/artists/a",
    ] {
        let response = gateway.request(Method::GET, path).send().await?;
        assert_eq!(response.status(), 401, "{path}");
    }
    let report = gateway.post("/v1/playback/report", &json!({})).await?;
    assert_eq!(report.status(), 401);
    Ok(())
}

#[tokio::test]
async fn a_playback_report_reaches_the_player_service() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let report = json!({
        "play_session_id": "0b0c3f8e-4c47-4a39-9f57-4a5f1c0f1a77",
        "sequence": 2,
        "track_id": "t1",
        "position_ms": 31_500,
        "played_ms": 31_000,
        "state": "ended",
        "end_reason": "completed",
        "context": {"type": "album", "id": "al1"},
        "quality": "high",
        "client_time": "2026-11-27T23:00:00Z",
    });
    let response = gateway
        .request(Method::POST, "/v1/playback/report")
        .bearer_auth(text(&session, "/access_token"))
        .json(&report)
        .send()
        .await?;
    let (status, body) = status_and_json(response).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"play_counted": true, "played_ms": 31_000}));
    let seen = gateway
        .upstream
        .seen
        .lock()
        .ok()
        .and_then(|s| s.report.clone());
    let sent = seen.ok_or_else(|| anyhow::anyhow!("no report reached the service"))?;
    assert_eq!(sent.sequence, 2);
    assert_eq!(
        sent.position.map(|p| (p.seconds, p.nanos)),
        Some((31, 500_000_000))
    );
    assert_eq!(sent.state, 4, "PLAYBACK_STATE_ENDED");
    assert_eq!(sent.end_reason, 1, "PLAYBACK_END_REASON_COMPLETED");
    assert_eq!(sent.quality, 3, "AUDIO_QUALITY_HIGH");
    assert_eq!(
        sent.context.map(|c| (c.r#type, c.id)),
        Some((2, "al1".to_owned()))
    );
    assert_eq!(sent.client_time.map(|t| t.seconds), Some(1_795_820_400));
    Ok(())
}

#[tokio::test]
async fn a_malformed_playback_report_is_400() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("ann").await?;
    let base =
        json!({"play_session_id": "s1", "sequence": 0, "track_id": "t1", "state": "playing"});
    let mut cases = Vec::new();
    for (field, value) in [
        ("state", json!("dancing")),
        ("play_session_id", json!("")),
        ("track_id", json!("t 1")),
        ("client_time", json!("yesterday")),
        ("sequence", json!(-1)),
        ("surprise", json!(true)),
    ] {
        let mut body = base.clone();
        body[field] = value;
        cases.push(body);
    }
    for body in cases {
        let response = gateway
            .request(Method::POST, "/v1/playback/report")
            .bearer_auth(text(&session, "/access_token"))
            .json(&body)
            .send()
            .await?;
        let (status, reply) = status_and_json(response).await?;
        assert_eq!(status, 400, "{body}: {reply}");
        error_code(&reply, "invalid_argument");
    }
    Ok(())
}
