//! Browsing by folders and indexes: `getIndexes` and `getMusicDirectory` (DSub's default
//! mode, where an artist is a folder of albums and an album a folder of songs), `getArtists`
//! (the same index by tags), and the empty-but-valid `getArtistInfo*`, `getAlbumInfo*` and
//! `getLyrics*` that clients call when they open a page.

use std::collections::BTreeMap;

use tunemesh_proto::catalog::v1 as pb;

use super::browse::{album_tracks, artist_albums, id_param};
use super::error::SubsonicError;
use super::library::{Artist, ArtistsId3, Directory, IGNORED_ARTICLES, Index, IndexId3, Indexes};
use super::methods::{Ctx, Method, handler};
use super::model::{AlbumId3, ArtistId3, Child};
use super::response::{Empty, Payload};

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getIndexes", handler!(get_indexes)),
    ("getArtists", handler!(get_artists)),
    ("getMusicDirectory", handler!(get_music_directory)),
    ("getArtistInfo", handler!(get_artist_info)),
    ("getArtistInfo2", handler!(get_artist_info2)),
    ("getAlbumInfo", handler!(get_album_info)),
    ("getAlbumInfo2", handler!(get_album_info)),
    ("getLyrics", handler!(get_lyrics)),
    ("getLyricsBySongId", handler!(get_lyrics_by_song_id)),
];

/// The most artists an index gathers (100 pages): bounds one call whatever the catalogue.
const MAX_ARTISTS: usize = 50_000;

/// Every artist by sort name (at most [`MAX_ARTISTS`]).
async fn all_artists(ctx: &Ctx<'_>) -> Result<Vec<pb::Artist>, SubsonicError> {
    let mut artists = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = pb::ListArtistsRequest {
            page_size: 500,
            page_token,
            ..Default::default()
        };
        let page = (ctx.state.catalog())
            .call(ctx.identity(), request, async |c, r| {
                c.list_artists(r).await
            })
            .await?;
        artists.extend(page.artists);
        if page.next_page_token.is_empty() || artists.len() >= MAX_ARTISTS {
            return Ok(artists);
        }
        page_token = page.next_page_token;
    }
}

/// The index an artist is listed under: the first letter of its sort name, upper-cased, or
/// `#` when it does not start with a letter.
pub(crate) fn index_name(sort_name: &str) -> String {
    match sort_name.chars().next() {
        Some(c) if c.is_alphabetic() => c.to_uppercase().collect(),
        _ => "#".to_owned(),
    }
}

/// Artists grouped by [`index_name`]: letters in order, `#` last; inside a group by sort name
/// ignoring case (the catalogue orders by bytes, so `beck` would follow `Zed`).
fn grouped(artists: Vec<pb::Artist>) -> Vec<(String, Vec<pb::Artist>)> {
    let mut groups: BTreeMap<(bool, String), Vec<pb::Artist>> = BTreeMap::new();
    for artist in artists {
        let name = index_name(&artist.sort_name);
        groups.entry((name == "#", name)).or_default().push(artist);
    }
    groups
        .into_iter()
        .map(|((_, name), mut artists)| {
            artists.sort_by_cached_key(|a| (a.sort_name.to_lowercase(), a.id.clone()));
            (name, artists)
        })
        .collect()
}

/// Milliseconds of a timestamp.
fn millis(time: Option<&prost_types::Timestamp>) -> i64 {
    time.map_or(0, |t| {
        t.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(t.nanos / 1_000_000))
    })
}

async fn get_indexes(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let since = match ctx.call.params.get("ifModifiedSince") {
        None | Some("") => 0,
        Some(raw) => raw.parse::<i64>().map_err(|_| {
            SubsonicError::MissingParameter("ifModifiedSince must be milliseconds".into())
        })?,
    };
    let artists = all_artists(ctx).await?;
    // An artist's update time moves with every change to its tracks, so the latest of them
    // is when the index last changed.
    let last_modified = artists
        .iter()
        .map(|a| millis(a.update_time.as_ref().or(a.create_time.as_ref())))
        .max()
        .unwrap_or(0);
    let index = if since > 0 && last_modified <= since {
        Vec::new()
    } else {
        grouped(artists)
            .into_iter()
            .map(|(name, artists)| Index {
                name,
                artist: artists
                    .into_iter()
                    .map(|a| Artist {
                        id: a.id,
                        name: a.name,
                    })
                    .collect(),
            })
            .collect()
    };
    Ok(Payload::Indexes(Indexes {
        last_modified,
        ignored_articles: IGNORED_ARTICLES,
        index,
    }))
}

async fn get_artists(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let index = grouped(all_artists(ctx).await?)
        .into_iter()
        .map(|(name, artists)| IndexId3 {
            name,
            artist: artists.iter().map(ArtistId3::from).collect(),
        })
        .collect();
    Ok(Payload::Artists(ArtistsId3 {
        ignored_articles: IGNORED_ARTICLES,
        index,
    }))
}

/// `getMusicDirectory`: tunemesh ids say what they name (`ar_`, `al_`, `tr_` + hex), so an
/// artist's folder lists its albums and an album's its songs without a lookup to decide.
async fn get_music_directory(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let id = id_param(ctx, "id")?.to_owned();
    let catalog = ctx.state.catalog();
    if id.starts_with("ar_") {
        let request = pb::GetArtistRequest {
            artist_id: id.clone(),
        };
        let answer = catalog
            .call(ctx.identity(), request, async |c, r| c.get_artist(r).await)
            .await?;
        let artist = answer.artist.ok_or_else(|| not_found("artist"))?;
        let albums = artist_albums(ctx, id.clone()).await?;
        return Ok(Payload::Directory(Directory {
            id,
            parent: None,
            name: artist.name,
            child: albums
                .iter()
                .map(|a| AlbumId3::from(a).as_child())
                .collect(),
        }));
    }
    if id.starts_with("al_") {
        let request = pb::GetAlbumRequest {
            album_id: id.clone(),
        };
        let answer = catalog
            .call(ctx.identity(), request, async |c, r| c.get_album(r).await)
            .await?;
        let album = answer.album.ok_or_else(|| not_found("album"))?;
        let tracks = album_tracks(ctx, id.clone()).await?;
        return Ok(Payload::Directory(Directory {
            id,
            parent: album.artists.first().map(|a| a.id.clone()),
            name: album.title,
            child: tracks.iter().map(Child::from).collect(),
        }));
    }
    Err(SubsonicError::NotFound(
        "no directory has this id: folders are artists (ar_) and albums (al_)".into(),
    ))
}

fn not_found(what: &'static str) -> SubsonicError {
    SubsonicError::NotFound(format!("{what} not found").into())
}

/// tunemesh keeps no biographies, notes or lyrics: these answer valid empty elements, which
/// clients show as "nothing here" rather than as an error.
async fn get_artist_info(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    id_param(ctx, "id")?;
    Ok(Payload::ArtistInfo(Empty {}))
}

async fn get_artist_info2(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    id_param(ctx, "id")?;
    Ok(Payload::ArtistInfo2(Empty {}))
}

async fn get_album_info(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    id_param(ctx, "id")?;
    Ok(Payload::AlbumInfo(Empty {}))
}

async fn get_lyrics(_ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    Ok(Payload::Lyrics(Empty {}))
}

async fn get_lyrics_by_song_id(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    id_param(ctx, "id")?;
    Ok(Payload::LyricsList(Empty {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artist(sort_name: &str) -> pb::Artist {
        pb::Artist {
            id: format!("ar_{sort_name}"),
            name: sort_name.to_owned(),
            sort_name: sort_name.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn artists_group_by_letter_with_the_rest_under_hash_last() {
        let groups = grouped(
            [
                "Zed",
                "beck",
                "Beatles, The",
                "2Pac",
                "élan",
                "$uicideboy$",
                "Björk",
            ]
            .map(artist)
            .into(),
        );
        let shape: Vec<(&str, Vec<&str>)> = groups
            .iter()
            .map(|(name, artists)| {
                (
                    name.as_str(),
                    artists.iter().map(|a| a.sort_name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("B", vec!["Beatles, The", "beck", "Björk"]),
                ("Z", vec!["Zed"]),
                ("É", vec!["élan"]),
                ("#", vec!["$uicideboy$", "2Pac"]),
            ]
        );
    }
}
