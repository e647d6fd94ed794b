//! Search and recommendation routes: shapes, parameters passed on, bad input, and the
//! downstream codes (501 while reco-svc answers UNIMPLEMENTED).

use crate::support::{self, error_code, status_and_json, text};

#[tokio::test]
async fn search_passes_the_query_on_and_answers_typed_hits() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let (status, body) = status_and_json(
        gateway
            .get(
                "/v1/search?q=Beyonc%C3%A9&limit=5&kind=track,artist,playlist",
                &token,
            )
            .await?,
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["item"]["kind"], "track");
    assert_eq!(body["results"][0]["item"]["id"], "t1");
    assert_eq!(body["results"][0]["highlights"][0]["field"], "track_title");
    assert_eq!(body["results"][0]["highlights"][0]["ranges"][0][1], 3);
    // A playlist hit gets the cover derived from its first tracks, as playlists' own answers.
    let playlist = &body["results"][1]["item"];
    assert_eq!(playlist["kind"], "playlist", "{body}");
    assert_eq!(playlist["id"], "p1");
    assert_eq!(playlist["follower_count"], 12);
    let mosaic = ['1', '2', '3', '4']
        .map(|d| d.to_string().repeat(64))
        .join(".");
    assert_eq!(playlist["cover"]["id"], mosaic.as_str(), "{body}");
    let seen = gateway
        .services
        .last_search
        .lock()
        .expect("lock")
        .clone()
        .expect("a search");
    assert_eq!(seen.query, "Beyoncé");
    assert_eq!(seen.page_size, 5);
    assert_eq!(seen.types, [1, 3, 4]);
    Ok(())
}

#[tokio::test]
async fn hostile_searches_are_400_and_outages_503() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let long = "a".repeat(10_000);
    for path in [
        "/v1/search".to_owned(),
        "/v1/search?q=".to_owned(),
        "/v1/search?q=%20%20".to_owned(),
        format!("/v1/search?q={long}"),
        "/v1/search?q=x&kind=song".to_owned(),
        "/v1/search?q=x&kind=playlist,".to_owned(),
        "/v1/search?q=x&limit=0".to_owned(),
        "/v1/search?q=x&limit=-1".to_owned(),
    ] {
        let (status, body) = status_and_json(gateway.get(&path, &token).await?).await?;
        assert_eq!(status, 400, "{}: {body}", &path[..path.len().min(40)]);
        error_code(&body, "invalid_argument");
    }
    let (status, body) = status_and_json(gateway.get("/v1/search?q=down", &token).await?).await?;
    assert_eq!(status, 503, "{body}");
    assert!(!error_code(&body, "unavailable").contains("10.0.0.9"));
    Ok(())
}

#[tokio::test]
async fn recommendations_radio_and_similar_tracks_answer() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let (status, body) =
        status_and_json(gateway.get("/v1/recommendations?limit=2", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tracks"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["tracks"][0]["reason"], "popular");

    let (status, body) =
        status_and_json(gateway.get("/v1/radio/t1?limit=10", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tracks"][0]["track_id"], "t9");
    assert_eq!(body["next_page_token"], "r2");

    let (status, body) =
        status_and_json(gateway.get("/v1/tracks/t1/similar", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tracks"][0]["reason"], "listeners_also_played");
    Ok(())
}

#[tokio::test]
async fn reco_errors_map_through_the_table() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let cases = [
        ("/v1/radio/missing", 404, "not_found"),
        ("/v1/tracks/missing/similar", 404, "not_found"),
        ("/v1/radio/new", 501, "unimplemented"),
        ("/v1/recommendations?limit=1000", 400, "invalid_argument"),
        ("/v1/radio/a%20b", 400, "invalid_argument"),
    ];
    for (path, status, code) in cases {
        let (got, body) = status_and_json(gateway.get(path, &token).await?).await?;
        assert_eq!(got, status, "{path}: {body}");
        error_code(&body, code);
    }
    Ok(())
}
