//! The payloads of library browsing, lists and search (`indexes`, `artists`, `directory`,
//! `albumList`/`albumList2`, `randomSongs`, `songsByGenre`, `genres`, `searchResult2`/`3`),
//! in the vocabulary of `response.rs`: `@name` attributes, `$text` text, a `Vec` a repeated
//! element (nothing in XML when empty, `[]` in JSON, which typed clients parse as lists).
//! Element order inside each struct is the XSD's sequence order.

use serde::Serialize;

use super::model::{AlbumId3, ArtistId3, Child};

/// What tunemesh's sort names move to the end (`The Beatles` sorts as `Beatles, The`): the
/// articles clients must ignore when they index artists themselves.
pub(crate) const IGNORED_ARTICLES: &str = "The A An";

/// `Artist` (folder browsing): an artist as a directory.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Artist {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@name")]
    pub(crate) name: String,
}

/// `indexes` (`getIndexes`): artists by first letter, for folder browsing.
#[derive(Debug, Serialize)]
pub(crate) struct Indexes {
    #[serde(rename = "@lastModified")]
    pub(crate) last_modified: i64,
    #[serde(rename = "@ignoredArticles")]
    pub(crate) ignored_articles: &'static str,
    pub(crate) index: Vec<Index>,
}

/// One `index` of `indexes`.
#[derive(Debug, Serialize)]
pub(crate) struct Index {
    #[serde(rename = "@name")]
    pub(crate) name: String,
    pub(crate) artist: Vec<Artist>,
}

/// `artists` (`getArtists`): artists by first letter, by tags.
#[derive(Debug, Serialize)]
pub(crate) struct ArtistsId3 {
    #[serde(rename = "@ignoredArticles")]
    pub(crate) ignored_articles: &'static str,
    pub(crate) index: Vec<IndexId3>,
}

/// One `index` of `artists`.
#[derive(Debug, Serialize)]
pub(crate) struct IndexId3 {
    #[serde(rename = "@name")]
    pub(crate) name: String,
    pub(crate) artist: Vec<ArtistId3>,
}

/// `directory` (`getMusicDirectory`): an artist's albums or an album's songs.
#[derive(Debug, Serialize)]
pub(crate) struct Directory {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@parent", skip_serializing_if = "Option::is_none")]
    pub(crate) parent: Option<String>,
    #[serde(rename = "@name")]
    pub(crate) name: String,
    pub(crate) child: Vec<Child>,
}

/// `albumList` (`getAlbumList`): albums as directories.
#[derive(Debug, Serialize)]
pub(crate) struct AlbumList {
    pub(crate) album: Vec<Child>,
}

/// `albumList2` (`getAlbumList2`).
#[derive(Debug, Serialize)]
pub(crate) struct AlbumList2 {
    pub(crate) album: Vec<AlbumId3>,
}

/// `randomSongs`, `songsByGenre` (`Songs` in the XSD).
#[derive(Debug, Serialize)]
pub(crate) struct Songs {
    pub(crate) song: Vec<Child>,
}

/// `genres`.
#[derive(Debug, Serialize)]
pub(crate) struct Genres {
    pub(crate) genre: Vec<Genre>,
}

/// One `genre`: its name is the element's text (`value` in JSON).
#[derive(Debug, Serialize)]
pub(crate) struct Genre {
    #[serde(rename = "@songCount")]
    pub(crate) song_count: i32,
    #[serde(rename = "@albumCount")]
    pub(crate) album_count: i32,
    #[serde(rename = "$text")]
    pub(crate) value: String,
}

/// `searchResult2` (`search2`): folder-shaped results.
#[derive(Debug, Serialize)]
pub(crate) struct SearchResult2 {
    pub(crate) artist: Vec<Artist>,
    pub(crate) album: Vec<Child>,
    pub(crate) song: Vec<Child>,
}

/// `searchResult3` (`search3`): results by tags.
#[derive(Debug, Serialize)]
pub(crate) struct SearchResult3 {
    pub(crate) artist: Vec<ArtistId3>,
    pub(crate) album: Vec<AlbumId3>,
    pub(crate) song: Vec<Child>,
}

#[cfg(test)]
mod tests {
    use super::super::response::{Envelope, Payload};
    use super::*;

    #[test]
    fn empty_lists_are_absent_in_xml_and_empty_arrays_in_json() {
        let envelope = Envelope::ok(Some(Payload::SearchResult3(SearchResult3 {
            artist: Vec::new(),
            album: Vec::new(),
            song: Vec::new(),
        })));
        let xml = envelope.to_xml().expect("xml");
        assert!(xml.contains("<searchResult3/>"), "{xml}");
        let json = envelope.to_json().expect("json");
        assert_eq!(
            json["subsonic-response"]["searchResult3"]["song"],
            serde_json::json!([])
        );
    }

    #[test]
    fn a_genre_is_text_in_xml_and_value_in_json() {
        let envelope = Envelope::ok(Some(Payload::Genres(Genres {
            genre: vec![Genre {
                song_count: 3,
                album_count: 1,
                value: "Rock & Roll".into(),
            }],
        })));
        let xml = envelope.to_xml().expect("xml");
        assert!(
            xml.contains(r#"<genre songCount="3" albumCount="1">Rock &amp; Roll</genre>"#),
            "{xml}"
        );
        let json = envelope.to_json().expect("json");
        assert_eq!(
            json["subsonic-response"]["genres"]["genre"][0]["value"],
            "Rock & Roll"
        );
    }
}
