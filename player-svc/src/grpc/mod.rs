//! Thin gRPC adapters: each method checks the caller, turns the request into a call on the
//! domain and the result into a response.
//!
//! # Layout
//! - `catalog.rs`: `CatalogService`
//! - `player.rs`: `PlayerService`
//! - `ingest.rs`: `IngestService`

mod catalog;
mod ingest;
mod player;

pub(crate) use catalog::CatalogApi;
pub(crate) use ingest::IngestApi;
pub(crate) use player::PlayerApi;

use tunemesh_proto::tonic::{Request, Status};
use tunemesh_runtime::identity::{Caller, Verifier};

/// The verified caller, or UNAUTHENTICATED.
fn caller<T>(identity: &Verifier, request: &Request<T>) -> Result<Caller, Status> {
    identity.caller(request).map_err(Status::from)
}
