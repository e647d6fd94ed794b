//! Lists and search on `/rest` against the fake catalogue's library: `getAlbumList`/`2` of
//! every type, `getRandomSongs`, `getGenres`, `getSongsByGenre`, `search2`/`search3` (with an
//! empty query: the library sync), in JSON and in XML valid against the Subsonic XSD.

use crate::subsonic_browse::{library_gateway, names};
use crate::subsonic_support::{failed_with, json_call, xml_call};
use crate::support::TestGateway;

/// The last library request whose text contains `marker`.
fn last_call(gateway: &TestGateway, marker: &str) -> String {
    let seen = gateway.upstream.seen.lock().expect("not poisoned");
    let found = seen.library_calls.iter().rev().find(|c| c.contains(marker));
    found.cloned().unwrap_or_default()
}

#[tokio::test]
async fn album_lists_map_each_type_onto_the_catalogue_and_reco() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let cases: &[(&str, &[&str])] = &[
        (
            "type=newest",
            &["All Eyez on Me", "Moon Safari", "Abbey Road"],
        ),
        (
            "type=alphabeticalByName",
            &["Abbey Road", "All Eyez on Me", "Moon Safari"],
        ),
        // 2Pac, Air, "Beatles, The".
        (
            "type=alphabeticalByArtist",
            &["All Eyez on Me", "Moon Safari", "Abbey Road"],
        ),
        (
            "type=byYear&fromYear=1990&toYear=2000",
            &["All Eyez on Me", "Moon Safari"],
        ),
        (
            "type=byYear&fromYear=2000&toYear=1960",
            &["Moon Safari", "All Eyez on Me", "Abbey Road"],
        ),
        ("type=byGenre&genre=Rock", &["Abbey Road"]),
        ("type=random&size=2", &["Abbey Road", "Moon Safari"]),
        ("type=newest&size=1&offset=1", &["Moon Safari"]),
        ("type=starred", &[]),
    ];
    for (query, want) in cases {
        let body = json_call(&gateway, "getAlbumList2", &format!("{auth}&{query}")).await?;
        assert_eq!(
            names(&body["albumList2"]["album"], "name"),
            *want,
            "{query}: {body}"
        );
        let v1 = json_call(&gateway, "getAlbumList", &format!("{auth}&{query}")).await?;
        assert_eq!(
            names(&v1["albumList"]["album"], "title"),
            *want,
            "{query}: {v1}"
        );
        if let Some(first) = v1["albumList"]["album"].get(0) {
            assert_eq!(first["isDir"], true, "{v1}");
        }
        xml_call(&gateway, "getAlbumList2", &format!("{auth}&{query}")).await?;
        xml_call(&gateway, "getAlbumList.view", &format!("{auth}&{query}")).await?;
    }
    // The reversed range asks the catalogue for the range latest first.
    json_call(
        &gateway,
        "getAlbumList2",
        &format!("{auth}&type=byYear&fromYear=2000&toYear=1960"),
    )
    .await?;
    let asked = last_call(&gateway, "from_year");
    assert!(
        asked.contains("from_year: 1960, to_year: 2000") && asked.contains("order: YearDescending"),
        "{asked}"
    );
    // Sizes are bounded; the default is 10.
    json_call(
        &gateway,
        "getAlbumList2",
        &format!("{auth}&type=newest&size=9999&offset=3"),
    )
    .await?;
    let asked = last_call(&gateway, "page_size");
    assert!(
        asked.contains("page_size: 500") && asked.contains("offset: 3"),
        "{asked}"
    );
    // recent and frequent come from reco-svc (the stand-in's albums are not in the library:
    // albums the catalogue lacks are left out, and the answer stays valid).
    for kind in ["recent", "frequent", "highest"] {
        let body = json_call(&gateway, "getAlbumList2", &format!("{auth}&type={kind}")).await?;
        assert_eq!(body["status"], "ok", "{kind}: {body}");
        xml_call(&gateway, "getAlbumList2", &format!("{auth}&type={kind}")).await?;
    }
    for query in [
        "",
        "&type=best",
        "&type=byYear&fromYear=1990",
        "&type=byGenre",
        "&type=newest&size=ten",
    ] {
        let body = json_call(&gateway, "getAlbumList2", &format!("{auth}{query}")).await?;
        failed_with(&body, 10);
    }
    Ok(())
}

#[tokio::test]
async fn random_songs_genres_and_songs_by_genre() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let body = json_call(&gateway, "getRandomSongs", &format!("{auth}&size=3")).await?;
    assert_eq!(
        body["randomSongs"]["song"].as_array().map(Vec::len),
        Some(3),
        "{body}"
    );
    let query = format!("{auth}&genre=Electronic&fromYear=1990&toYear=1999");
    let body = json_call(&gateway, "getRandomSongs", &query).await?;
    assert_eq!(
        names(&body["randomSongs"]["song"], "title"),
        ["La Femme d'Argent", "Sexy Boy"]
    );
    let asked = last_call(&gateway, "SampleTracksRequest");
    assert!(
        asked.contains("size: 10, genre: \"Electronic\", from_year: 1990, to_year: 1999"),
        "{asked}"
    );
    xml_call(&gateway, "getRandomSongs", &query).await?;
    failed_with(
        &json_call(
            &gateway,
            "getRandomSongs",
            &format!("{auth}&fromYear=2000&toYear=1990"),
        )
        .await?,
        10,
    );

    let body = json_call(&gateway, "getGenres", &auth).await?;
    let genres = &body["genres"]["genre"];
    assert_eq!(
        names(genres, "value"),
        ["Electronic", "Hip-Hop", "Rock"],
        "{body}"
    );
    assert_eq!(
        (
            genres[2]["songCount"].as_i64(),
            genres[2]["albumCount"].as_i64()
        ),
        (Some(2), Some(1))
    );
    let xml = xml_call(&gateway, "getGenres", &auth).await?;
    assert!(
        xml.contains(r#"<genre songCount="2" albumCount="1">Electronic</genre>"#),
        "{xml}"
    );

    let query = format!("{auth}&genre=Rock&count=1&offset=1");
    let body = json_call(&gateway, "getSongsByGenre", &query).await?;
    assert_eq!(
        names(&body["songsByGenre"]["song"], "title"),
        ["Something"],
        "{body}"
    );
    xml_call(&gateway, "getSongsByGenre", &query).await?;
    failed_with(&json_call(&gateway, "getSongsByGenre", &auth).await?, 10);
    let body = json_call(&gateway, "getSongsByGenre", &format!("{auth}&genre=Polka")).await?;
    assert_eq!(
        body["songsByGenre"]["song"],
        serde_json::json!([]),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn an_empty_search_lists_the_library_by_position_for_sync() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    // Feishin sends query="" literally; others send nothing, an empty value or *. Artists
    // come by sort name (2Pac, Air, "Beatles, The"), albums and songs oldest first.
    for query in ["query=%22%22", "query=", "query=*", ""] {
        let q = format!(
            "{auth}&{query}&songCount=2&songOffset=2&albumCount=500&artistCount=1&artistOffset=1"
        );
        let body = json_call(&gateway, "search3", &q).await?;
        let result = &body["searchResult3"];
        assert_eq!(names(&result["artist"], "name"), ["Air"], "{query}: {body}");
        assert_eq!(names(&result["album"], "name").len(), 3, "{body}");
        assert_eq!(
            names(&result["song"], "title"),
            ["La Femme d'Argent", "Sexy Boy"],
            "{body}"
        );
        xml_call(&gateway, "search3", &q).await?;
        let v2 = json_call(&gateway, "search2", &q).await?;
        assert_eq!(
            names(&v2["searchResult2"]["song"], "title").len(),
            2,
            "{v2}"
        );
        assert_eq!(v2["searchResult2"]["album"][0]["isDir"], true, "{v2}");
        xml_call(&gateway, "search2.view", &q).await?;
    }
    // Each kind pages through the catalogue's listing with the client's offset.
    let asked = last_call(&gateway, "ListTracksRequest");
    assert!(
        asked.contains("page_size: 2") && asked.contains("offset: 2"),
        "{asked}"
    );
    // A count of 0 skips that kind; past the end is an empty list.
    let q = format!("{auth}&query=&songCount=0&albumCount=0&artistOffset=50");
    let body = json_call(&gateway, "search3", &q).await?;
    assert_eq!(
        body["searchResult3"]["song"],
        serde_json::json!([]),
        "{body}"
    );
    assert_eq!(
        body["searchResult3"]["artist"],
        serde_json::json!([]),
        "{body}"
    );
    xml_call(&gateway, "search3", &q).await?;
    Ok(())
}

#[tokio::test]
async fn a_search_hydrates_hits_from_the_catalogue_in_search_order() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    // "lib a": artists Air, The Beatles, 2Pac... every name with an "a".
    let body = json_call(&gateway, "search3", &format!("{auth}&query=lib%20a*")).await?;
    let result = &body["searchResult3"];
    assert_eq!(
        names(&result["artist"], "name"),
        ["The Beatles", "Air", "2Pac"],
        "{body}"
    );
    assert_eq!(
        names(&result["album"], "name"),
        ["Abbey Road", "Moon Safari", "All Eyez on Me"],
        "{body}"
    );
    // Hydrated: what search summaries lack is there; the hit the catalogue lost is left out.
    assert_eq!(result["album"][0]["songCount"], 2, "{body}");
    let songs = names(&result["song"], "title");
    assert_eq!(
        songs,
        ["La Femme d'Argent", "Ambitionz Az a Ridah"],
        "{body}"
    );
    assert_eq!(result["song"][0]["track"], 1, "{body}");
    let searched = gateway
        .services
        .last_search
        .lock()
        .expect("not poisoned")
        .clone();
    assert_eq!(searched.map(|s| s.query), Some("lib a".into()));
    // Offsets walk the search pages.
    let q = format!(
        "{auth}&query=lib%20a&artistCount=1&artistOffset=2&albumCount=0&songCount=1&songOffset=1"
    );
    let body = json_call(&gateway, "search3", &q).await?;
    assert_eq!(
        names(&body["searchResult3"]["artist"], "name"),
        ["2Pac"],
        "{body}"
    );
    assert_eq!(
        names(&body["searchResult3"]["song"], "title"),
        ["Ambitionz Az a Ridah"],
        "{body}"
    );
    xml_call(&gateway, "search3", &q).await?;
    let v2 = json_call(&gateway, "search2", &format!("{auth}&query=lib%20moon")).await?;
    assert_eq!(
        names(&v2["searchResult2"]["album"], "title"),
        ["Moon Safari"],
        "{v2}"
    );
    xml_call(&gateway, "search2", &format!("{auth}&query=lib%20moon")).await?;
    // A search-svc outage is error 0.
    failed_with(
        &json_call(&gateway, "search3", &format!("{auth}&query=down")).await?,
        0,
    );
    Ok(())
}

#[tokio::test]
async fn starred_albums_are_the_callers_liked_albums_latest_first() -> anyhow::Result<()> {
    let (gateway, auth) = library_gateway().await?;
    let body = json_call(&gateway, "getAlbumList2", &format!("{auth}&type=starred")).await?;
    assert_eq!(body["albumList2"]["album"], serde_json::json!([]), "{body}");
    for album in ["al_01", "al_02"] {
        let body = json_call(&gateway, "star", &format!("{auth}&albumId={album}")).await?;
        assert_eq!(body["status"], "ok", "{body}");
    }
    let body = json_call(&gateway, "getAlbumList2", &format!("{auth}&type=starred")).await?;
    let albums = &body["albumList2"]["album"];
    assert_eq!(
        names(albums, "name"),
        ["Moon Safari", "Abbey Road"],
        "{body}"
    );
    assert!(
        albums[0]["starred"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    let query = format!("{auth}&type=starred&size=1&offset=1");
    let v1 = json_call(&gateway, "getAlbumList", &query).await?;
    assert_eq!(
        names(&v1["albumList"]["album"], "title"),
        ["Abbey Road"],
        "{v1}"
    );
    assert!(v1["albumList"]["album"][0]["starred"].is_string(), "{v1}");
    xml_call(&gateway, "getAlbumList2", &format!("{auth}&type=starred")).await?;
    xml_call(&gateway, "getAlbumList", &query).await?;
    Ok(())
}
