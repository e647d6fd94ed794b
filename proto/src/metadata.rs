//! gRPC metadata keys that are part of the contracts: how the gateway tells a service who is
//! calling.
//!
//! End-user RPCs take no user id in their requests. The gateway verifies the caller's token,
//! strips any of these keys a client sent, and sets them on the call it forwards; services
//! trust them because only the gateway (and other services, passing them on) can reach the
//! mesh. A service answers UNAUTHENTICATED when [`USER_ID`] is missing.

/// Metadata key carrying the verified id of the calling user (ASCII, at most 64 bytes).
pub const USER_ID: &str = "tunemesh-user-id";

/// Metadata key carrying the verified roles of the caller, comma-separated (e.g. `admin`).
/// Absent for ordinary listeners.
pub const USER_ROLES: &str = "tunemesh-user-roles";

/// The role that allows calling `tunemesh.catalog.v1.IngestService`.
pub const ROLE_ADMIN: &str = "admin";
