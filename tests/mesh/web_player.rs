//! The web player in a real browser against the real binary: `tunemesh up --library` on real
//! music, then `web/tests/player.mjs` (playwright-core driving Debian Chromium) signs up, plays,
//! switches quality, seeks and checks play reports, then finds the counted play under
//! "Recently played" on the home page and among the artist's top tracks, and the daily mix it
//! led to under "Made for you", which opens without edit controls. The screenshots land
//! in `target/test-artifacts/`: `web-player.png` at the end, `web-player-covers.png` of the
//! library grid with the cover found beside the library's files, `web-player-home.png` of
//! the home page with the listener's history.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use tunemesh_testkit::accounts;

use crate::support::announced_url;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Real tracks copied into the library: enough for an artist, an album and a queue, few
/// enough to transcode in seconds.
const TRACKS: usize = 2;

/// The repository root (this package's manifest dir).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tunemesh up` as a child process, interrupted (then killed) when dropped.
struct Mesh {
    child: Child,
    url: String,
}

impl Mesh {
    fn start(data_dir: &Path, library: &Path) -> Mesh {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tunemesh"))
            .current_dir(std::env::temp_dir())
            .args(["up", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--library")
            .arg(library)
            // A daily mix after the first counted play, found within a fraction of a second.
            .env("TUNEMESH_RECO__MIX__INTERVAL", "200ms")
            .env("TUNEMESH_RECO__MIX__MIN_TASTE_CHANGES", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tunemesh starts");
        let url = announced_url(child.stdout.take().expect("piped stdout"));
        Mesh { child, url }
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The folder of Debian's singularity-music, as scripts/music.sh reports it (installing it
/// if missing).
fn singularity_music() -> PathBuf {
    let output = Command::new("bash")
        .arg(root().join("scripts/music.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/music.sh runs");
    assert!(output.status.success(), "scripts/music.sh failed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("SINGULARITY_MUSIC="))
        .map(PathBuf::from)
        .expect("scripts/music.sh names SINGULARITY_MUSIC")
}

/// Copies the `TRACKS` largest (longest) Ogg files of `music` into `library`.
fn fill_library(music: &Path, library: &Path) {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(music)
        .expect("music folder")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ogg"))
        .map(|path| (std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0), path))
        .collect();
    files.sort();
    assert!(
        files.len() >= TRACKS,
        "fewer than {TRACKS} tracks in {}",
        music.display()
    );
    for (_, path) in files.iter().rev().take(TRACKS) {
        std::fs::copy(path, library.join(path.file_name().expect("file name")))
            .expect("copies a track");
    }
}

/// The shortest Ogg file of `music`: never among the [`TRACKS`] largest the library holds.
fn smallest_ogg(music: &Path) -> PathBuf {
    std::fs::read_dir(music)
        .expect("music folder")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ogg"))
        .min_by_key(|path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(u64::MAX))
        .expect("an Ogg file")
}

#[derive(Deserialize)]
struct TrackPage {
    tracks: Vec<TrackJson>,
}

#[derive(Deserialize)]
struct TrackJson {
    available_qualities: Vec<String>,
}

/// The first account of the mesh, made while waiting for the library: its admin.
const LIBRARIAN: [&str; 2] = ["librarian", "correct horse battery"];

/// Waits until the gateway is ready and every library track is streamable in every quality.
async fn wait_for_library(url: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        let status = http.get(format!("{url}/readyz")).send().await?.status();
        anyhow::ensure!(status == 200, "readyz answered {status}");
        Ok(())
    })
    .await?;
    let [name, password] = LIBRARIAN;
    let session = accounts::sign_up(&http, url, name, password).await?;
    let access_token = accounts::access_token(&session)?;
    tunemesh_testkit::eventually(Duration::from_secs(180), || async {
        let page: TrackPage =
            get_json(&http, url, "/v1/tracks?page_size=100", &access_token).await?;
        let ready = page
            .tracks
            .iter()
            // All four, so the page can switch between any two.
            .filter(|track| track.available_qualities.len() >= 4)
            .count();
        anyhow::ensure!(ready >= TRACKS, "{ready} of {TRACKS} tracks ingested");
        Ok(())
    })
    .await?;
    // The scan that made them says it is done and counts them (the cover beside them is no
    // track).
    let status = tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        let status: serde_json::Value =
            get_json(&http, url, "/v1/library/status", &access_token).await?;
        anyhow::ensure!(
            status["scanning"] == false && status["scans_completed"].as_u64() >= Some(1),
            "still scanning: {status}"
        );
        Ok(status)
    })
    .await?;
    anyhow::ensure!(
        status["configured"] == true && status["ingested"].as_u64() == Some(TRACKS as u64),
        "{status}"
    );
    Ok(())
}

/// `GET {url}{path}` as the signed-in `access_token`, a success's JSON body.
async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    access_token: &str,
) -> anyhow::Result<T> {
    Ok(http
        .get(format!("{url}{path}"))
        .bearer_auth(access_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

#[test]
fn web_player_plays_switches_quality_seeks_and_reports_in_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's chromium (scripts/deps.sh does)"
    );
    let playwright = root().join("node_modules/playwright-core");
    assert!(
        playwright.exists(),
        "{} is missing: run `npm ci` at the repository root (scripts/web.sh does)",
        playwright.display()
    );
    assert!(
        root().join("web/dist/index.html").exists(),
        "web/dist is missing: run scripts/web.sh"
    );

    let work = tempfile::tempdir().expect("temp dir");
    let library = work.path().join("library");
    std::fs::create_dir_all(&library).expect("library dir");
    fill_library(&singularity_music(), &library);
    // The tracks' tags carry no picture: the one beside them becomes their cover.
    let cover = crate::support::art_cover_jpeg(600);
    std::fs::write(library.join("cover.jpg"), cover).expect("writes the cover");
    let mesh = Mesh::start(&work.path().join("data"), &library);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(wait_for_library(&mesh.url))
        .expect("the library is ingested");

    // A folder the admin adds through the page: a track the library lacks, and a file that is
    // not audio (skipped, never sent).
    let upload = work.path().join("upload");
    std::fs::create_dir_all(&upload).expect("upload dir");
    let song = smallest_ogg(&singularity_music());
    std::fs::copy(&song, upload.join(song.file_name().expect("file name"))).expect("copies");
    std::fs::write(upload.join("notes.txt"), "liner notes\n").expect("writes");

    let artifacts = root().join("target/test-artifacts");
    let output = Command::new("node")
        .arg(root().join("web/tests/player.mjs"))
        .arg(&mesh.url)
        .arg(&artifacts)
        .arg(&upload)
        .args(LIBRARIAN)
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .expect("node runs (install nodejs: scripts/deps.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the browser test failed (screenshot: {}):\n{stdout}",
        artifacts.join("web-player.png").display()
    );
    for screenshot in [
        "web-player.png",
        "web-player-covers.png",
        "web-player-home.png",
    ] {
        assert!(
            artifacts.join(screenshot).exists(),
            "no screenshot {screenshot} saved"
        );
    }
}

#[tokio::test]
async fn web_player_files_are_served_with_types_caching_and_a_page_fallback() -> anyhow::Result<()>
{
    let mesh = crate::support::RunningMesh::start().await?;
    mesh.wait_ready().await?;

    let page = mesh.http.get(mesh.url("/")).send().await?;
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()?
            .starts_with("text/html")
    );
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()?
            .contains("blob:")
    );
    let etag = page.headers()["etag"].clone();
    let html = page.text().await?;
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("index.html names its script");
    assert!(script.starts_with("/assets/app-"), "{script}");

    let asset = mesh.http.get(mesh.url(script)).send().await?;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["content-type"]
            .to_str()?
            .contains("javascript")
    );
    assert!(
        asset.headers()["cache-control"]
            .to_str()?
            .contains("immutable")
    );

    // Revalidation answers 304 without a body.
    let again = mesh
        .http
        .get(mesh.url("/"))
        .header("if-none-match", etag)
        .send()
        .await?;
    assert_eq!(again.status(), 304);

    // Player paths get the page; API paths and missing files keep the JSON 404.
    let deep = mesh
        .http
        .get(mesh.url("/playlists/anything"))
        .send()
        .await?;
    assert_eq!(deep.status(), 200);
    assert!(deep.text().await?.contains("<audio"));
    for path in [
        "/v1/nothing",
        "/assets/missing.js",
        "/tunemesh.x.v1.Nope/Call",
    ] {
        let response = mesh.http.get(mesh.url(path)).send().await?;
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()?
                .contains("json"),
            "{path}"
        );
    }
    mesh.stop().await
}
