//! search-svc: typo-tolerant full-text search over the catalogue and public playlists, fed by
//! catalogue, play and playlist events.
//!
//! Listeners type half a word with a typo and expect the right song first: every word
//! matches exactly, within one or two typos, and (the last one) as a prefix; names with
//! punctuation and diacritics match the way people type them; popular items rank higher.
//!
//! # Layout
//! - [`settings`]: the `[search]` settings.
//! - `app`: builds the service: index, feed, readiness, gRPC server.
//! - [`service`]: the [`Search`](service::Search) domain trait and its implementation.
//! - [`grpc`]: the thin adapter from the generated server trait.
//! - [`error`]: the service's errors and their codes.
//! - [`text`]: how names and queries become terms (folding, punctuation, prefixes).
//! - `schema`: the index's documents and fields.
//! - [`query`]: queries built term by term (no query parser ever sees user text).
//! - `expand`: bounded typo expansion over the term dictionaries.
//! - `collect`: the matching step's pruned top-k with popularity.
//! - `rank`: the fine ranking of the matching candidates, and popularity.
//! - [`index`]: the tantivy index: batched commits kept across restarts, two-step searches.
//! - [`catalog`]: the catalogue model that turns events into document changes.
//! - `playlists`: the playlist model (public playlists, ordered by revision, deletions final).
//! - `feed`: the durable consumers that keep the index current.
//! - [`highlight`], [`page_token`]: response details.
//!
//! Modules without a link are private. The public ones are what other crates use: the binary
//! (`build`, settings), the benches and fuzz targets (`catalog`, `index`, `service`, `text`,
//! `query`, `highlight`, `page_token`, and `grpc` for the gRPC-web target).

#![warn(missing_docs, unreachable_pub)]

mod app;
pub mod catalog;
mod collect;
pub mod error;
mod expand;
mod feed;
pub mod grpc;
pub mod highlight;
pub mod index;
pub mod page_token;
mod playlists;
pub mod query;
mod rank;
mod schema;
pub mod service;
pub mod settings;
pub mod text;

pub use app::build;
pub use settings::SearchSettings;

/// The service's name in discovery.
pub const SERVICE_NAME: &str = "search";
