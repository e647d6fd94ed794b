//! Hooks for the integration tests (feature `testsuite`, on in every `cargo test` through the
//! crate's dev-dependency on itself): parts they check directly that are not the crate's API.

pub use tunemesh_runtime::blobs::{Blobs, bytes_read};

/// The id of the one `PlayEvent` play session `session_id` emits (derived, so a duplicate
/// append is one event downstream).
pub fn play_event_id(session_id: &str) -> String {
    crate::play_sessions::event_id(session_id)
}
