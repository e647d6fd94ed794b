//! The one response model of `/rest`, serialised to XML (quick-xml's serde support) and to
//! JSON/JSONP (serde_json) from the same structs.
//!
//! The structs are written in quick-xml's vocabulary: a field renamed `@name` is an attribute,
//! `$value` holds the payload element whose name is the enum variant's, `$text` is text
//! content, and a `Vec` is a repeated element. JSON takes the same value and drops those
//! markers ([`to_json_value`]): `@name` → `name`, `$text` → `value`, `$value` merged into its
//! parent; `xmlns` exists only in XML. So a new payload is one struct, and both formats stay
//! in step; the tests validate every XML answer against the Subsonic 1.16.1 XSD.

use serde::Serialize;
use serde_json::{Map, Value};

use super::library;
use super::model::{AlbumId3, ArtistId3, Child};

/// The protocol version answered, whatever `v` the client sent.
pub(crate) const API_VERSION: &str = "1.16.1";
/// The XML namespace of every Subsonic answer.
const NAMESPACE: &str = "http://subsonic.org/restapi";

/// `subsonic-response`: the envelope of every answer.
#[derive(Debug, Serialize)]
pub(crate) struct Envelope {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    #[serde(rename = "@status")]
    status: &'static str,
    #[serde(rename = "@version")]
    version: &'static str,
    #[serde(rename = "@type")]
    server_type: &'static str,
    #[serde(rename = "@serverVersion")]
    server_version: &'static str,
    #[serde(rename = "@openSubsonic")]
    open_subsonic: bool,
    #[serde(rename = "$value", skip_serializing_if = "Option::is_none")]
    payload: Option<Payload>,
}

impl Envelope {
    /// A successful answer carrying `payload` (none for `ping` and mutations).
    pub(crate) fn ok(payload: Option<Payload>) -> Self {
        Self::new("ok", payload)
    }

    /// A failed answer.
    pub(crate) fn failed(code: u16, message: String) -> Self {
        Self::new("failed", Some(Payload::Error(ErrorBody { code, message })))
    }

    fn new(status: &'static str, payload: Option<Payload>) -> Self {
        Self {
            xmlns: NAMESPACE,
            status,
            version: API_VERSION,
            server_type: "tunemesh",
            server_version: server_version(),
            open_subsonic: true,
            payload,
        }
    }

    /// The XML document.
    pub(crate) fn to_xml(&self) -> Result<String, quick_xml::SeError> {
        let body = quick_xml::se::to_string_with_root("subsonic-response", self)?;
        Ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"
        ))
    }

    /// The JSON document: `{"subsonic-response": {...}}`.
    pub(crate) fn to_json(&self) -> Result<Value, serde_json::Error> {
        let mut map = Map::new();
        map.insert("subsonic-response".to_owned(), to_json_value(self)?);
        Ok(Value::Object(map))
    }
}

/// `"<crate version> (<git sha>)"`, as Navidrome and gonic report theirs.
fn server_version() -> &'static str {
    match option_env!("TUNEMESH_GIT_SHA") {
        Some(sha) if !sha.is_empty() => {
            static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            VERSION.get_or_init(|| format!("{} ({sha})", env!("CARGO_PKG_VERSION")))
        }
        _ => env!("CARGO_PKG_VERSION"),
    }
}

/// `value` as JSON, with the XML markers of this module's structs removed.
pub(crate) fn to_json_value<T: Serialize>(value: &T) -> Result<Value, serde_json::Error> {
    Ok(unmark(serde_json::to_value(value)?))
}

fn unmark(value: Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.as_str() {
                    "@xmlns" => {}
                    "$value" => {
                        if let Value::Object(inner) = unmark(value) {
                            out.extend(inner);
                        }
                    }
                    "$text" => {
                        out.insert("value".to_owned(), unmark(value));
                    }
                    _ => {
                        let key = key.strip_prefix('@').unwrap_or(&key).to_owned();
                        out.insert(key, unmark(value));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(unmark).collect()),
        other => other,
    }
}

/// What an answer carries: one variant per payload element, named as the XSD names it.
#[derive(Debug, Serialize)]
pub(crate) enum Payload {
    /// `error`
    #[serde(rename = "error")]
    Error(ErrorBody),
    /// `license`
    #[serde(rename = "license")]
    License(License),
    /// `user`
    #[serde(rename = "user")]
    User(Box<User>),
    /// `openSubsonicExtensions` (OpenSubsonic; repeated in XML, an array in JSON)
    #[serde(rename = "openSubsonicExtensions")]
    Extensions(Vec<Extension>),
    /// `tokenInfo` (OpenSubsonic `apiKeyAuthentication`)
    #[serde(rename = "tokenInfo")]
    TokenInfo(TokenInfo),
    /// `podcasts`
    #[serde(rename = "podcasts")]
    Podcasts(Empty),
    /// `newestPodcasts`
    #[serde(rename = "newestPodcasts")]
    NewestPodcasts(Empty),
    /// `internetRadioStations`
    #[serde(rename = "internetRadioStations")]
    InternetRadioStations(Empty),
    /// `shares`
    #[serde(rename = "shares")]
    Shares(Empty),
    /// `bookmarks`
    #[serde(rename = "bookmarks")]
    Bookmarks(Empty),
    /// `musicFolders`
    #[serde(rename = "musicFolders")]
    MusicFolders(MusicFolders),
    /// `song`
    #[serde(rename = "song")]
    Song(Box<Child>),
    /// `album` (with its songs)
    #[serde(rename = "album")]
    Album(Box<AlbumId3>),
    /// `artist` (with its albums)
    #[serde(rename = "artist")]
    Artist(Box<ArtistId3>),
    /// `playlists`
    #[serde(rename = "playlists")]
    Playlists(Playlists),
    /// `playlist` (with its songs)
    #[serde(rename = "playlist")]
    Playlist(Box<Playlist>),
    /// `similarSongs` (getSimilarSongs)
    #[serde(rename = "similarSongs")]
    SimilarSongs(Songs),
    /// `similarSongs2` (getSimilarSongs2)
    #[serde(rename = "similarSongs2")]
    SimilarSongs2(Songs),
    /// `topSongs`
    #[serde(rename = "topSongs")]
    TopSongs(Songs),
    /// `scanStatus`
    #[serde(rename = "scanStatus")]
    ScanStatus(ScanStatus),
    /// `nowPlaying`
    #[serde(rename = "nowPlaying")]
    NowPlaying(super::scrobble::NowPlayingList),
    /// `starred` (folder browsing)
    #[serde(rename = "starred")]
    Starred(super::stars::Starred),
    /// `starred2` (by tags)
    #[serde(rename = "starred2")]
    Starred2(super::stars::Starred2),
    /// `playQueue`
    #[serde(rename = "playQueue")]
    PlayQueue(super::queue::PlayQueue),
    /// `playQueueByIndex` (OpenSubsonic `indexBasedQueue`)
    #[serde(rename = "playQueueByIndex")]
    PlayQueueByIndex(super::queue::PlayQueueByIndex),
    /// `indexes` (folder browsing)
    #[serde(rename = "indexes")]
    Indexes(library::Indexes),
    /// `artists`
    #[serde(rename = "artists")]
    Artists(library::ArtistsId3),
    /// `directory`
    #[serde(rename = "directory")]
    Directory(library::Directory),
    /// `albumList`
    #[serde(rename = "albumList")]
    AlbumList(library::AlbumList),
    /// `albumList2`
    #[serde(rename = "albumList2")]
    AlbumList2(library::AlbumList2),
    /// `randomSongs`
    #[serde(rename = "randomSongs")]
    RandomSongs(library::Songs),
    /// `songsByGenre`
    #[serde(rename = "songsByGenre")]
    SongsByGenre(library::Songs),
    /// `genres`
    #[serde(rename = "genres")]
    Genres(library::Genres),
    /// `searchResult2`
    #[serde(rename = "searchResult2")]
    SearchResult2(library::SearchResult2),
    /// `searchResult3`
    #[serde(rename = "searchResult3")]
    SearchResult3(library::SearchResult3),
    /// `artistInfo` (empty: tunemesh has no biographies)
    #[serde(rename = "artistInfo")]
    ArtistInfo(Empty),
    /// `artistInfo2` (empty)
    #[serde(rename = "artistInfo2")]
    ArtistInfo2(Empty),
    /// `albumInfo` (empty; `getAlbumInfo` and `getAlbumInfo2` both answer it)
    #[serde(rename = "albumInfo")]
    AlbumInfo(Empty),
    /// `lyrics` (empty: no lyrics are extracted)
    #[serde(rename = "lyrics")]
    Lyrics(Empty),
    /// `lyricsList` (OpenSubsonic; empty)
    #[serde(rename = "lyricsList")]
    LyricsList(Empty),
}

/// `scanStatus`: whether the music folder is being read, and how many songs there are.
#[derive(Debug, Serialize)]
pub(crate) struct ScanStatus {
    #[serde(rename = "@scanning")]
    pub(crate) scanning: bool,
    #[serde(rename = "@count")]
    pub(crate) count: i64,
}

/// A list of songs (`similarSongs`, `similarSongs2`, `topSongs`).
#[derive(Debug, Serialize)]
pub(crate) struct Songs {
    pub(crate) song: Vec<Child>,
}

/// `playlists`
#[derive(Debug, Serialize)]
pub(crate) struct Playlists {
    pub(crate) playlist: Vec<Playlist>,
}

/// `Playlist`, and `PlaylistWithSongs` when `entry` is filled.
#[derive(Debug, Serialize)]
pub(crate) struct Playlist {
    #[serde(rename = "@id")]
    pub(crate) id: String,
    #[serde(rename = "@name")]
    pub(crate) name: String,
    #[serde(rename = "@comment", skip_serializing_if = "Option::is_none")]
    pub(crate) comment: Option<String>,
    #[serde(rename = "@owner")]
    pub(crate) owner: String,
    #[serde(rename = "@public")]
    pub(crate) public: bool,
    #[serde(rename = "@songCount")]
    pub(crate) song_count: i32,
    #[serde(rename = "@duration")]
    pub(crate) duration: i32,
    #[serde(rename = "@created")]
    pub(crate) created: String,
    #[serde(rename = "@changed")]
    pub(crate) changed: String,
    #[serde(rename = "@coverArt", skip_serializing_if = "Option::is_none")]
    pub(crate) cover_art: Option<String>,
    /// The songs, in playlist order: only in `getPlaylist` and `createPlaylist`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) entry: Vec<Child>,
}

/// `musicFolders`
#[derive(Debug, Serialize)]
pub(crate) struct MusicFolders {
    #[serde(rename = "musicFolder")]
    pub(crate) music_folder: Vec<MusicFolder>,
}

/// One `musicFolder`.
#[derive(Debug, Serialize)]
pub(crate) struct MusicFolder {
    #[serde(rename = "@id")]
    pub(crate) id: i32,
    #[serde(rename = "@name")]
    pub(crate) name: &'static str,
}

/// `error`
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    #[serde(rename = "@code")]
    code: u16,
    #[serde(rename = "@message")]
    message: String,
}

/// `license`: tunemesh needs none, so it is always valid.
#[derive(Debug, Serialize)]
pub(crate) struct License {
    #[serde(rename = "@valid")]
    pub(crate) valid: bool,
}

/// `tokenInfo`: whose API key was sent.
#[derive(Debug, Serialize)]
pub(crate) struct TokenInfo {
    #[serde(rename = "@username")]
    pub(crate) username: String,
}

/// An empty list (podcasts, radio stations, shares, bookmarks): `{}` in JSON, an empty
/// element in XML.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Empty {}

/// One `openSubsonicExtensions` entry.
#[derive(Debug, Serialize)]
pub(crate) struct Extension {
    #[serde(rename = "@name")]
    pub(crate) name: &'static str,
    pub(crate) versions: Vec<u32>,
}

/// `user`: the caller's account and what it may do.
#[derive(Debug, Serialize)]
pub(crate) struct User {
    #[serde(rename = "@username")]
    pub(crate) username: String,
    #[serde(rename = "@email")]
    pub(crate) email: String,
    #[serde(rename = "@scrobblingEnabled")]
    pub(crate) scrobbling_enabled: bool,
    #[serde(rename = "@adminRole")]
    pub(crate) admin_role: bool,
    #[serde(rename = "@settingsRole")]
    pub(crate) settings_role: bool,
    #[serde(rename = "@downloadRole")]
    pub(crate) download_role: bool,
    #[serde(rename = "@uploadRole")]
    pub(crate) upload_role: bool,
    #[serde(rename = "@playlistRole")]
    pub(crate) playlist_role: bool,
    #[serde(rename = "@coverArtRole")]
    pub(crate) cover_art_role: bool,
    #[serde(rename = "@commentRole")]
    pub(crate) comment_role: bool,
    #[serde(rename = "@podcastRole")]
    pub(crate) podcast_role: bool,
    #[serde(rename = "@streamRole")]
    pub(crate) stream_role: bool,
    #[serde(rename = "@jukeboxRole")]
    pub(crate) jukebox_role: bool,
    #[serde(rename = "@shareRole")]
    pub(crate) share_role: bool,
    #[serde(rename = "@videoConversionRole")]
    pub(crate) video_conversion_role: bool,
    /// Music folder ids the user may read: tunemesh has one library, folder 1.
    pub(crate) folder: Vec<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_struct_gives_both_formats() {
        let envelope = Envelope::ok(Some(Payload::Extensions(vec![Extension {
            name: "formPost",
            versions: vec![1],
        }])));
        let xml = envelope.to_xml().expect("xml");
        assert!(xml.contains(r#"<subsonic-response xmlns="http://subsonic.org/restapi" status="ok" version="1.16.1" type="tunemesh""#), "{xml}");
        assert!(xml.contains(r#"<openSubsonicExtensions name="formPost"><versions>1</versions></openSubsonicExtensions>"#), "{xml}");
        let json = envelope.to_json().expect("json");
        let body = &json["subsonic-response"];
        assert_eq!(body["status"], "ok");
        assert_eq!(body["openSubsonic"], true);
        assert!(body.get("xmlns").is_none());
        assert_eq!(body["openSubsonicExtensions"][0]["name"], "formPost");
        assert_eq!(body["openSubsonicExtensions"][0]["versions"][0], 1);
    }

    #[test]
    fn errors_carry_code_and_message_in_both_formats() {
        let envelope = Envelope::failed(10, "required parameter is missing: id".into());
        let xml = envelope.to_xml().expect("xml");
        assert!(
            xml.contains(r#"<error code="10" message="required parameter is missing: id"/>"#),
            "{xml}"
        );
        let json = envelope.to_json().expect("json");
        assert_eq!(json["subsonic-response"]["error"]["code"], 10);
        assert_eq!(json["subsonic-response"]["status"], "failed");
    }
}
