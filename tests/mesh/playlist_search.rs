//! Public playlists are searchable through the real services: REST at the gateway →
//! playlist-svc (outbox) → the embedded bus → search-svc → `GET /v1/search` again.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::RunningMesh;

/// The freshness target, both ways.
const FRESHNESS: Duration = Duration::from_secs(1);

async fn search(mesh: &RunningMesh, token: &str, query: &str) -> anyhow::Result<Value> {
    let response = mesh
        .http
        // The test's queries are plain ASCII words.
        .get(mesh.url(&format!("/v1/search?q={}", query.replace(' ', "%20"))))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(response.status() == StatusCode::OK, "{}", response.status());
    Ok(response.json().await?)
}

/// The playlist `id` among the hits of `answer`, if there.
fn hit<'a>(answer: &'a Value, id: &str) -> Option<&'a Value> {
    answer["results"].as_array()?.iter().find_map(|result| {
        let item = &result["item"];
        (item["kind"] == "playlist" && item["id"] == id).then_some(item)
    })
}

/// Waits at most `within` until what `query` answers satisfies `check`; on a timeout, says
/// what it answered last.
async fn until(
    mesh: &RunningMesh,
    token: &str,
    query: &str,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> anyhow::Result<()> {
    let reached = tunemesh_testkit::eventually(within, || async {
        let answer = search(mesh, token, query).await?;
        anyhow::ensure!(check(&answer), "{answer}");
        Ok(())
    })
    .await;
    reached.map_err(|error| error.context(format!("{query:?} within {within:?}")))
}

#[tokio::test]
async fn a_public_playlist_is_found_by_a_typo_and_gone_within_a_second_of_going_private()
-> anyhow::Result<()> {
    let mesh = RunningMesh::start().await?;
    mesh.wait_ready().await?;
    let [ann, bob] = mesh.listeners(["ann", "bob"]).await?;

    let created = mesh
        .http
        .post(mesh.url("/v1/playlists"))
        .bearer_auth(&ann)
        .json(&json!({
            "name": "Thunderous Lullabies",
            "description": "storms to fall asleep to",
            "public": true,
        }))
        .send()
        .await?;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await?["id"]
        .as_str()
        .expect("a playlist id")
        .to_owned();
    // Another listener finds it by a typo'd name, within a second of its creation.
    let created = std::time::Instant::now();
    until(&mesh, &bob, "thunderus lulla", FRESHNESS, |answer| {
        hit(answer, &id).is_some()
    })
    .await?;
    eprintln!(
        "found by a typo {:?} after the creation answered",
        created.elapsed()
    );
    let private = mesh
        .http
        .post(mesh.url("/v1/playlists"))
        .bearer_auth(&ann)
        .json(&json!({ "name": "Thunderous Diary" }))
        .send()
        .await?;
    assert_eq!(private.status(), StatusCode::CREATED);
    let private = private.json::<Value>().await?["id"]
        .as_str()
        .expect("a playlist id")
        .to_owned();

    // Following it makes it popular: the result says so.
    let follow = mesh
        .http
        .put(mesh.url(&format!("/v1/playlists/{id}/follow")))
        .bearer_auth(&bob)
        .send()
        .await?;
    assert!(follow.status().is_success(), "{}", follow.status());
    until(
        &mesh,
        &bob,
        "thunderous",
        Duration::from_secs(10),
        |answer| hit(answer, &id).is_some_and(|item| item["follower_count"] == 1),
    )
    .await?;
    // The private playlist's creation was published before the follow, so it has been
    // applied by now: it is not searchable, not even by its owner.
    let mine = search(&mesh, &ann, "thunderous diary").await?;
    assert!(hit(&mine, &private).is_none(), "{mine}");

    let hide = mesh
        .http
        .patch(mesh.url(&format!("/v1/playlists/{id}")))
        .bearer_auth(&ann)
        .json(&json!({ "public": false }))
        .send()
        .await?;
    assert!(hide.status().is_success(), "{}", hide.status());
    let hidden = std::time::Instant::now();
    until(&mesh, &bob, "thunderous lullabies", FRESHNESS, |answer| {
        hit(answer, &id).is_none()
    })
    .await?;
    eprintln!("gone {:?} after the change answered", hidden.elapsed());
    mesh.stop().await
}
