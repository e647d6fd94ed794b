//! Settings of the reco service (`[reco]`).

use serde::Deserialize;

/// What the reco service can be configured with; the defaults serve `tunemesh up`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoSettings {}
