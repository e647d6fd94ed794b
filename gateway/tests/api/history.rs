//! Listening history routes: reco-svc's ids become the catalogue's whole tracks and albums
//! with covers, ids the catalogue lost are left out, and bad input is refused.

use crate::support::{self, error_code, status_and_json, text};

#[tokio::test]
async fn the_history_holds_whole_tracks_and_albums_with_covers() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let (status, body) =
        status_and_json(gateway.get("/v1/me/history?limit=5", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    let ids = |list: &str, item: &str| -> Vec<String> {
        body[list]
            .as_array()
            .map(|a| a.iter().map(|e| text(&e[item], "/id").to_owned()).collect())
            .unwrap_or_default()
    };
    // The track and the album the catalogue no longer has are left out, in order.
    assert_eq!(ids("recent_tracks", "track"), ["cover-a1", "t2"]);
    assert_eq!(ids("recent_albums", "album"), ["cover-b"]);
    assert_eq!(ids("most_played_albums", "album"), ["cover-b", "al-old"]);
    let first = &body["recent_tracks"][0];
    assert_eq!(first["played_at"], "2023-11-14T22:15:20Z");
    assert_eq!(first["track"]["title"], "Ascension");
    assert_eq!(
        first["track"]["cover"]["url"],
        format!("/v1/images/{}", "a".repeat(64))
    );
    let album = &body["recent_albums"][0];
    assert_eq!(album["album"]["title"], "Album cover-b");
    assert_eq!(
        album["album"]["cover"]["url"],
        format!("/v1/images/{}", "b".repeat(64))
    );
    assert!(album["plays"].is_null(), "{album}");
    let most = &body["most_played_albums"];
    assert_eq!(most[0]["plays"], 2.5);
    assert!(most[1]["played_at"].is_null(), "{most}");
    Ok(())
}

#[tokio::test]
async fn top_tracks_are_whole_tracks_with_their_plays_and_unknown_artists_404() -> anyhow::Result<()>
{
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    let (status, body) =
        status_and_json(gateway.get("/v1/artists/ar1/top-tracks", &token).await?).await?;
    assert_eq!(status, 200, "{body}");
    let tracks: Vec<(&str, u64)> = body["tracks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| (text(&t["track"], "/id"), t["plays"].as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(tracks, [("cover-c", 7), ("t6", 3)]);
    assert_eq!(
        body["tracks"][0]["track"]["cover"]["url"],
        format!("/v1/images/{}", "c".repeat(64))
    );
    let (status, body) = status_and_json(
        gateway
            .get("/v1/artists/missing/top-tracks", &token)
            .await?,
    )
    .await?;
    assert_eq!(status, 404, "{body}");
    error_code(&body, "not_found");
    Ok(())
}

#[tokio::test]
async fn history_limits_and_ids_out_of_bounds_are_400_and_strangers_401() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let token = text(&gateway.signup("ann").await?, "/access_token").to_owned();
    for path in [
        "/v1/me/history?limit=0",
        "/v1/me/history?limit=51",
        "/v1/me/history?limit=-1",
        "/v1/me/history?limit=many",
        "/v1/artists/ar1/top-tracks?limit=51",
        "/v1/artists/..x/top-tracks",
        "/v1/artists/%25/top-tracks",
    ] {
        let (status, body) = status_and_json(gateway.get(path, &token).await?).await?;
        assert_eq!(status, 400, "{path}: {body}");
        error_code(&body, "invalid_argument");
    }
    for path in ["/v1/me/history", "/v1/artists/ar1/top-tracks"] {
        let (status, _) = status_and_json(gateway.get(path, "not-a-token").await?).await?;
        assert_eq!(status, 401, "{path}");
    }
    Ok(())
}
