//! gRPC metadata keys that are part of the contracts: how the gateway tells a service who is
//! calling.
//!
//! End-user RPCs take no user id in their requests. The gateway verifies the listener's token,
//! drops any identity a client sent, and attaches under [`IDENTITY`] an assertion it signs
//! with its Ed25519 key: a JWT (alg EdDSA) whose `sub` is the user id, `roles` the caller's
//! roles, `aud` the service called (`player`, `playlist`, `search`, `reco`), `mth` the full
//! gRPC method, with `iat`, `exp` (30 s) and `jti`. Services hold only the gateway's public
//! keys, so reaching a service's port, or being a service, is not enough to act as someone. A
//! service answers UNAUTHENTICATED when [`IDENTITY`] is missing (and the caller has no mesh
//! certificate), forged, expired, or minted for another service or method. A service calling
//! another for a user passes the assertion on unchanged. Rust services verify it with
//! `tunemesh_runtime::identity::Verifier`.

/// Metadata key carrying the signed identity of the caller.
pub const IDENTITY: &str = "tunemesh-identity";

/// The role that allows calling `tunemesh.catalog.v1.IngestService`.
pub const ROLE_ADMIN: &str = "admin";
