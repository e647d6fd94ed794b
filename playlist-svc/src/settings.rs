//! Settings of the playlist service (`[playlist]`).

use serde::Deserialize;

/// What the playlist service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlaylistSettings {}
