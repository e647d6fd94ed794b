//! JSON shapes of search and recommendations, converted from `tunemesh.search.v1` and
//! `tunemesh.reco.v1` messages.

use serde::{Deserialize, Serialize};
use tunemesh_proto::reco::v1 as reco;
use tunemesh_proto::search::v1 as search;
use utoipa::ToSchema;

use super::catalog::{AlbumRef, ArtistRef, Image, millis, next_page};

/// What a search hit is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SearchItem {
    /// A track.
    Track {
        /// Track id.
        id: String,
        /// Title.
        title: String,
        /// Credited artists.
        artists: Vec<ArtistRef>,
        /// Its album.
        album: Option<AlbumRef>,
        /// Playing time in milliseconds.
        duration_ms: u64,
        /// Cover art.
        cover: Option<Image>,
    },
    /// An album.
    Album {
        /// Album id.
        id: String,
        /// Title.
        title: String,
        /// Credited artists.
        artists: Vec<ArtistRef>,
        /// Release year; 0 when unknown.
        year: u32,
        /// Cover art.
        cover: Option<Image>,
    },
    /// An artist.
    Artist {
        /// Artist id.
        id: String,
        /// Name.
        name: String,
        /// Picture.
        image: Option<Image>,
    },
    /// A public playlist (open it with `GET /v1/playlists/{id}`).
    Playlist {
        /// Playlist id.
        id: String,
        /// Name.
        name: String,
        /// Description; may be empty.
        description: String,
        /// The owner's user id.
        owner_id: String,
        /// Users following it.
        follower_count: u32,
        /// Tracks in it.
        item_count: u32,
        /// Cover art: the owner's, or else the one derived from the first tracks' covers
        /// (as playlists' own answers give it).
        cover: Option<Image>,
    },
}

/// Where the query matched, for highlighting.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Highlight {
    /// `track_title`, `album_title`, `artist_name`, `playlist_name` or
    /// `playlist_description`.
    pub field: String,
    /// The field's text.
    pub text: String,
    /// Matched character ranges `[start, end)` in `text`.
    pub ranges: Vec<[u32; 2]>,
}

/// One search hit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    /// The item found.
    pub item: SearchItem,
    /// Relevance, higher first.
    pub score: f32,
    /// Where the query matched.
    pub highlights: Vec<Highlight>,
}

/// One page of search results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    /// Hits, best first.
    pub results: Vec<SearchHit>,
    /// Estimated number of hits in all.
    pub total_hits_estimate: i64,
    /// Pass as `page_token` for the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

fn item(item: search::search_result::Item) -> SearchItem {
    use search::search_result::Item;
    match item {
        Item::Track(t) => SearchItem::Track {
            id: t.id,
            title: t.title,
            artists: t.artists.into_iter().map(Into::into).collect(),
            album: t.album.map(|a| AlbumRef {
                id: a.id,
                title: a.title,
            }),
            duration_ms: millis(t.duration.as_ref()),
            cover: t.cover.map(Into::into),
        },
        Item::Album(a) => SearchItem::Album {
            id: a.id,
            title: a.title,
            artists: a.artists.into_iter().map(Into::into).collect(),
            year: a.year,
            cover: a.cover.map(Into::into),
        },
        Item::Artist(a) => SearchItem::Artist {
            id: a.id,
            name: a.name,
            image: a.image.map(Into::into),
        },
        Item::Playlist(p) => SearchItem::Playlist {
            id: p.id,
            name: p.name,
            description: p.description,
            owner_id: p.owner_id,
            follower_count: p.follower_count,
            item_count: p.item_count,
            cover: p.cover.map(Into::into),
        },
    }
}

impl From<search::SearchResponse> for SearchPage {
    fn from(page: search::SearchResponse) -> Self {
        let results = page
            .results
            .into_iter()
            .filter_map(|hit| {
                Some(SearchHit {
                    item: item(hit.item?),
                    score: hit.score,
                    highlights: hit
                        .highlights
                        .into_iter()
                        .map(|h| Highlight {
                            field: match search::HighlightField::try_from(h.field) {
                                Ok(search::HighlightField::TrackTitle) => "track_title",
                                Ok(search::HighlightField::AlbumTitle) => "album_title",
                                Ok(search::HighlightField::ArtistName) => "artist_name",
                                Ok(search::HighlightField::PlaylistName) => "playlist_name",
                                Ok(search::HighlightField::PlaylistDescription) => {
                                    "playlist_description"
                                }
                                _ => "unknown",
                            }
                            .to_owned(),
                            text: h.text,
                            ranges: h.ranges.iter().map(|r| [r.start, r.end]).collect(),
                        })
                        .collect(),
                })
            })
            .collect();
        Self {
            results,
            total_hits_estimate: page.total_hits_estimate,
            next_page_token: next_page(page.next_page_token),
        }
    }
}

/// A recommended track.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    /// The track.
    pub track_id: String,
    /// Higher is a better match.
    pub score: f32,
    /// Why: `because_you_played`, `listeners_also_played`, `in_same_playlists`,
    /// `same_artist`, `same_genre`, `popular`, `radio_seed`; absent when unsaid.
    pub reason: Option<String>,
    /// The track or artist the reason refers to, if any.
    pub related_id: Option<String>,
    /// A sentence to show, if the service gave one.
    pub text: Option<String>,
}

impl From<reco::Recommendation> for Recommendation {
    fn from(r: reco::Recommendation) -> Self {
        use reco::RecommendationReasonKind as Kind;
        let reason = r.reason.unwrap_or_default();
        let kind = match Kind::try_from(reason.kind) {
            Ok(Kind::BecauseYouPlayed) => Some("because_you_played"),
            Ok(Kind::ListenersAlsoPlayed) => Some("listeners_also_played"),
            Ok(Kind::InSamePlaylists) => Some("in_same_playlists"),
            Ok(Kind::SameArtist) => Some("same_artist"),
            Ok(Kind::SameGenre) => Some("same_genre"),
            Ok(Kind::Popular) => Some("popular"),
            Ok(Kind::RadioSeed) => Some("radio_seed"),
            _ => None,
        };
        Self {
            track_id: r.track_id,
            score: r.score,
            reason: kind.map(str::to_owned),
            related_id: next_page(reason.related_id),
            text: next_page(reason.text),
        }
    }
}

/// Recommended tracks, best first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Recommendations {
    /// The tracks.
    pub tracks: Vec<Recommendation>,
    /// For radio: pass as `page_token` to continue the station; radio never ends.
    pub next_page_token: Option<String>,
}

impl Recommendations {
    /// Tracks with no continuation.
    pub fn of(tracks: Vec<reco::Recommendation>, next: String) -> Self {
        Self {
            tracks: tracks.into_iter().map(Into::into).collect(),
            next_page_token: next_page(next),
        }
    }
}
