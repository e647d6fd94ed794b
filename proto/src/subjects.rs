//! Event-bus subjects that are part of the contracts: which `tunemesh.events.v1` message is
//! published on which subject. Each subject carries exactly one message type, encoded as
//! protobuf, with the event id also in the `Nats-Msg-Id` header.

/// Subject of [`PlayEvent`](crate::events::v1::PlayEvent): one per ended play session.
pub const PLAY: &str = "events.play";

/// Subject of [`CatalogEvent`](crate::events::v1::CatalogEvent): tracks added or updated.
pub const CATALOG: &str = "events.catalog";

/// Subject of [`PlaylistEvent`](crate::events::v1::PlaylistEvent): playlist and liked-songs
/// changes.
pub const PLAYLIST: &str = "events.playlist";
