//! JSON shapes of `/v1/library/uploads` and `/v1/library/status`.

use serde::{Deserialize, Serialize};
use tunemesh_proto::catalog::v1::{
    GetLibraryStatusResponse, IngestOutcome, IngestReason, IngestResult,
};
use utoipa::{IntoParams, ToSchema};

/// Query of `PUT /v1/library/uploads/{sha256}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The file's base name on the client, e.g. `01 - Intro.flac`: it tells the format and
    /// titles untagged files. 1 to 255 bytes, no `/`, `\` or control characters.
    pub file_name: String,
}

/// What became of an uploaded file.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadResult {
    /// `ingested` (a new track), `skipped` (left alone on purpose, e.g. already in the
    /// catalogue) or `failed` (see `reason`).
    #[schema(example = "ingested")]
    pub outcome: String,
    /// The new track, or the one that already holds this content; absent otherwise.
    pub track_id: Option<String>,
    /// Why it was skipped or failed: `duplicate_content`, `not_audio`, `unsupported_format`,
    /// `corrupt`, `checksum_mismatch`, `empty`, `too_large`, `internal`; absent when ingested.
    pub reason: Option<String>,
    /// Detail for a person (e.g. the decoder's message); empty when ingested.
    pub detail: String,
}

impl From<IngestResult> for UploadResult {
    fn from(result: IngestResult) -> Self {
        let outcome = match result.outcome() {
            IngestOutcome::Ingested => "ingested",
            IngestOutcome::Skipped => "skipped",
            IngestOutcome::Failed | IngestOutcome::Unspecified => "failed",
        };
        let reason = match result.reason() {
            IngestReason::Unspecified => None,
            IngestReason::DuplicateContent => Some("duplicate_content"),
            IngestReason::NotAudio => Some("not_audio"),
            IngestReason::UnsupportedFormat => Some("unsupported_format"),
            IngestReason::Corrupt => Some("corrupt"),
            IngestReason::ChecksumMismatch => Some("checksum_mismatch"),
            IngestReason::Empty => Some("empty"),
            IngestReason::TooLarge => Some("too_large"),
            IngestReason::Internal => Some("internal"),
        };
        Self {
            outcome: outcome.to_owned(),
            track_id: Some(result.track_id).filter(|id| !id.is_empty()),
            reason: reason.map(str::to_owned),
            detail: result.detail,
        }
    }
}

/// How the server's music folder is being read into the catalogue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LibraryStatus {
    /// Whether the server reads a music folder at all; when false, nothing else is set.
    pub configured: bool,
    /// Whether a scan runs now (the folder is rescanned periodically).
    pub scanning: bool,
    /// Files the running scan (or the last one that found new or changed files) had to read;
    /// absent before the first such scan.
    pub files_total: Option<u32>,
    /// Of those, files done so far.
    pub files_done: Option<u32>,
    /// Of those, files that became new tracks.
    pub ingested: Option<u32>,
    /// Of those, files left alone (already in the catalogue, or not audio).
    pub skipped: Option<u32>,
    /// Of those, files that could not be ingested.
    pub failed: Option<u32>,
    /// Scans finished since the server started.
    pub scans_completed: u64,
}

impl From<GetLibraryStatusResponse> for LibraryStatus {
    fn from(status: GetLibraryStatusResponse) -> Self {
        let progress = status.progress;
        Self {
            configured: status.configured,
            scanning: status.scanning,
            files_total: progress.map(|p| p.files_total),
            files_done: progress.map(|p| p.files_done),
            ingested: progress.map(|p| p.ingested),
            skipped: progress.map(|p| p.skipped),
            failed: progress.map(|p| p.failed),
            scans_completed: status.scans_completed,
        }
    }
}
