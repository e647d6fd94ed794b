//! gRPC message-size limits, applied by [`GrpcServer::add_service`](super::GrpcServer::add_service)
//! to every service a server hosts, so no service can be mounted with tonic's defaults (4 MiB in,
//! unbounded out) by forgetting to set them.

use tunemesh_proto::catalog::v1::catalog_service_server::{CatalogService, CatalogServiceServer};
use tunemesh_proto::catalog::v1::ingest_service_server::{IngestService, IngestServiceServer};
use tunemesh_proto::player::v1::player_service_server::{PlayerService, PlayerServiceServer};
use tunemesh_proto::playlist::v1::playlist_service_server::{
    PlaylistService, PlaylistServiceServer,
};
use tunemesh_proto::reco::v1::recommendation_service_server::{
    RecommendationService, RecommendationServiceServer,
};
use tunemesh_proto::search::v1::search_service_server::{SearchService, SearchServiceServer};

use super::GrpcServerSettings;

/// The largest message a server decodes (requests) and encodes (responses), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Largest request message accepted; a larger one fails with `RESOURCE_EXHAUSTED`.
    pub decode: usize,
    /// Largest response message sent; a larger one fails the call instead of being sent.
    pub encode: usize,
}

impl MessageLimits {
    /// The same limit both ways (what `grpc.max_message_bytes` sets).
    pub const fn both(bytes: usize) -> Self {
        Self {
            decode: bytes,
            encode: bytes,
        }
    }
}

impl From<&GrpcServerSettings> for MessageLimits {
    fn from(settings: &GrpcServerSettings) -> Self {
        Self::both(settings.max_message_bytes)
    }
}

/// A generated tonic server whose message sizes can be bounded: every server of the
/// contracts (the generated code has the setters, but as inherent methods, not a trait).
pub trait LimitMessages {
    /// `self` bounded by `limits`.
    #[must_use]
    fn limit_messages(self, limits: MessageLimits) -> Self;
}

/// Implements [`LimitMessages`] for generated servers through their inherent setters.
macro_rules! limit_messages {
    ($($server:ident<$service:ident>),* $(,)?) => {$(
        impl<T: $service> LimitMessages for $server<T> {
            fn limit_messages(self, limits: MessageLimits) -> Self {
                self.max_decoding_message_size(limits.decode)
                    .max_encoding_message_size(limits.encode)
            }
        }
    )*};
}

limit_messages!(
    CatalogServiceServer<CatalogService>,
    IngestServiceServer<IngestService>,
    PlayerServiceServer<PlayerService>,
    PlaylistServiceServer<PlaylistService>,
    SearchServiceServer<SearchService>,
    RecommendationServiceServer<RecommendationService>,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_bounds_both_directions() {
        let settings = GrpcServerSettings {
            max_message_bytes: 1234,
            ..GrpcServerSettings::default()
        };
        assert_eq!(MessageLimits::from(&settings), MessageLimits::both(1234));
        assert_eq!(MessageLimits::both(7).encode, 7);
    }
}
