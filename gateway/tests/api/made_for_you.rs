//! `GET /v1/me/made-for-you` against the real playlist-svc: the playlists generated for the
//! caller (put there by a service identity, as reco-svc's mixer does), nobody else's; they
//! read like any playlist and refuse every change with 403.

use reqwest::Method;
use serde_json::json;
use tunemesh_proto::playlist::v1::PutGeneratedPlaylistRequest;
use tunemesh_proto::playlist::v1::playlist_service_client::PlaylistServiceClient;

use crate::support::{self, TestGateway, status_and_json, text};

/// Puts `user`'s daily mix of `tracks` as reco-svc would.
async fn put_mix(gateway: &TestGateway, user: &str, tracks: &[&str]) -> anyhow::Result<String> {
    // No assertion: reco-svc is known by its mesh certificate alone.
    let request = tonic::Request::new(PutGeneratedPlaylistRequest {
        for_user_id: user.to_owned(),
        kind: "daily-mix".to_owned(),
        name: "Daily Mix".to_owned(),
        description: "made for you".to_owned(),
        track_ids: tracks.iter().map(|t| (*t).to_owned()).collect(),
    });
    let answer = PlaylistServiceClient::new(gateway.services.mesh_as("reco")?.channel("playlist"))
        .put_generated_playlist(request)
        .await?
        .into_inner();
    Ok(answer.playlist.map(|p| p.id).unwrap_or_default())
}

#[tokio::test]
async fn made_for_you_lists_the_callers_generated_playlists_which_refuse_changes()
-> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = gateway.signup("ann").await?;
    let bob = gateway.signup("bob").await?;
    let (ann_token, ann_id) = (text(&ann, "/access_token"), text(&ann, "/user_id"));
    let bob_token = text(&bob, "/access_token");

    let (status, empty) =
        status_and_json(gateway.get("/v1/me/made-for-you", ann_token).await?).await?;
    assert_eq!((status, empty), (200, json!({ "playlists": [] })));

    let id = put_mix(&gateway, ann_id, &["t1", "t2"]).await?;
    let (status, answer) =
        status_and_json(gateway.get("/v1/me/made-for-you", ann_token).await?).await?;
    assert_eq!(status, 200, "{answer}");
    let mix = &answer["playlists"][0];
    assert_eq!(mix["id"], id.as_str(), "{answer}");
    assert_eq!(mix["owner_id"], "system", "{answer}");
    assert_eq!(
        mix["generated"],
        json!({ "user_id": ann_id, "kind": "daily-mix" })
    );
    assert_eq!(mix["item_count"], 2, "{answer}");
    let (status, theirs) =
        status_and_json(gateway.get("/v1/me/made-for-you", bob_token).await?).await?;
    assert_eq!((status, theirs), (200, json!({ "playlists": [] })));

    let path = format!("/v1/playlists/{id}");
    let (status, page) = status_and_json(gateway.get(&path, ann_token).await?).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][1]["track_id"], "t2", "{page}");
    let rename = gateway
        .request(Method::PATCH, &path)
        .bearer_auth(ann_token)
        .json(&json!({ "name": "mine now" }))
        .send()
        .await?;
    let (status, refused) = status_and_json(rename).await?;
    assert_eq!(status, 403, "{refused}");
    let delete = gateway
        .request(Method::DELETE, &path)
        .bearer_auth(ann_token)
        .send()
        .await?;
    assert_eq!(delete.status(), 403);
    let (status, _) = status_and_json(gateway.get(&path, bob_token).await?).await?;
    assert_eq!(status, 404, "bob does not see ann's mix");
    let anonymous = gateway
        .request(Method::GET, "/v1/me/made-for-you")
        .send()
        .await?;
    assert_eq!(anonymous.status(), 401);
    Ok(())
}
