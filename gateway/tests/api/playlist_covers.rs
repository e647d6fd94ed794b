//! A playlist without a cover of its own shows the one derived from its first tracks'
//! covers, in every REST answer that carries it: one cover, then a 2×2 mosaic once four
//! distinct covers lead the playlist. The covers come from the fake player-svc's
//! `BatchGetTracks` (`cover-<digit>` tracks), the first tracks from the real playlist-svc.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{self, TestGateway, status_and_json, text};

fn image(digit: char) -> String {
    digit.to_string().repeat(64)
}

async fn call(
    gateway: &TestGateway,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let mut request = gateway.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let (status, body) = status_and_json(response).await?;
    anyhow::ensure!((200..300).contains(&status), "{path}: {status} {body}");
    Ok(body)
}

#[tokio::test]
async fn a_playlist_shows_its_first_cover_then_the_mosaic_of_four() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let session = gateway.signup("cora").await?;
    let token = text(&session, "/access_token").to_owned();

    let empty = call(
        &gateway,
        Method::POST,
        "/v1/playlists",
        &token,
        Some(json!({"name": "None"})),
    );
    assert_eq!(
        empty.await?.get("cover"),
        Some(&Value::Null),
        "no tracks, no cover"
    );

    // Two distinct covers (and a track without one): the first cover alone.
    let body = json!({"name": "Mix", "track_ids": ["plain", "cover-a1", "cover-a2", "cover-b1"]});
    let created = call(&gateway, Method::POST, "/v1/playlists", &token, Some(body)).await?;
    assert_eq!(text(&created, "/cover/id"), image('a'));
    assert_eq!(
        text(&created, "/cover/url"),
        format!("/v1/images/{}", image('a'))
    );
    let id = text(&created, "/id").to_owned();

    // Two more covers: four distinct ones lead the playlist, so their mosaic.
    let items = format!("/v1/playlists/{id}/items");
    let body = json!({"track_ids": ["cover-c1", "cover-b2", "cover-d1"]});
    call(&gateway, Method::POST, &items, &token, Some(body)).await?;
    let mosaic = [image('a'), image('b'), image('c'), image('d')].join(".");
    let path = format!("/v1/playlists/{id}");
    let read = call(&gateway, Method::GET, &path, &token, None).await?;
    assert_eq!(text(&read, "/playlist/cover/id"), mosaic);
    assert_eq!(
        text(&read, "/playlist/cover/url"),
        format!("/v1/images/{mosaic}")
    );
    assert_eq!(text(&read, "/playlist/cover/media_type"), "image/jpeg");

    let listed = call(&gateway, Method::GET, "/v1/me/playlists", &token, None).await?;
    let covers: Vec<&str> = listed["playlists"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|e| {
                    e.pointer("/playlist/cover/id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(covers.contains(&mosaic.as_str()), "{covers:?}");
    assert!(covers.contains(&""), "the empty one: {covers:?}");

    let renamed = call(
        &gateway,
        Method::PATCH,
        &path,
        &token,
        Some(json!({"name": "Renamed"})),
    );
    assert_eq!(text(&renamed.await?, "/cover/id"), mosaic);
    Ok(())
}
