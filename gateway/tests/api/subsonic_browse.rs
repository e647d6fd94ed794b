//! Browsing on `/rest` against the fake catalogue's small library (`fake_library.rs`):
//! `getIndexes`, `getArtists`, `getMusicDirectory` and the empty info and lyrics answers, in
//! JSON and in XML valid against the Subsonic XSD, with their error codes.

use serde_json::Value;

use crate::subsonic_support::{app_user, failed_with, json_call, xml_call};
use crate::support::{self, TestGateway};

/// A gateway whose catalogue answers from the library, and the credentials of a user.
pub async fn library_gateway() -> anyhow::Result<(TestGateway, String)> {
    let gateway = support::spawn().await?;
    gateway
        .upstream
        .seen
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .library = true;
    let ann = app_user(&gateway, "ann", "DSub").await?;
    let auth = format!("u=ann&p={}&v=1.2.0&c=DSub", ann.secret);
    Ok((gateway, auth))
}

/// The `name` of every item of `list` (a JSON array), in order.
pub fn names<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .map(|items| items.iter().filter_map(|i| i[key].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn indexes_group_artists_by_letter_and_answer_if_modified_since() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let body = json_call(&gateway, "getIndexes", &auth).await?;
    let indexes = &body["indexes"];
    assert_eq!(indexes["ignoredArticles"], "The A An", "{body}");
    // Air, "Beatles, The", then 2Pac under # at the end.
    let groups = names(&indexes["index"], "name");
    assert_eq!(groups, ["A", "B", "#"], "{body}");
    assert_eq!(
        names(&indexes["index"][1]["artist"], "name"),
        ["The Beatles"]
    );
    assert_eq!(indexes["index"][2]["artist"][0]["id"], "ar_03");
    // The latest artist change (ar_03, a minute after ar_02, two after ar_01), in ms.
    let last = indexes["lastModified"].as_i64().expect("a number");
    assert_eq!(last, (1_700_000_000 + 120) * 1000);
    // Nothing changed since: no index, the same lastModified.
    let since = json_call(
        &gateway,
        "getIndexes",
        &format!("{auth}&ifModifiedSince={last}"),
    )
    .await?;
    assert_eq!(since["indexes"]["lastModified"], last, "{since}");
    assert_eq!(since["indexes"]["index"], serde_json::json!([]), "{since}");
    let older = format!("{auth}&ifModifiedSince={}&musicFolderId=1", last - 1);
    let changed = json_call(&gateway, "getIndexes", &older).await?;
    assert_eq!(names(&changed["indexes"]["index"], "name").len(), 3);
    let xml = xml_call(&gateway, "getIndexes.view", &auth).await?;
    assert!(
        xml.contains(r#"<index name="B"><artist id="ar_01" name="The Beatles"/></index>"#),
        "{xml}"
    );
    xml_call(
        &gateway,
        "getIndexes",
        &format!("{auth}&ifModifiedSince={last}"),
    )
    .await?;
    let bad = json_call(
        &gateway,
        "getIndexes",
        &format!("{auth}&ifModifiedSince=yesterday"),
    )
    .await?;
    failed_with(&bad, 10);
    Ok(())
}

#[tokio::test]
async fn artists_are_indexed_by_tags_with_album_counts() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let body = json_call(&gateway, "getArtists", &auth).await?;
    let artists = &body["artists"];
    assert_eq!(artists["ignoredArticles"], "The A An", "{body}");
    assert_eq!(names(&artists["index"], "name"), ["A", "B", "#"]);
    let air = &artists["index"][0]["artist"][0];
    assert_eq!(
        (air["id"].as_str(), air["name"].as_str()),
        (Some("ar_02"), Some("Air"))
    );
    assert_eq!(air["albumCount"], 1, "{body}");
    let xml = xml_call(&gateway, "getArtists", &auth).await?;
    assert!(
        xml.contains(
            r#"<artists ignoredArticles="The A An"><index name="A"><artist id="ar_02" name="Air""#
        ),
        "{xml}"
    );
    Ok(())
}

#[tokio::test]
async fn a_music_directory_is_an_artists_albums_or_an_albums_songs() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let artist = json_call(&gateway, "getMusicDirectory", &format!("{auth}&id=ar_01")).await?;
    let dir = &artist["directory"];
    assert_eq!(
        (dir["id"].as_str(), dir["name"].as_str()),
        (Some("ar_01"), Some("The Beatles")),
        "{artist}"
    );
    assert_eq!(dir["child"][0]["id"], "al_01");
    assert_eq!(dir["child"][0]["isDir"], true);
    assert_eq!(dir["child"][0]["title"], "Abbey Road");
    assert_eq!(dir["child"][0]["parent"], "ar_01");
    let album = json_call(&gateway, "getMusicDirectory", &format!("{auth}&id=al_01")).await?;
    let dir = &album["directory"];
    assert_eq!(
        (dir["name"].as_str(), dir["parent"].as_str()),
        (Some("Abbey Road"), Some("ar_01")),
        "{album}"
    );
    assert_eq!(
        names(&dir["child"], "title"),
        ["Come Together", "Something"]
    );
    assert_eq!(dir["child"][0]["isDir"], false);
    assert_eq!(dir["child"][0]["suffix"], "opus");
    for id in ["ar_01", "al_01"] {
        xml_call(
            &gateway,
            "getMusicDirectory.view",
            &format!("{auth}&id={id}"),
        )
        .await?;
    }
    // Missing → 10; unknown artist or album, or not a folder id → 70; malformed → 10.
    for (query, code) in [
        (String::new(), 10),
        ("&id=ar_ff".into(), 70),
        ("&id=al_ff".into(), 70),
        ("&id=tr_01".into(), 70),
        ("&id=a%2Fb".into(), 10),
    ] {
        let body = json_call(&gateway, "getMusicDirectory", &format!("{auth}{query}")).await?;
        failed_with(&body, code);
        let xml = xml_call(&gateway, "getMusicDirectory", &format!("{auth}{query}")).await?;
        assert!(xml.contains(&format!(r#"<error code="{code}""#)), "{xml}");
    }
    Ok(())
}

#[tokio::test]
async fn infos_and_lyrics_answer_valid_empty_elements() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    for (method, element, query) in [
        ("getArtistInfo", "artistInfo", "&id=ar_01"),
        ("getArtistInfo2", "artistInfo2", "&id=ar_01"),
        ("getAlbumInfo", "albumInfo", "&id=al_01"),
        ("getAlbumInfo2", "albumInfo", "&id=al_01"),
        ("getLyrics", "lyrics", "&artist=Air&title=Sexy%20Boy"),
        ("getLyricsBySongId", "lyricsList", "&id=tr_04"),
    ] {
        let body = json_call(&gateway, method, &format!("{auth}{query}")).await?;
        assert_eq!(body["status"], "ok", "{method}: {body}");
        assert!(body[element].is_object(), "{method}: {body}");
        let xml = xml_call(&gateway, method, &format!("{auth}{query}")).await?;
        assert!(xml.contains(&format!("<{element}/>")), "{method}: {xml}");
    }
    for method in ["getArtistInfo2", "getAlbumInfo2", "getLyricsBySongId"] {
        failed_with(&json_call(&gateway, method, &auth).await?, 10);
    }
    Ok(())
}
