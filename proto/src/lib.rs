//! The protobuf contracts of tunemesh and the Rust stubs generated from them.
//!
//! The `.proto` files under `proto/tunemesh/` are the public API; this crate compiles them at
//! build time (into `OUT_DIR`, never into the tree) to prost messages, tonic clients and tonic
//! servers. Every generated server trait method has a default body answering
//! `UNIMPLEMENTED`, so a service can be built up one RPC at a time.
//!
//! It also re-exports the exact `tonic`, `prost` and `prost-types` the stubs were generated
//! for, so other crates use those and never a second version.
//!
//! # Layout
//!
//! One module per protobuf package, `tunemesh.<area>.v1` → [`<area>::v1`](catalog::v1):
//! - [`common::v1`]: shared types (trace context, image reference);
//! - [`catalog::v1`]: tracks, albums, artists (`CatalogService`) and ingest (`IngestService`);
//! - [`player::v1`]: audio delivery and play reports (`PlayerService`);
//! - [`playlist::v1`]: playlists and liked songs (`PlaylistService`);
//! - [`search::v1`]: catalog search (`SearchService`);
//! - [`reco::v1`]: recommendations and radio (`RecommendationService`);
//! - [`events::v1`]: the messages published on the event bus (no service).
//!
//! Beside the generated code: [`metadata`] (the gRPC metadata keys carrying the caller's
//! identity), [`subjects`] (the event-bus subject of each event message) and [`quality`] (the
//! quality ladder: each rung's word, contract value and bitrate), all part of the contracts
//! too; see `proto/README.md` for the conventions every contract follows.

#![warn(missing_docs, unreachable_pub)]

pub mod metadata;
pub mod quality;
pub mod subjects;

pub use prost;
pub use prost_types;
pub use tonic;

/// Includes the code generated for one protobuf package.
///
/// Clippy is silenced on generated code only: its style follows the generator, and its docs are
/// the `.proto` comments, written for every language rather than for rustdoc (clippy's doc
/// lints such as `doc_markdown` flag hundreds of them under `pedantic`). rustc's own lints,
/// the workspace's included and the crate's `missing_docs` and `unreachable_pub`, still apply,
/// and the generated code passes them (buf lint requires a comment on every element).
macro_rules! package {
    ($(#[$attr:meta])* $name:ident, $package:literal) => {
        $(#[$attr])*
        pub mod $name {
            /// Version 1 of the package: stable, changed only in backward-compatible ways.
            #[allow(clippy::all, clippy::pedantic)]
            pub mod v1 {
                tonic::include_proto!($package);
            }
        }
    };
}

package!(
    /// `tunemesh.common.v1`: small types shared by several packages.
    common,
    "tunemesh.common.v1"
);
package!(
    /// `tunemesh.catalog.v1`: the music catalog and its ingest.
    catalog,
    "tunemesh.catalog.v1"
);
package!(
    /// `tunemesh.player.v1`: audio delivery and play reports.
    player,
    "tunemesh.player.v1"
);
package!(
    /// `tunemesh.playlist.v1`: playlists and liked songs.
    playlist,
    "tunemesh.playlist.v1"
);
package!(
    /// `tunemesh.search.v1`: full-text search over the catalog.
    search,
    "tunemesh.search.v1"
);
package!(
    /// `tunemesh.reco.v1`: recommendations, radio and similar tracks.
    reco,
    "tunemesh.reco.v1"
);
package!(
    /// `tunemesh.events.v1`: messages published on the event bus.
    events,
    "tunemesh.events.v1"
);

/// The encoded `google.protobuf.FileDescriptorSet` of every tunemesh `.proto` file, for
/// gRPC server reflection (`tonic_reflection::server::Builder::register_encoded_file_descriptor_set`).
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tunemesh_descriptor");

/// Fully-qualified names of every gRPC service defined by the contracts, as used in gRPC
/// paths, health checks (`grpc.health.v1`) and reflection.
pub const SERVICE_NAMES: &[&str] = &[
    catalog::v1::catalog_service_server::SERVICE_NAME,
    catalog::v1::ingest_service_server::SERVICE_NAME,
    player::v1::player_service_server::SERVICE_NAME,
    playlist::v1::playlist_service_server::SERVICE_NAME,
    search::v1::search_service_server::SERVICE_NAME,
    reco::v1::recommendation_service_server::SERVICE_NAME,
];
