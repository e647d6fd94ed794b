//! `search2` and `search3`. A query goes to search-svc once per kind asked for, and the hits
//! are read back from the catalogue in one batch per 100 (search summaries lack what
//! clients show: `songCount`, `created`, track numbers). An empty query (``, `""`, `*`)
//! lists the whole catalogue by position instead: that is how clients (Symfonium, Feishin,
//! DSub's offline sync) copy the library, so it reads the catalogue's stable listings
//! directly, each page one indexed read.

use tunemesh_proto::catalog::v1 as pb;
use tunemesh_proto::search::v1 as search;

use super::error::SubsonicError;
use super::hydrate;
use super::library::{Artist, SearchResult2, SearchResult3};
use super::lists::{MAX_OFFSET, MAX_SIZE, number};
use super::methods::{Ctx, Method, handler};
use super::model::{AlbumId3, ArtistId3, Child, int32};
use super::response::Payload;

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("search2", handler!(search2)),
    ("search3", handler!(search3)),
];

/// search-svc's largest page, and how many pages one kind may walk for an offset.
const SEARCH_PAGE: i32 = 50;
const SEARCH_PAGES: usize = 10;

/// The query as search-svc takes it: surrounding spaces and quotes and one trailing `*`
/// (Subsonic's old wildcard) removed; empty means "everything".
pub(crate) fn normalise(query: &str) -> &str {
    let q = query.trim();
    let q = q
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(q)
        .trim();
    q.strip_suffix('*').unwrap_or(q).trim()
}

/// What one search call asks for: per kind, how many and from where.
struct Asked {
    query: String,
    artists: (u32, u32),
    albums: (u32, u32),
    songs: (u32, u32),
}

fn asked(ctx: &Ctx<'_>) -> Result<Asked, SubsonicError> {
    let pair = |count: &str, offset: &str| -> Result<(u32, u32), SubsonicError> {
        Ok((
            number(ctx, count, 20, MAX_SIZE)?,
            number(ctx, offset, 0, MAX_OFFSET)?,
        ))
    };
    Ok(Asked {
        // Missing is taken as empty: lenient with clients that leave it out to sync.
        query: normalise(ctx.call.params.get("query").unwrap_or_default()).to_owned(),
        artists: pair("artistCount", "artistOffset")?,
        albums: pair("albumCount", "albumOffset")?,
        songs: pair("songCount", "songOffset")?,
    })
}

/// The three kinds found, in order.
type Found = (Vec<pb::Artist>, Vec<pb::Album>, Vec<pb::Track>);

async fn run(ctx: &Ctx<'_>) -> Result<Found, SubsonicError> {
    let asked = asked(ctx)?;
    if asked.query.is_empty() {
        tokio::try_join!(
            list_artists(ctx, asked.artists),
            list_albums(ctx, asked.albums),
            list_tracks(ctx, asked.songs),
        )
    } else {
        let q = asked.query.as_str();
        let kinds = (
            search::SearchResultType::Artist,
            search::SearchResultType::Album,
        );
        let (artists, albums, tracks) = tokio::try_join!(
            search_ids(ctx, q, kinds.0, asked.artists),
            search_ids(ctx, q, kinds.1, asked.albums),
            search_ids(ctx, q, search::SearchResultType::Track, asked.songs),
        )?;
        tokio::try_join!(
            hydrate::artists(ctx, &artists),
            hydrate::albums(ctx, &albums),
            hydrate::tracks(ctx, &tracks),
        )
    }
}

async fn search3(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let (artists, albums, tracks) = run(ctx).await?;
    Ok(Payload::SearchResult3(SearchResult3 {
        artist: artists.iter().map(ArtistId3::from).collect(),
        album: albums.iter().map(AlbumId3::from).collect(),
        song: tracks.iter().map(Child::from).collect(),
    }))
}

async fn search2(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let (artists, albums, tracks) = run(ctx).await?;
    Ok(Payload::SearchResult2(SearchResult2 {
        artist: artists
            .into_iter()
            .map(|a| Artist {
                id: a.id,
                name: a.name,
            })
            .collect(),
        album: albums
            .iter()
            .map(|a| AlbumId3::from(a).as_child())
            .collect(),
        song: tracks.iter().map(Child::from).collect(),
    }))
}

async fn list_artists(
    ctx: &Ctx<'_>,
    (count, offset): (u32, u32),
) -> Result<Vec<pb::Artist>, SubsonicError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let request = pb::ListArtistsRequest {
        page_size: int32(count),
        offset: int32(offset),
        ..Default::default()
    };
    let page = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| {
            c.list_artists(r).await
        })
        .await?;
    Ok(page.artists)
}

async fn list_albums(
    ctx: &Ctx<'_>,
    (count, offset): (u32, u32),
) -> Result<Vec<pb::Album>, SubsonicError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let request = pb::ListAlbumsRequest {
        page_size: int32(count),
        offset: int32(offset),
        ..Default::default()
    };
    let page = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_albums(r).await)
        .await?;
    Ok(page.albums)
}

async fn list_tracks(
    ctx: &Ctx<'_>,
    (count, offset): (u32, u32),
) -> Result<Vec<pb::Track>, SubsonicError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let request = pb::ListTracksRequest {
        page_size: int32(count),
        offset: int32(offset),
        ..Default::default()
    };
    let page = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_tracks(r).await)
        .await?;
    Ok(page.tracks)
}

/// The ids of hits `offset..offset + count` of one kind, best first, walking search-svc's
/// pages (at most [`SEARCH_PAGES`]).
async fn search_ids(
    ctx: &Ctx<'_>,
    query: &str,
    kind: search::SearchResultType,
    (count, offset): (u32, u32),
) -> Result<Vec<String>, SubsonicError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let wanted = offset.saturating_add(count) as usize;
    let mut ids = Vec::new();
    let mut page_token = String::new();
    for _ in 0..SEARCH_PAGES {
        let request = search::SearchRequest {
            query: query.to_owned(),
            types: vec![kind.into()],
            page_size: SEARCH_PAGE,
            page_token,
        };
        let page = (ctx.state.search())
            .call(ctx.identity(), request, async |c, r| c.search(r).await)
            .await?;
        ids.extend(page.results.into_iter().filter_map(|hit| {
            use search::search_result::Item;
            match (hit.item?, kind) {
                (Item::Track(t), search::SearchResultType::Track) => Some(t.id),
                (Item::Album(a), search::SearchResultType::Album) => Some(a.id),
                (Item::Artist(a), search::SearchResultType::Artist) => Some(a.id),
                _ => None,
            }
        }));
        if ids.len() >= wanted || page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    Ok(ids
        .into_iter()
        .skip(offset as usize)
        .take(count as usize)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_quoted_and_wildcard_queries_mean_everything() {
        for q in ["", "  ", "\"\"", "*", "\"*\"", " \" \" "] {
            assert_eq!(normalise(q), "", "{q:?}");
        }
        assert_eq!(normalise("\"abba\""), "abba");
        assert_eq!(normalise("beat*"), "beat");
        assert_eq!(normalise("a*b"), "a*b");
    }
}
