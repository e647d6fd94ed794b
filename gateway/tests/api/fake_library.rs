//! A small in-memory library behind the fake catalogue (`upstream.rs`) for the Subsonic
//! browsing tests: three artists' albums and songs with tunemesh-shaped ids, answered the
//! way player-svc answers (orders, filters, offsets, samples, genres), and search hits for
//! queries starting with `lib ` (`services.rs`).

use tonic::Status;
use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::search::v1 as search;

/// (id, name, sort name).
const ARTISTS: &[(&str, &str, &str)] = &[
    ("ar_01", "The Beatles", "Beatles, The"),
    ("ar_02", "Air", "Air"),
    ("ar_03", "2Pac", "2Pac"),
];

/// (id, title, artist index, year, genre, created seconds).
const ALBUMS: &[(&str, &str, usize, u32, &str, i64)] = &[
    ("al_01", "Abbey Road", 0, 1969, "Rock", 100),
    ("al_02", "Moon Safari", 1, 1998, "Electronic", 200),
    ("al_03", "All Eyez on Me", 2, 1996, "Hip-Hop", 300),
];

/// (id, title, album index, track number).
const TRACKS: &[(&str, &str, usize, u32)] = &[
    ("tr_01", "Come Together", 0, 1),
    ("tr_02", "Something", 0, 2),
    ("tr_03", "La Femme d'Argent", 1, 1),
    ("tr_04", "Sexy Boy", 1, 2),
    ("tr_05", "Ambitionz Az a Ridah", 2, 1),
];

fn time(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn artist_ref(index: usize) -> pb::ArtistRef {
    let (id, name, _) = ARTISTS[index];
    pb::ArtistRef {
        id: id.into(),
        name: name.into(),
    }
}

pub fn artist(index: usize) -> pb::Artist {
    let (id, name, sort_name) = ARTISTS[index];
    pb::Artist {
        id: id.into(),
        name: name.into(),
        sort_name: sort_name.into(),
        album_count: 1,
        track_count: TRACKS.iter().filter(|t| ALBUMS[t.2].2 == index).count() as u32,
        create_time: time(1_700_000_000),
        update_time: time(1_700_000_000 + 60 * index as i64),
        ..Default::default()
    }
}

pub fn album(index: usize) -> pb::Album {
    let (id, title, by, year, genre, created) = ALBUMS[index];
    pb::Album {
        id: id.into(),
        title: title.into(),
        artists: vec![artist_ref(by)],
        year,
        genre: genre.into(),
        track_count: TRACKS.iter().filter(|t| t.2 == index).count() as u32,
        disc_count: 1,
        duration: Some(prost_types::Duration {
            seconds: 400,
            nanos: 0,
        }),
        create_time: time(created),
        update_time: time(created),
        ..Default::default()
    }
}

pub fn track(index: usize) -> pb::Track {
    let (id, title, on, number) = TRACKS[index];
    let (album_id, album_title, by, year, genre, created) = ALBUMS[on];
    pb::Track {
        id: id.into(),
        title: title.into(),
        artists: vec![artist_ref(by)],
        album: Some(pb::AlbumRef {
            id: album_id.into(),
            title: album_title.into(),
        }),
        duration: Some(prost_types::Duration {
            seconds: 200,
            nanos: 0,
        }),
        track_number: number,
        disc_number: 1,
        genre: genre.into(),
        year,
        available_qualities: vec![pb::AudioQuality::High.into()],
        create_time: time(created + index as i64),
        ..Default::default()
    }
}

/// `items[offset..offset + size]` (size 0 → 50, at most 500), as the catalogue pages.
fn window<T>(items: Vec<T>, offset: i32, size: i32) -> Vec<T> {
    let size = match size {
        0 => 50,
        n => n.min(500),
    };
    items
        .into_iter()
        .skip(offset.max(0) as usize)
        .take(size.max(0) as usize)
        .collect()
}

pub fn list_artists(r: pb::ListArtistsRequest) -> pb::ListArtistsResponse {
    let mut all: Vec<_> = (0..ARTISTS.len()).map(artist).collect();
    all.sort_by(|a, b| a.sort_name.cmp(&b.sort_name));
    pb::ListArtistsResponse {
        total_size: all.len() as i32,
        artists: window(all, r.offset, r.page_size),
        next_page_token: String::new(),
    }
}

pub fn list_albums(r: pb::ListAlbumsRequest) -> pb::ListAlbumsResponse {
    let mut all: Vec<_> = (0..ALBUMS.len())
        .map(album)
        .filter(|a| r.artist_id.is_empty() || a.artists[0].id == r.artist_id)
        .filter(|a| r.genre.is_empty() || a.genre == r.genre)
        .filter(|a| r.from_year == 0 || a.year >= r.from_year)
        .filter(|a| r.to_year == 0 || a.year <= r.to_year)
        .collect();
    let sort_name = |a: &pb::Album| {
        ARTISTS
            .iter()
            .find(|x| x.0 == a.artists[0].id)
            .map(|x| x.2)
            .unwrap_or_default()
    };
    match r.order() {
        pb::AlbumOrder::Unspecified => {}
        pb::AlbumOrder::Newest => all.reverse(),
        pb::AlbumOrder::Title => all.sort_by(|a, b| a.title.cmp(&b.title)),
        pb::AlbumOrder::Artist => all.sort_by_key(|a| sort_name(a)),
        pb::AlbumOrder::Year => all.sort_by_key(|a| a.year),
        pb::AlbumOrder::YearDescending => all.sort_by_key(|a| std::cmp::Reverse(a.year)),
    }
    pb::ListAlbumsResponse {
        total_size: all.len() as i32,
        albums: window(all, r.offset, r.page_size),
        next_page_token: String::new(),
    }
}

pub fn list_tracks(r: pb::ListTracksRequest) -> Result<pb::ListTracksResponse, Status> {
    use pb::list_tracks_request::Filter;
    let all: Vec<_> = (0..TRACKS.len()).map(track).collect();
    let keep = |t: &pb::Track| match &r.filter {
        None => true,
        Some(Filter::AlbumId(id)) => t.album.as_ref().is_some_and(|a| &a.id == id),
        Some(Filter::ArtistId(id)) => t.artists[0].id == *id,
        Some(Filter::Genre(genre)) => t.genre == *genre,
    };
    if let Some(Filter::AlbumId(id)) = &r.filter
        && !ALBUMS.iter().any(|a| a.0 == id)
    {
        return Err(Status::not_found(format!("album {id} not found")));
    }
    let all: Vec<_> = all.into_iter().filter(keep).collect();
    Ok(pb::ListTracksResponse {
        total_size: all.len() as i32,
        tracks: window(all, r.offset, r.page_size),
        next_page_token: String::new(),
    })
}

pub fn get_album(id: &str) -> Result<pb::Album, Status> {
    let index = ALBUMS.iter().position(|a| a.0 == id);
    index
        .map(album)
        .ok_or_else(|| Status::not_found(format!("album {id} not found")))
}

pub fn get_artist(id: &str) -> Result<pb::Artist, Status> {
    let index = ARTISTS.iter().position(|a| a.0 == id);
    index
        .map(artist)
        .ok_or_else(|| Status::not_found(format!("artist {id} not found")))
}

pub fn get_track(id: &str) -> Option<pb::Track> {
    TRACKS.iter().position(|t| t.0 == id).map(track)
}

/// `SampleTracks`: the first matching tracks (a stand-in picks; the real one is random).
pub fn sample_tracks(r: pb::SampleTracksRequest) -> pb::SampleTracksResponse {
    let tracks = (0..TRACKS.len())
        .map(track)
        .filter(|t| r.genre.is_empty() || t.genre == r.genre)
        .filter(|t| r.from_year == 0 || t.year >= r.from_year)
        .filter(|t| r.to_year == 0 || t.year <= r.to_year)
        .take(r.size.max(0) as usize)
        .collect();
    pb::SampleTracksResponse { tracks }
}

pub fn sample_albums(r: pb::SampleAlbumsRequest) -> pb::SampleAlbumsResponse {
    pb::SampleAlbumsResponse {
        albums: (0..ALBUMS.len())
            .map(album)
            .take(r.size.max(0) as usize)
            .collect(),
    }
}

pub fn list_genres() -> pb::ListGenresResponse {
    let mut genres: Vec<_> = ALBUMS
        .iter()
        .enumerate()
        .map(|(i, a)| pb::Genre {
            name: a.4.into(),
            track_count: TRACKS.iter().filter(|t| t.2 == i).count() as u32,
            album_count: 1,
        })
        .collect();
    genres.sort_by(|a, b| a.name.cmp(&b.name));
    pb::ListGenresResponse { genres }
}

/// Search hits for `lib <word>`: every artist, album and track whose name contains the word
/// (case-insensitive), of the kinds asked for, one page of `page_size` from the token's
/// position (the token is the position).
pub fn search(r: &search::SearchRequest) -> search::SearchResponse {
    use search::search_result::Item;
    let word = r.query.trim_start_matches("lib ").to_lowercase();
    let wants =
        |kind: search::SearchResultType| r.types.is_empty() || r.types.contains(&(kind as i32));
    let mut hits = Vec::new();
    if wants(search::SearchResultType::Artist) {
        hits.extend(
            ARTISTS
                .iter()
                .filter(|a| a.1.to_lowercase().contains(&word))
                .map(|a| {
                    Item::Artist(search::ArtistSummary {
                        id: a.0.into(),
                        name: a.1.into(),
                        image: None,
                    })
                }),
        );
    }
    if wants(search::SearchResultType::Album) {
        hits.extend(
            ALBUMS
                .iter()
                .filter(|a| a.1.to_lowercase().contains(&word))
                .map(|a| {
                    Item::Album(search::AlbumSummary {
                        id: a.0.into(),
                        title: a.1.into(),
                        ..Default::default()
                    })
                }),
        );
    }
    if wants(search::SearchResultType::Track) {
        hits.extend(
            TRACKS
                .iter()
                .filter(|t| t.1.to_lowercase().contains(&word))
                .map(|t| {
                    Item::Track(search::TrackSummary {
                        id: t.0.into(),
                        title: t.1.into(),
                        ..Default::default()
                    })
                }),
        );
        // A hit the catalogue no longer has: left out of the answer.
        hits.push(Item::Track(search::TrackSummary {
            id: "tr_gone".into(),
            ..Default::default()
        }));
    }
    let start: usize = r.page_token.parse().unwrap_or(0);
    let size = r.page_size.clamp(1, 50) as usize;
    let total = hits.len();
    let results = hits
        .into_iter()
        .skip(start)
        .take(size)
        .map(|item| search::SearchResult {
            item: Some(item),
            score: 1.0,
            highlights: Vec::new(),
        })
        .collect();
    let next = start + size;
    search::SearchResponse {
        results,
        total_hits_estimate: total as i64,
        next_page_token: if next < total {
            next.to_string()
        } else {
            String::new()
        },
    }
}
