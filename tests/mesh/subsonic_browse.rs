//! Subsonic browsing, lists and the library sync through the whole mesh: real songs in a
//! library folder scanned by the real player-svc, then `/rest` answers from the real
//! catalogue (offsets, orders, samples, genres, folders) and search-svc (a query, hydrated).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tunemesh_testkit::accounts;

use crate::subsonic::app_password;
use crate::support::RunningMesh;

/// Real music (singularity-music, installed by scripts/music.sh): four short Ogg Vorbis files.
const SONGS: [&str; 4] = [
    "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg",
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg",
    "/usr/share/games/singularity/music/win/Apex Aleph.ogg",
    "/usr/share/games/singularity/music/Awakening.ogg",
];

fn library(root: &Path) {
    for song in SONGS {
        let name = Path::new(song).file_name().expect("a file name");
        std::fs::copy(song, root.join(name)).unwrap_or_else(|e| {
            panic!("{song}: {e}: run scripts/music.sh to install the Debian music packages")
        });
    }
}

/// The ids of a JSON list's items.
fn ids(list: &Value) -> Vec<String> {
    let items = list.as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect()
}

struct App<'a> {
    mesh: &'a RunningMesh,
    auth: String,
}

impl App<'_> {
    /// `GET /rest/<method>?f=json&...`: the `subsonic-response`, which must be ok.
    async fn call(&self, method: &str, query: &str) -> anyhow::Result<Value> {
        let url = format!("/rest/{method}?f=json&{}&{query}", self.auth);
        let response = self.mesh.http.get(self.mesh.url(&url)).send().await?;
        let body: Value = response.error_for_status()?.json().await?;
        let body = body["subsonic-response"].clone();
        anyhow::ensure!(body["status"] == "ok", "{method}?{query}: {body}");
        Ok(body)
    }
}

#[tokio::test]
async fn an_app_browses_lists_and_syncs_the_real_catalogue() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    library(root.path());
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.library = Some(root.path().to_owned());
        settings.player.qualities = vec!["low".into()];
        settings.gateway.rate_limits.per_ip.per_minute = 0;
        settings.gateway.rate_limits.per_user.per_minute = 0;
    })
    .await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    let session = accounts::sign_up(&mesh.http, &base, "ivy", "correct horse battery").await?;
    let token = accounts::access_token(&session)?;
    let secret = app_password(&mesh, &token, "Symfonium", false).await?;
    let app = App {
        mesh: &mesh,
        auth: format!("u=ivy&p={secret}&v=1.13.0&c=Symfonium"),
    };

    // The scan ingests the four songs; REST lists them oldest first.
    let rest = tunemesh_testkit::eventually(Duration::from_secs(120), || async {
        let page = mesh.http.get(mesh.url("/v1/tracks?page_size=100"));
        let page: Value = page.bearer_auth(&token).send().await?.json().await?;
        let tracks = ids(&page["tracks"]);
        anyhow::ensure!(tracks.len() == SONGS.len(), "not yet: {page}");
        Ok(tracks)
    })
    .await?;

    // The empty-query sync pages by offset and sees every track once, in REST's order.
    let mut synced = Vec::new();
    for offset in [0, 3, 6] {
        let query =
            format!("query=%22%22&songCount=3&songOffset={offset}&artistCount=0&albumCount=0");
        let body = app.call("search3", &query).await?;
        synced.extend(ids(&body["searchResult3"]["song"]));
    }
    assert_eq!(synced, rest);
    let everything = app
        .call(
            "search3",
            "query=&songCount=500&albumCount=500&artistCount=500",
        )
        .await?;
    let result = &everything["searchResult3"];
    assert_eq!(ids(&result["song"]), rest);
    let albums = ids(&result["album"]);
    let artists = ids(&result["artist"]);
    assert!(!albums.is_empty() && !artists.is_empty(), "{everything}");

    // Album lists from the catalogue's orders and samples.
    for kind in [
        "newest",
        "alphabeticalByName",
        "alphabeticalByArtist",
        "random",
    ] {
        let body = app
            .call("getAlbumList2", &format!("type={kind}&size=500"))
            .await?;
        let mut listed = ids(&body["albumList2"]["album"]);
        listed.sort();
        let mut want = albums.clone();
        want.sort();
        assert_eq!(listed, want, "{kind}: {body}");
    }
    let newest = app
        .call("getAlbumList2", "type=newest&size=1&offset=0")
        .await?;
    assert_eq!(ids(&newest["albumList2"]["album"]).first(), albums.last());
    let random = app.call("getRandomSongs", "size=3").await?;
    let mut picked = ids(&random["randomSongs"]["song"]);
    picked.sort();
    picked.dedup();
    assert_eq!(picked.len(), 3, "{random}");
    let genres = app.call("getGenres", "").await?;
    assert!(genres["genres"]["genre"].is_array(), "{genres}");

    // Folders: the index's first artist, its first album, that album's songs.
    let indexes = app.call("getIndexes", "").await?;
    let artist = indexes["indexes"]["index"][0]["artist"][0]["id"]
        .as_str()
        .expect("an artist")
        .to_owned();
    let folder = app
        .call("getMusicDirectory", &format!("id={artist}"))
        .await?;
    let album = folder["directory"]["child"][0]["id"]
        .as_str()
        .expect("an album")
        .to_owned();
    let songs = app
        .call("getMusicDirectory", &format!("id={album}"))
        .await?;
    let songs = ids(&songs["directory"]["child"]);
    assert!(!songs.is_empty() && songs.iter().all(|s| rest.contains(s)));

    // A query goes through search-svc (fed by catalogue events) and comes back hydrated.
    tunemesh_testkit::eventually(Duration::from_secs(20), || async {
        let body = app.call("search3", "query=chimes").await?;
        let songs = &body["searchResult3"]["song"];
        anyhow::ensure!(songs[0]["title"] == "Chimes They Fade", "{body}");
        anyhow::ensure!(songs[0]["created"].is_string(), "hydrated: {body}");
        Ok(())
    })
    .await?;
    mesh.stop().await
}
