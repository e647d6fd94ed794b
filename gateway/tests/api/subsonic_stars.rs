//! Stars and the play queue on `/rest`, through the real playlist-svc and the fake catalogue:
//! `star`/`unstar` of songs, albums and artists (ids typed by prefix, or by `albumId` and
//! `artistId`), `getStarred`/`getStarred2` with like times, `savePlayQueue`/`getPlayQueue` and
//! their `indexBasedQueue` versions, and the same queue through `/v1/me/play-queue`. JSON
//! answers are checked field by field, XML answers validated against the XSD.

use reqwest::Method;
use serde_json::{Value, json};

use crate::subsonic_support::{
    AppUser, app_user, assert_envelope, assert_valid, failed_with, json_call, xml_call,
};
use crate::support::{self, TestGateway};

/// `u` and `p` of `user`, for a query.
fn auth(user: &AppUser) -> String {
    format!("u={}&p={}&v=1.16.1&c=DSub", user.name, user.secret)
}

/// The ids of a JSON list of items.
fn ids(items: &Value) -> Vec<&str> {
    items
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["id"].as_str()).collect())
        .unwrap_or_default()
}

/// Calls `method` in JSON and asserts it succeeded; its answer.
async fn ok(gateway: &TestGateway, method: &str, query: &str) -> anyhow::Result<Value> {
    let body = json_call(gateway, method, query).await?;
    assert_eq!(body["status"], "ok", "{method}: {body}");
    assert_envelope(&body);
    Ok(body)
}

#[tokio::test]
async fn songs_albums_and_artists_are_starred_with_their_times() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let a = auth(&ann);
    // A song, an album through `id` (DSub's folder mode), an album and an artist by tag.
    ok(
        &gateway,
        "star",
        &format!("{a}&id=tr_1&id=tr_2&id=al_9&albumId=al_2&artistId=ar_1&id=tr_1"),
    )
    .await?;

    let body = ok(&gateway, "getStarred2", &a).await?;
    let starred = &body["starred2"];
    let mut songs = ids(&starred["song"]);
    songs.sort_unstable();
    assert_eq!(songs, ["tr_1", "tr_2"], "{starred}");
    let mut albums = ids(&starred["album"]);
    albums.sort_unstable();
    assert_eq!(albums, ["al_2", "al_9"], "{starred}");
    assert_eq!(ids(&starred["artist"]), ["ar_1"], "{starred}");
    for item in ["song", "album", "artist"]
        .iter()
        .flat_map(|kind| starred[kind].as_array().into_iter().flatten())
    {
        let at = item["starred"].as_str().unwrap_or_default();
        assert!(at.ends_with('Z') && at.contains('T'), "{item}");
    }
    assert_eq!(starred["artist"][0]["name"], "Artist ar_1");
    assert_eq!(starred["song"][0]["isDir"], false);

    // getStarred: albums as directories, artists as `Artist`.
    let body = ok(&gateway, "getStarred", &a).await?;
    assert_eq!(body["starred"]["album"][0]["isDir"], true, "{body}");
    assert!(
        body["starred"]["artist"][0]["starred"].is_string(),
        "{body}"
    );
    assert!(body["starred"]["artist"][0].get("albumCount").is_none());
    for method in ["getStarred", "getStarred2"] {
        let xml = xml_call(&gateway, method, &a).await?;
        assert!(xml.contains("starred=\""), "{xml}");
    }

    // Unstar takes the same parameters; another user has nothing starred.
    ok(
        &gateway,
        "unstar",
        &format!("{a}&id=tr_1&albumId=al_2&id=ar_1"),
    )
    .await?;
    let starred = ok(&gateway, "getStarred2", &a).await?["starred2"].clone();
    assert_eq!(ids(&starred["song"]), ["tr_2"]);
    assert_eq!(ids(&starred["album"]), ["al_9"]);
    assert!(starred.get("artist").is_none(), "{starred}");
    let bob = app_user(&gateway, "bob", "Feishin").await?;
    let empty = ok(&gateway, "getStarred2", &auth(&bob)).await?;
    assert_eq!(empty["starred2"], json!({}));
    xml_call(&gateway, "getStarred", &auth(&bob)).await?;
    Ok(())
}

#[tokio::test]
async fn bad_stars_answer_subsonic_errors() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let a = auth(&ann);
    for (query, code) in [
        (String::new(), 10),
        ("&id=".to_owned(), 10),
        ("&id=../etc".to_owned(), 10),
        ("&id=missing-1".to_owned(), 70),
        ("&albumId=missing-al".to_owned(), 70),
        ("&artistId=missing-ar".to_owned(), 70),
        ((0..1001).map(|n| format!("&id=tr_{n}")).collect(), 10),
    ] {
        let body = json_call(&gateway, "star", &format!("{a}{query}")).await?;
        failed_with(&body, code);
    }
    // Nothing of the refused calls was starred.
    let body = ok(&gateway, "getStarred2", &a).await?;
    assert_eq!(body["starred2"], json!({}));
    // 250 songs in one call: three batches.
    let many: String = (0..250).map(|n| format!("&id=tr_{n}")).collect();
    ok(&gateway, "star", &format!("{a}{many}")).await?;
    let body = ok(&gateway, "getStarred2", &a).await?;
    assert_eq!(ids(&body["starred2"]["song"]).len(), 250);
    Ok(())
}

/// Removes `current="…"` from a `playQueue` document: OpenSubsonic made it an id (a string),
/// which the 1.16.1 XSD still types as an int.
fn without_current(xml: &str) -> String {
    match xml.find(" current=\"") {
        Some(start) => {
            let rest = &xml[start + " current=\"".len()..];
            let end = rest.find('"').map_or(0, |e| e + 1);
            format!("{}{}", &xml[..start], &rest[end..])
        }
        None => xml.to_owned(),
    }
}

#[tokio::test]
async fn the_play_queue_resumes_by_id_by_index_and_in_the_web_player() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let a = auth(&ann);
    // Nothing saved yet: an empty answer, as Navidrome gives.
    let body = ok(&gateway, "getPlayQueue", &a).await?;
    assert!(body.get("playQueue").is_none(), "{body}");

    ok(&gateway, "star", &format!("{a}&id=tr_2")).await?;
    let save = format!("{a}&id=tr_1&id=tr_2&id=tr_1&current=tr_2&position=61500");
    ok(&gateway, "savePlayQueue", &save).await?;
    let queue = ok(&gateway, "getPlayQueue", &a).await?["playQueue"].clone();
    assert_eq!(ids(&queue["entry"]), ["tr_1", "tr_2", "tr_1"]);
    assert_eq!(queue["current"], "tr_2");
    assert_eq!(queue["position"], 61500);
    assert_eq!(queue["username"], "ann");
    assert_eq!(queue["changedBy"], "DSub");
    assert!(queue["changed"].as_str().is_some_and(|c| c.ends_with('Z')));
    assert!(queue["entry"][1]["starred"].is_string(), "{queue}");
    assert!(queue["entry"][0].get("starred").is_none(), "{queue}");
    let by_index = ok(&gateway, "getPlayQueueByIndex", &a).await?;
    assert_eq!(by_index["playQueueByIndex"]["currentIndex"], 1);
    let xml = xml_call(&gateway, "getPlayQueueByIndex", &a).await?;
    assert!(xml.contains("currentIndex=\"1\""), "{xml}");
    let response = gateway
        .request(Method::GET, &format!("/rest/getPlayQueue?{a}"))
        .send()
        .await?;
    let xml = response.text().await?;
    assert!(xml.contains(" current=\"tr_2\""), "{xml}");
    assert_valid(&without_current(&xml));

    // By index: a duplicate stays exact, a track the catalogue lost drops out of the answer.
    let save = format!("{a}&id=tr_1&id=missing-9&id=tr_1&currentIndex=2&position=5");
    ok(&gateway, "savePlayQueueByIndex", &save).await?;
    let queue = ok(&gateway, "getPlayQueueByIndex", &a).await?["playQueueByIndex"].clone();
    assert_eq!(ids(&queue["entry"]), ["tr_1", "tr_1"]);
    assert_eq!(queue["currentIndex"], 1);
    for bad in [
        "&id=tr_1&currentIndex=1",
        "&id=tr_1&currentIndex=-1",
        "&id=tr_1",
        "&currentIndex=0",
        "&id=tr_1&currentIndex=0&position=soon",
    ] {
        let body = json_call(&gateway, "savePlayQueueByIndex", &format!("{a}{bad}")).await?;
        failed_with(&body, 10);
    }

    // The web player reads the same queue and saves its own.
    let rest = gateway
        .request(Method::GET, "/v1/me/play-queue")
        .bearer_auth(&ann.token)
        .send()
        .await?;
    assert_eq!(rest.status(), 200);
    let rest: Value = rest.json().await?;
    assert_eq!(rest["track_ids"], json!(["tr_1", "missing-9", "tr_1"]));
    assert_eq!(
        (rest["current_index"].as_u64(), rest["position_ms"].as_i64()),
        (Some(2), Some(5))
    );
    let put = gateway
        .request(Method::PUT, "/v1/me/play-queue")
        .bearer_auth(&ann.token)
        .json(&json!({"track_ids": ["tr_7", "tr_8"], "current_index": 1, "position_ms": 900}))
        .send()
        .await?;
    assert_eq!(put.status(), 200);
    let saved: Value = put.json().await?;
    assert_eq!(saved["changed_by"], "web");
    let queue = ok(&gateway, "getPlayQueue", &a).await?["playQueue"].clone();
    assert_eq!(
        (queue["current"].as_str(), queue["changedBy"].as_str()),
        (Some("tr_8"), Some("web"))
    );

    // An empty save clears the queue.
    ok(&gateway, "savePlayQueue", &a).await?;
    let body = ok(&gateway, "getPlayQueue", &a).await?;
    assert!(body.get("playQueue").is_none(), "{body}");
    xml_call(&gateway, "getPlayQueue", &a).await?;
    Ok(())
}

#[tokio::test]
async fn the_play_queue_route_checks_what_it_saves() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let get = gateway
        .request(Method::GET, "/v1/me/play-queue")
        .bearer_auth(&ann.token)
        .send()
        .await?;
    assert_eq!(get.status(), 404);
    let too_many: Vec<String> = (0..1001).map(|n| format!("tr_{n}")).collect();
    for (body, status) in [
        (json!({"track_ids": too_many}), 400),
        (json!({"track_ids": ["tr_1"], "current_index": 1}), 400),
        (json!({"track_ids": ["../x"]}), 400),
        (json!({"track_ids": [], "expected_version": 3}), 412),
        (json!({"track_ids": ["tr_1"], "surprise": true}), 400),
    ] {
        let response = gateway
            .request(Method::PUT, "/v1/me/play-queue")
            .bearer_auth(&ann.token)
            .json(&body)
            .send()
            .await?;
        assert_eq!(response.status(), status, "{body}");
    }
    let anonymous = gateway
        .request(Method::GET, "/v1/me/play-queue")
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    let document = gateway.request(Method::GET, "/openapi.json").send().await?;
    let document: Value = document.json().await?;
    let path = &document["paths"]["/v1/me/play-queue"];
    assert!(path["get"].is_object() && path["put"].is_object(), "{path}");
    // The extension is advertised.
    let body = json_call(&gateway, "getOpenSubsonicExtensions", "").await?;
    let names: Vec<&str> = body["openSubsonicExtensions"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"indexBasedQueue"), "{body}");
    Ok(())
}
