//! Covers through the whole mesh: real songs in a library folder, each beside its own picture,
//! scanned by the real player-svc; the gateway serves the covers its REST answers name
//! (resized, ETag and 304, 404 and 400 for hostile ids and sizes), the artist's picture and a
//! playlist's 2×2 mosaic of its first four covers.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tunemesh_testkit::accounts;

use crate::support::{RunningMesh, cover_jpeg};

/// Real music (singularity-music, installed by scripts/music.sh): four short Ogg Vorbis files.
const SONGS: [&str; 4] = [
    "/usr/share/games/singularity/music/lose/March Thee to Dis.ogg",
    "/usr/share/games/singularity/music/lose/Chimes They Fade.ogg",
    "/usr/share/games/singularity/music/win/Apex Aleph.ogg",
    "/usr/share/games/singularity/music/Awakening.ogg",
];

/// One colour per folder's picture.
const COLOURS: [[u8; 3]; 4] = [[220, 40, 40], [40, 200, 60], [40, 70, 230], [230, 210, 40]];

/// One folder per song, each with its own `cover.jpg` (640×320, so ?size=64 is exactly
/// 64×32); the pictures' image ids (their SHA-256) to their colours.
pub(crate) fn library(root: &Path) -> HashMap<String, [u8; 3]> {
    let mut colours = HashMap::new();
    for (index, (song, colour)) in SONGS.iter().zip(COLOURS).enumerate() {
        let folder = root.join(format!("album {index}"));
        std::fs::create_dir_all(&folder).expect("a folder");
        let name = Path::new(song).file_name().expect("a file name");
        std::fs::copy(song, folder.join(name)).unwrap_or_else(|e| {
            panic!("{song}: {e}: run scripts/music.sh to install the Debian music packages")
        });
        let picture = cover_jpeg(640, 320, colour);
        std::fs::write(folder.join("cover.jpg"), &picture).expect("a cover");
        colours.insert(hex::encode(Sha256::digest(&picture)), colour);
    }
    colours
}

struct Client<'a> {
    mesh: &'a RunningMesh,
    token: String,
}

impl Client<'_> {
    async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.mesh.http.get(self.mesh.url(path));
        let response = response.bearer_auth(&self.token).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    /// An image as anyone fetches it: no token (`<img>` sends none).
    async fn image(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        Ok(self.mesh.http.get(self.mesh.url(path)).send().await?)
    }
}

fn decoded(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory(bytes)
        .expect("a served image decodes")
        .to_rgb8()
}

fn near(got: [u8; 3], want: [u8; 3]) -> bool {
    // The pictures are gradients from the colour to 78 % of it, then JPEG twice.
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 70)
}

#[tokio::test]
async fn covers_artist_pictures_and_playlist_mosaics_are_served_through_the_mesh()
-> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let colours = library(root.path());
    let mesh = RunningMesh::start_with(|settings| {
        settings.player.library = Some(root.path().to_owned());
        // One rendition is enough here: the test is about pictures.
        settings.player.qualities = vec!["low".into()];
        // The wait for the scan polls the catalogue as fast as it answers: on a loaded
        // machine that is more than one user's quota, which is not what this test is about.
        settings.gateway.rate_limits.per_ip.per_minute = 0;
        settings.gateway.rate_limits.per_user.per_minute = 0;
    })
    .await?;
    mesh.wait_ready().await?;
    let base = mesh.url("");
    let session = accounts::sign_up(&mesh.http, &base, "ivy", "correct horse battery").await?;
    let client = Client {
        token: accounts::access_token(&session)?,
        mesh: &mesh,
    };

    // The scan ingests the four songs, each with the picture beside it.
    let tracks = tunemesh_testkit::eventually(Duration::from_secs(120), || async {
        let page = client.json("/v1/tracks?page_size=100").await?;
        let tracks = page["tracks"].as_array().cloned().unwrap_or_default();
        let covered = tracks.iter().filter(|t| t["cover"]["url"].is_string());
        anyhow::ensure!(covered.count() == SONGS.len(), "not yet: {page}");
        Ok(tracks)
    })
    .await?;
    let cover_of = |track: &Value| track["cover"]["id"].as_str().unwrap_or("").to_owned();
    for track in &tracks {
        assert!(colours.contains_key(&cover_of(track)), "{track}");
    }

    // An album's cover, resized, with its validator.
    let albums = client.json("/v1/albums?page_size=100").await?;
    let album_cover = albums["albums"][0]["cover"]["url"]
        .as_str()
        .expect("the album has a cover")
        .to_owned();
    assert!(album_cover.starts_with("/v1/images/"), "{album_cover}");
    let small = format!("{album_cover}?size=64");
    let response = client.image(&small).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = response.headers()["etag"].to_str()?.to_owned();
    assert_eq!(decoded(&response.bytes().await?).dimensions(), (64, 32));
    let again = mesh.http.get(mesh.url(&small));
    let again = again.header("if-none-match", &etag).send().await?;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await?.is_empty());

    // Unknown ids are 404; malformed ids and sizes 400, before anything is fetched.
    let unknown = client
        .image(&format!("/v1/images/{}", "0".repeat(64)))
        .await?;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    for bad in [
        "/v1/images/abc".to_owned(),
        format!("/v1/images/{}", "A".repeat(64)),
        format!("{album_cover}?size=0"),
        format!("{album_cover}?size=100000"),
        format!("{album_cover}?size=big"),
    ] {
        let response = client.image(&bad).await?;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // The artist's picture is one of their covers, in the list and the detail, and served.
    let artists = client.json("/v1/artists").await?;
    let artist = &artists["artists"][0];
    let picture = artist["image"]["id"]
        .as_str()
        .expect("a picture")
        .to_owned();
    assert!(colours.contains_key(&picture), "{artist}");
    let id = artist["id"].as_str().unwrap_or_default();
    let detail = client.json(&format!("/v1/artists/{id}")).await?;
    assert_eq!(detail["image"]["id"], picture.as_str());
    let url = detail["image"]["url"].as_str().unwrap_or_default();
    let response = client.image(&format!("{url}?size=128")).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(decoded(&response.bytes().await?).dimensions(), (128, 64));

    // A playlist of the four tracks shows the mosaic of their covers, in playlist order.
    let ids: Vec<&str> = tracks.iter().filter_map(|t| t["id"].as_str()).collect();
    let created = mesh
        .http
        .post(mesh.url("/v1/playlists"))
        .bearer_auth(&client.token)
        .json(&serde_json::json!({"name": "Four colours", "track_ids": ids}))
        .send()
        .await?
        .error_for_status()?
        .json::<Value>()
        .await?;
    let parts: Vec<String> = tracks.iter().map(cover_of).collect();
    assert_eq!(
        created["cover"]["id"],
        parts.join(".").as_str(),
        "{created}"
    );
    let url = created["cover"]["url"].as_str().unwrap_or_default();
    let response = client.image(&format!("{url}?size=128")).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let mosaic = decoded(&response.bytes().await?);
    assert_eq!(mosaic.dimensions(), (128, 128));
    for (part, (x, y)) in parts.iter().zip([(32, 32), (96, 32), (32, 96), (96, 96)]) {
        let got = mosaic.get_pixel(x, y).0;
        assert!(near(got, colours[part]), "({x}, {y}): {got:?}");
    }
    let listed = client.json("/v1/me/playlists").await?;
    assert_eq!(
        listed["playlists"][0]["playlist"]["cover"]["id"],
        parts.join(".").as_str()
    );
    mesh.stop().await
}
