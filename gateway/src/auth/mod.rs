//! Who is calling: accounts, passwords, access and refresh tokens, and the layer that
//! guards every protected route.

pub mod hs256;
pub mod password;
pub mod require;
pub mod revocation;
pub mod service;
pub mod tokens;
pub mod validate;

pub use password::Passwords;
pub use require::{Authenticated, require_caller};
pub use service::Auth;
pub use tokens::AccessTokens;
