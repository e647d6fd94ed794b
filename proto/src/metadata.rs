//! gRPC metadata keys that are part of the contracts: how the gateway tells a service who is
//! calling.
//!
//! End-user RPCs take no user id in their requests. The gateway verifies the listener's token,
//! drops any identity a client sent, and attaches a short-lived identity token signed with the
//! mesh secret under [`IDENTITY`]: a JWT (HS256, audience `tunemesh-mesh`) whose `sub` is the
//! user id and whose `roles` claim lists the caller's roles. Services verify the signature, so
//! reaching a service's port is not enough to act as someone. A service answers
//! UNAUTHENTICATED when [`IDENTITY`] is missing, forged or expired. Rust services verify it
//! with `tunemesh_runtime::identity::MeshIdentity`.

/// Metadata key carrying the signed identity of the caller.
pub const IDENTITY: &str = "tunemesh-identity";

/// The role that allows calling `tunemesh.catalog.v1.IngestService`.
pub const ROLE_ADMIN: &str = "admin";
