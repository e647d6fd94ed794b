//! Who is calling: accounts, passwords, access and refresh tokens, and the layer that
//! guards every protected route.

pub mod password;
pub mod require;
pub mod service;
pub mod tokens;
pub mod validate;

pub use password::Passwords;
pub use require::{Authenticated, require_caller};
pub use service::Auth;
pub use tokens::AccessTokens;
