//! Settings of the player service (`[player]`).

use serde::Deserialize;

/// What the player service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayerSettings {}
