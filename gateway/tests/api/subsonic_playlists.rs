//! Subsonic playlists against the real playlist-svc (and the stand-in catalogue): create with
//! songs, read in JSON and schema-valid XML, edit by index as apps do, replace, delete, and
//! another user's private playlist answering 70.

use serde_json::Value;

use crate::subsonic_support::{app_user, json_call, xml_call};
use crate::support;

/// The `entry` track ids of a playlist answer.
fn entries(playlist: &Value) -> Vec<String> {
    playlist["entry"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn apps_create_read_edit_by_index_replace_and_delete_playlists() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = format!("u={}&p={}", ann.name, ann.secret);

    let created = json_call(
        &gateway,
        "createPlaylist",
        &format!("{auth}&name=Road%20trip&songId=t1&songId=t2&songId=t3"),
    )
    .await?;
    assert_eq!(created["status"], "ok", "{created}");
    let playlist = &created["playlist"];
    let id = playlist["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(playlist["name"], "Road trip");
    assert_eq!(playlist["owner"], "ann");
    assert_eq!(playlist["songCount"], 3);
    assert_eq!(entries(playlist), ["t1", "t2", "t3"]);
    // Three songs of 215.25 s: 645.75 s, rounded once.
    assert_eq!(playlist["duration"], 646, "{playlist}");

    let listed = json_call(&gateway, "getPlaylists", &auth).await?;
    let all = listed["playlists"]["playlist"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(all.len(), 1, "{listed}");
    assert_eq!(all[0]["id"], id.as_str());
    // The listing gives playlist-svc's total, the same as getPlaylist.
    assert_eq!(all[0]["duration"], 646, "{listed}");
    assert!(all[0].get("entry").is_none(), "a listing carries no songs");

    // Remove the first and third songs by index, rename, make it public, add one.
    let updated = json_call(
        &gateway,
        "updatePlaylist",
        &format!(
            "{auth}&playlistId={id}&name=Trip&public=true&songIndexToRemove=0&songIndexToRemove=2&songIdToAdd=t4"
        ),
    )
    .await?;
    assert_eq!(updated["status"], "ok", "{updated}");
    let read = json_call(&gateway, "getPlaylist", &format!("{auth}&id={id}")).await?;
    assert_eq!(read["playlist"]["name"], "Trip");
    assert_eq!(read["playlist"]["public"], true);
    assert_eq!(entries(&read["playlist"]), ["t2", "t4"]);
    assert_eq!(read["playlist"]["duration"], 431, "{read}");
    let listed = json_call(&gateway, "getPlaylists", &auth).await?;
    assert_eq!(
        listed["playlists"]["playlist"][0]["duration"], 431,
        "{listed}"
    );
    xml_call(&gateway, "getPlaylist", &format!("{auth}&id={id}")).await?;
    xml_call(&gateway, "getPlaylists", &auth).await?;

    // An index past the end removes nothing and says so.
    let past = json_call(
        &gateway,
        "updatePlaylist",
        &format!("{auth}&playlistId={id}&songIndexToRemove=9"),
    )
    .await?;
    assert_eq!(past["error"]["code"], 70, "{past}");

    // createPlaylist with playlistId replaces the songs.
    let replaced = json_call(
        &gateway,
        "createPlaylist",
        &format!("{auth}&playlistId={id}&songId=t5&songId=t5"),
    )
    .await?;
    assert_eq!(entries(&replaced["playlist"]), ["t5", "t5"], "{replaced}");
    let listed = json_call(&gateway, "getPlaylists", &auth).await?;
    assert_eq!(
        listed["playlists"]["playlist"][0]["duration"], 431,
        "{listed}"
    );

    // Someone else reads a public playlist with its owner's name, but cannot read or delete
    // a private one.
    let bob = app_user(&gateway, "bob", "Feishin").await?;
    let bob_auth = format!("u={}&p={}", bob.name, bob.secret);
    let public = json_call(&gateway, "getPlaylist", &format!("{bob_auth}&id={id}")).await?;
    assert_eq!(public["playlist"]["owner"], "ann", "{public}");
    json_call(
        &gateway,
        "updatePlaylist",
        &format!("{auth}&playlistId={id}&public=false"),
    )
    .await?;
    let hidden = json_call(&gateway, "getPlaylist", &format!("{bob_auth}&id={id}")).await?;
    assert_eq!(hidden["error"]["code"], 70, "{hidden}");
    let refused = json_call(&gateway, "deletePlaylist", &format!("{bob_auth}&id={id}")).await?;
    assert_eq!(refused["error"]["code"], 70, "{refused}");
    let others = json_call(
        &gateway,
        "getPlaylists",
        &format!("{bob_auth}&username=ann"),
    )
    .await?;
    assert_eq!(others["error"]["code"], 50, "{others}");

    let deleted = json_call(&gateway, "deletePlaylist", &format!("{auth}&id={id}")).await?;
    assert_eq!(deleted["status"], "ok", "{deleted}");
    let gone = json_call(&gateway, "getPlaylist", &format!("{auth}&id={id}")).await?;
    assert_eq!(gone["error"]["code"], 70);
    let missing = json_call(&gateway, "createPlaylist", &auth).await?;
    assert_eq!(missing["error"]["code"], 10, "{missing}");
    Ok(())
}
