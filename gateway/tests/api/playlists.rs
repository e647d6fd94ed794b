//! Playlist and liked-songs routes against the real playlist-svc: the happy paths, versions
//! (412), the authorization matrix at the edge (404 for private data of others) and bad input.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{self, TestGateway, error_code, status_and_json, text};

async fn send(
    gateway: &TestGateway,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = gateway.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)?
    };
    Ok((status, body))
}

async fn user(gateway: &TestGateway, name: &str) -> anyhow::Result<(String, String)> {
    let session = gateway.signup(name).await?;
    Ok((
        text(&session, "/access_token").to_owned(),
        text(&session, "/user_id").to_owned(),
    ))
}

async fn create(gateway: &TestGateway, token: &str, body: Value) -> anyhow::Result<Value> {
    let (status, playlist) =
        send(gateway, Method::POST, "/v1/playlists", token, Some(body)).await?;
    anyhow::ensure!(status == 201, "create: {status} {playlist}");
    Ok(playlist)
}

#[tokio::test]
async fn a_playlist_is_created_read_changed_and_deleted() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, ann_id) = user(&gateway, "ann").await?;
    let playlist = create(
        &gateway,
        &ann,
        json!({"name": "Road trip", "track_ids": ["t1"]}),
    )
    .await?;
    assert_eq!(playlist["owner_id"], ann_id.as_str());
    assert_eq!(playlist["item_count"], 1);
    // The stand-in catalogue's tracks play for 215.25 s.
    assert_eq!(playlist["duration_ms"], 215_250);
    let id = text(&playlist, "/id").to_owned();
    let path = format!("/v1/playlists/{id}");

    let (status, page) = send(&gateway, Method::GET, &path, &ann, None).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["track_id"], "t1");
    assert_eq!(page["playlist"]["duration_ms"], 215_250);
    let version = page["playlist"]["version"].as_u64().expect("version");

    let change = json!({"name": "Night drive", "expected_version": version});
    let (status, changed) = send(&gateway, Method::PATCH, &path, &ann, Some(change)).await?;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Night drive");

    // The same expected version again: someone changed it meanwhile.
    let stale = json!({"name": "Too late", "expected_version": version});
    let (status, body) = send(&gateway, Method::PATCH, &path, &ann, Some(stale)).await?;
    assert_eq!(status, 412, "{body}");
    error_code(&body, "failed_precondition");

    for list in ["/v1/me/playlists", "/v1/playlists"] {
        let (status, mine) = send(&gateway, Method::GET, list, &ann, None).await?;
        assert_eq!(status, 200, "{mine}");
        assert_eq!(mine["playlists"][0]["playlist"]["id"], id.as_str());
        assert_eq!(mine["playlists"][0]["relation"], "owner");
    }

    let (status, _) = send(&gateway, Method::DELETE, &path, &ann, None).await?;
    assert_eq!(status, 204);
    let (status, body) = send(&gateway, Method::GET, &path, &ann, None).await?;
    assert_eq!(status, 404, "{body}");
    Ok(())
}

#[tokio::test]
async fn items_are_added_moved_and_removed_in_order() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, _) = user(&gateway, "ann").await?;
    let id = text(
        &create(&gateway, &ann, json!({"name": "Mix"})).await?,
        "/id",
    )
    .to_owned();
    let items = format!("/v1/playlists/{id}/items");
    let (status, added) = send(
        &gateway,
        Method::POST,
        &items,
        &ann,
        Some(json!({"track_id": "t1"})),
    )
    .await?;
    assert_eq!(status, 201, "{added}");
    let body = json!({"track_ids": ["t2", "t3"], "expected_version": added["version"]});
    let (status, added) = send(&gateway, Method::POST, &items, &ann, Some(body)).await?;
    assert_eq!(status, 201, "{added}");

    let body = json!({"range_start": 2, "insert_before": 0});
    let (status, moved) = send(
        &gateway,
        Method::POST,
        &format!("{items}/move"),
        &ann,
        Some(body),
    )
    .await?;
    assert_eq!(status, 200, "{moved}");
    let (_, page) = send(
        &gateway,
        Method::GET,
        &format!("/v1/playlists/{id}"),
        &ann,
        None,
    )
    .await?;
    let order: Vec<_> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["track_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(order, ["t3", "t1", "t2"]);

    let first = text(&page, "/items/0/item_id").to_owned();
    let (status, removed) = send(
        &gateway,
        Method::DELETE,
        &format!("{items}/{first}"),
        &ann,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{removed}");
    assert!(removed["version"].as_u64() > moved["version"].as_u64());

    let body = json!({"range_start": 40, "insert_before": 0});
    let (status, body) = send(
        &gateway,
        Method::POST,
        &format!("{items}/move"),
        &ann,
        Some(body),
    )
    .await?;
    assert!(status == 400 || status == 412, "{status} {body}");
    let (status, body) = send(&gateway, Method::POST, &items, &ann, Some(json!({}))).await?;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        &gateway,
        Method::POST,
        &items,
        &ann,
        Some(json!({"track_id": "missing-1"})),
    )
    .await?;
    assert!(
        (400..500).contains(&status),
        "unknown track: {status} {body}"
    );
    Ok(())
}

#[tokio::test]
async fn another_users_private_playlist_does_not_exist_for_them() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, _) = user(&gateway, "ann").await?;
    let (bob, bob_id) = user(&gateway, "bob").await?;
    let private = text(
        &create(&gateway, &ann, json!({"name": "Diary"})).await?,
        "/id",
    )
    .to_owned();
    let public = text(
        &create(&gateway, &ann, json!({"name": "Hits", "public": true})).await?,
        "/id",
    )
    .to_owned();

    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"name": "mine now"}))),
        (Method::DELETE, "", None),
        (Method::POST, "/items", Some(json!({"track_id": "t1"}))),
        (Method::PUT, "/follow", None),
    ] {
        let path = format!("/v1/playlists/{private}{suffix}");
        let (status, body) = send(&gateway, method.clone(), &path, &bob, body).await?;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }

    // A public one is readable and followable, not writable.
    let path = format!("/v1/playlists/{public}");
    let (status, _) = send(&gateway, Method::GET, &path, &bob, None).await?;
    assert_eq!(status, 200);
    let (status, body) = send(
        &gateway,
        Method::PATCH,
        &path,
        &bob,
        Some(json!({"name": "x"})),
    )
    .await?;
    assert!(status == 403 || status == 404, "{status} {body}");
    let (status, body) = send(&gateway, Method::PUT, &format!("{path}/follow"), &bob, None).await?;
    assert_eq!(status, 200, "{body}");
    let (_, mine) = send(&gateway, Method::GET, "/v1/me/playlists", &bob, None).await?;
    assert_eq!(mine["playlists"][0]["relation"], "follower", "{mine}");
    let (status, _) = send(
        &gateway,
        Method::DELETE,
        &format!("{path}/follow"),
        &bob,
        None,
    )
    .await?;
    assert_eq!(status, 204);

    // A collaborator of a collaborative playlist may edit it.
    let change = json!({"collaborative": true});
    let (status, body) = send(
        &gateway,
        Method::PATCH,
        &format!("/v1/playlists/{private}"),
        &ann,
        Some(change),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let collaborator = format!("/v1/playlists/{private}/collaborators/{bob_id}");
    let (status, body) = send(&gateway, Method::PUT, &collaborator, &ann, None).await?;
    assert_eq!(status, 200, "{body}");
    let items = format!("/v1/playlists/{private}/items");
    let (status, body) = send(
        &gateway,
        Method::POST,
        &items,
        &bob,
        Some(json!({"track_id": "t1"})),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(&gateway, Method::DELETE, &collaborator, &ann, None).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

#[tokio::test]
async fn liked_songs_are_liked_listed_checked_and_unliked() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, _) = user(&gateway, "ann").await?;
    for track in ["t1", "t2"] {
        let (status, body) = send(
            &gateway,
            Method::PUT,
            &format!("/v1/me/liked/{track}"),
            &ann,
            None,
        )
        .await?;
        assert_eq!(status, 200, "{body}");
    }
    let (status, page) = send(&gateway, Method::GET, "/v1/me/liked", &ann, None).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total_size"], 2);
    let (status, check) = send(
        &gateway,
        Method::GET,
        "/v1/me/liked/contains?track_ids=t2,t3",
        &ann,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["liked"], json!([true, false]));
    let (status, _) = send(&gateway, Method::DELETE, "/v1/me/liked/t2", &ann, None).await?;
    assert_eq!(status, 200);
    let (_, page) = send(&gateway, Method::GET, "/v1/me/liked", &ann, None).await?;
    assert_eq!(page["total_size"], 1);

    // Someone else's likes are their own.
    let (bob, _) = user(&gateway, "bob").await?;
    let (_, page) = send(&gateway, Method::GET, "/v1/me/liked", &bob, None).await?;
    assert_eq!(page["total_size"], 0);
    let (status, body) = send(
        &gateway,
        Method::GET,
        "/v1/me/liked/contains?track_ids=a%20b",
        &ann,
        None,
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    Ok(())
}

#[tokio::test]
async fn playlist_bodies_are_checked_before_they_travel() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, _) = user(&gateway, "ann").await?;
    let long = "x".repeat(10_000);
    let cases = [
        json!({"name": ""}),
        json!({"name": long}),
        json!({"name": "ok", "owner_id": "someone-else"}),
        json!({"name": 5}),
    ];
    for body in cases {
        let (status, answer) = send(
            &gateway,
            Method::POST,
            "/v1/playlists",
            &ann,
            Some(body.clone()),
        )
        .await?;
        assert_eq!(status, 400, "{body}: {answer}");
        error_code(&answer, "invalid_argument");
    }
    let (status, _) = send(&gateway, Method::GET, "/v1/playlists/a%2Fb", &ann, None).await?;
    assert_eq!(status, 400);
    let response = gateway
        .request(Method::GET, "/v1/me/playlists")
        .send()
        .await?;
    let (status, body) = status_and_json(response).await?;
    assert_eq!(status, 401);
    error_code(&body, "unauthenticated");
    Ok(())
}

#[tokio::test]
async fn an_addition_sent_twice_with_one_idempotency_key_adds_once() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let (ann, _) = user(&gateway, "ann").await?;
    let id = text(
        &create(&gateway, &ann, json!({"name": "Mix"})).await?,
        "/id",
    )
    .to_owned();
    let add = |key: &'static str| {
        let request = gateway.request(Method::POST, &format!("/v1/playlists/{id}/items"));
        let request = request.bearer_auth(&ann).header("idempotency-key", key);
        request.json(&json!({"track_id": "t1"})).send()
    };
    let first = add("add-7f3c").await?;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await?;
    // A client that timed out sends it again: the same answer, nothing added twice.
    let again = add("add-7f3c").await?;
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await?, first);
    let (_, page) = send(
        &gateway,
        Method::GET,
        &format!("/v1/playlists/{id}"),
        &ann,
        None,
    )
    .await?;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");

    let bad = add("../a key with spaces").await?;
    assert_eq!(bad.status(), 400);
    Ok(())
}
