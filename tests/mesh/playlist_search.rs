//! Public playlists are searchable through the real services: REST at the gateway →
//! playlist-svc (outbox) → the embedded bus → search-svc → `GET /v1/search` again; and a
//! playlist public before events carried details, found once playlist-svc's details backfill
//! ran at its start.

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

/// Rows of a previous release in playlist-svc's file: playlists that were public (or
/// private) before events carried details, so search has never seen them, and the details
/// backfill pending as migration V3 leaves it on such a file.
const OLD_PLAYLISTS: &str = "
    INSERT INTO playlists (id, owner_id, name, description, public, collaborative, version,
        revision, create_ms, update_ms)
    VALUES ('pl-old-public', 'user-old', 'Nebulous Backfill Anthems', 'from before', 1, 0,
            4, 6, 1, 2),
           ('pl-old-private', 'user-old', 'Nebulous Backfill Secrets', '', 0, 0, 2, 2, 1, 2);
    UPDATE playlist_backfills SET after_id = '', done_ms = NULL;";

#[tokio::test]
async fn a_playlist_public_before_the_upgrade_is_found_after_playlist_svc_starts()
-> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let dir = data.path().join("playlist");
    std::fs::create_dir_all(&dir)?;
    let store = tunemesh_playlist::store::sqlite::SqliteStore::open(
        &dir.join("playlists.sqlite"),
        tunemesh_events::outbox::OutboxWaker::new(),
    )
    .await?;
    store
        .connection()
        .call(|conn| conn.execute_batch(OLD_PLAYLISTS))
        .await?;
    drop(store);

    let mesh =
        RunningMesh::start_with(|settings| settings.data_dir = data.path().to_owned()).await?;
    mesh.wait_ready().await?;
    let [cyd] = mesh.listeners(["cyd"]).await?;
    until(
        &mesh,
        &cyd,
        "nebulous backfill",
        Duration::from_secs(10),
        |answer| hit(answer, "pl-old-public").is_some(),
    )
    .await?;
    // Had it been published, it would have been in the same batch, ahead of it (id order),
    // and so applied by now.
    let answer = search(&mesh, &cyd, "nebulous backfill").await?;
    assert!(hit(&answer, "pl-old-private").is_none(), "{answer}");
    mesh.stop().await
}
