//! The index's schema: one document per track, album, artist and public playlist, each with a
//! display name, its context (artists, album, genre and year, or a playlist's description)
//! and its popularity; and one textless document per private or deleted playlist, holding
//! what the feed knows of it (see [`crate::playlists`]).
//!
//! Every searchable text is indexed twice: as words (exact and typo-tolerant matches) and as
//! edge n-grams (search-as-you-type); once in its own field, for ranking, and once in the
//! `all` fields, for matching. The result shown to clients is stored pre-encoded, so a
//! search page costs one stored-document read per hit and no join.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value as _,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, TantivyDocument};
use tunemesh_proto::catalog::v1::Track;
use tunemesh_proto::events::v1::PlaylistChanged;
use tunemesh_proto::prost::Message as _;
use tunemesh_proto::search::v1::{SearchResult, SearchResultType};

use crate::text::{self, NameTokenizer};

/// A document to index, whatever its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    /// Unique key across kinds (see [`key`]).
    pub key: String,
    /// What the document is.
    pub kind: SearchResultType,
    /// The title of a track or album, the name of an artist or playlist.
    pub name: String,
    /// The artists of a track or album (empty for an artist).
    pub artists: Vec<String>,
    /// The album title of a track (empty otherwise).
    pub album: String,
    /// Genre and year, or a playlist's description, matched with a low weight.
    pub extra: String,
    /// Counted plays (of the track, or of all tracks of the album or artist), or a
    /// playlist's followers.
    pub plays: u64,
    /// The result as returned to clients, without score and highlights.
    pub result: SearchResult,
    /// For a track, the track as the catalogue last sent it: stored so a restarted replica
    /// rebuilds its catalogue model from its own index instead of replaying the stream.
    pub track: Option<Track>,
    /// For a playlist, what the feed knows of it, stored for the same reason.
    pub playlist: Option<PlaylistChanged>,
}

/// The key of a document: kinds have separate id spaces, so the kind is part of it.
pub(crate) fn key(kind: SearchResultType, id: &str) -> String {
    let tag = match kind {
        SearchResultType::Track => 't',
        SearchResultType::Album => 'a',
        SearchResultType::Artist => 'r',
        SearchResultType::Playlist => 'p',
        SearchResultType::Unspecified => 'u',
    };
    format!("{tag}:{id}")
}

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Raw key, for deletes.
    pub key: Field,
    /// [`SearchResultType`] as a number, for the type filter.
    pub kind: Field,
    /// Name words and prefixes.
    pub name: Field,
    /// Edge n-grams of the name.
    pub name_prefix: Field,
    /// Artist words.
    pub artist: Field,
    /// Edge n-grams of the artists.
    pub artist_prefix: Field,
    /// Album words.
    pub album: Field,
    /// Edge n-grams of the album.
    pub album_prefix: Field,
    /// Genre and year words.
    pub extra: Field,
    /// Every word of the name, artists, album, genre and year: what a word must match
    /// somewhere, as one posting list (see [`crate::query`]).
    pub all: Field,
    /// Edge n-grams of the name, artists and album, for the word being typed.
    pub all_prefix: Field,
    /// Popularity (fast field read while ranking).
    pub plays: Field,
    /// A hash of the key: orders equal scores the same way on every replica.
    pub tiebreak: Field,
    /// The encoded [`SearchResult`].
    pub result: Field,
    /// The encoded catalogue [`Track`] of a track document.
    pub track: Field,
    /// The encoded state of a playlist document (see [`IndexDoc::playlist`]).
    pub playlist: Field,
}

/// Name of the popularity fast field, as the ranking reads it.
pub(crate) const PLAYS: &str = "plays";
/// Name of the tie-break fast field.
pub(crate) const TIEBREAK: &str = "tiebreak";

impl Fields {
    /// The schema and its fields.
    pub fn schema() -> (Schema, Self) {
        let mut builder = Schema::builder();
        // Positions are not needed (no phrase queries), term frequencies are (BM25).
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqs),
            )
        };
        let fields = Self {
            key: builder.add_text_field("key", STRING),
            kind: builder.add_u64_field("kind", INDEXED),
            name: builder.add_text_field("name", text(text::WORDS)),
            name_prefix: builder.add_text_field("name_prefix", text(text::PREFIXES)),
            artist: builder.add_text_field("artist", text(text::WORDS)),
            artist_prefix: builder.add_text_field("artist_prefix", text(text::PREFIXES)),
            album: builder.add_text_field("album", text(text::WORDS)),
            album_prefix: builder.add_text_field("album_prefix", text(text::PREFIXES)),
            extra: builder.add_text_field("extra", text(text::WORDS)),
            all: builder.add_text_field("all", text(text::WORDS)),
            all_prefix: builder.add_text_field("all_prefix", text(text::PREFIXES)),
            plays: builder.add_u64_field(PLAYS, FAST),
            tiebreak: builder.add_u64_field(TIEBREAK, FAST),
            result: builder.add_bytes_field("result", STORED),
            track: builder.add_bytes_field("track", STORED),
            playlist: builder.add_bytes_field("playlist", STORED),
        };
        (builder.build(), fields)
    }

    /// Registers the analyzers the schema names; call on every opened or created index.
    pub fn register_analyzers(index: &Index) {
        let tokenizers = index.tokenizers();
        tokenizers.register(
            text::WORDS,
            TextAnalyzer::from(NameTokenizer { prefixes: false }),
        );
        tokenizers.register(
            text::PREFIXES,
            TextAnalyzer::from(NameTokenizer { prefixes: true }),
        );
    }

    /// The tantivy document of `doc`.
    pub fn document(&self, doc: &IndexDoc) -> TantivyDocument {
        let mut out = TantivyDocument::default();
        out.add_text(self.key, &doc.key);
        out.add_u64(self.kind, kind_number(doc.kind));
        let mut text = |field: Field, prefix: Field, value: &str| {
            out.add_text(field, value);
            out.add_text(prefix, value);
            out.add_text(self.all, value);
            out.add_text(self.all_prefix, value);
        };
        text(self.name, self.name_prefix, &doc.name);
        for artist in &doc.artists {
            text(self.artist, self.artist_prefix, artist);
        }
        if !doc.album.is_empty() {
            text(self.album, self.album_prefix, &doc.album);
        }
        if !doc.extra.is_empty() {
            out.add_text(self.extra, &doc.extra);
            out.add_text(self.all, &doc.extra);
        }
        out.add_u64(self.plays, doc.plays);
        out.add_u64(
            self.tiebreak,
            crate::page_token::fingerprint(&[doc.key.as_bytes()]),
        );
        out.add_bytes(self.result, &doc.result.encode_to_vec());
        if let Some(track) = &doc.track {
            out.add_bytes(self.track, &track.encode_to_vec());
        }
        if let Some(playlist) = &doc.playlist {
            out.add_bytes(self.playlist, &playlist.encode_to_vec());
        }
        out
    }

    /// The stored result of a document read back from the index.
    pub fn stored_result(&self, doc: &TantivyDocument) -> Option<SearchResult> {
        let bytes = doc.get_first(self.result)?.as_bytes()?;
        SearchResult::decode(bytes).ok()
    }

    /// The stored catalogue track of a track document read back from the index (decoded in
    /// its box: a track is large to move, and the catalogue model keeps it boxed).
    pub fn stored_track(&self, doc: &TantivyDocument) -> Option<Box<Track>> {
        let bytes = doc.get_first(self.track)?.as_bytes()?;
        let mut track = Box::<Track>::default();
        track.merge(bytes).ok()?;
        Some(track)
    }

    /// The stored state of a playlist document read back from the index.
    pub fn stored_playlist(&self, doc: &TantivyDocument) -> Option<PlaylistChanged> {
        let bytes = doc.get_first(self.playlist)?.as_bytes()?;
        PlaylistChanged::decode(bytes).ok()
    }
}

/// The number a kind is indexed under.
pub(crate) fn kind_number(kind: SearchResultType) -> u64 {
    // Enum discriminants are small and non-negative by the proto's definition.
    u64::try_from(i32::from(kind)).unwrap_or(0)
}
