//! Settings of the search service (`[search]`).

use serde::Deserialize;

/// What the search service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {}
