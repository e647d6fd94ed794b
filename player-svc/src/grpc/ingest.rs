//! `catalog.v1.IngestService`: admin-only uploads and server-side library scans.

use std::path::{Component, Path, PathBuf};
use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tunemesh_proto::catalog::v1::ingest_service_server::IngestService;
use tunemesh_proto::catalog::v1::*;
use tunemesh_proto::tonic::{self, Request, Response, Status, Streaming};
use tunemesh_runtime::ServiceError as _;
use tunemesh_runtime::identity::{Caller, Verifier};

use super::caller;

/// The service name of the ingest job (`tunemesh ingest`) in its mesh certificate.
const INGEST_JOB: &str = "ingest";
use crate::error::PlayerError;
use crate::ingest::{Ingest, Outcome, Reason};
use crate::library;

/// `IngestService` over the [`Ingest`] pipeline.
#[derive(Debug, Clone)]
pub(crate) struct IngestApi {
    ingest: Ingest,
    identity: Verifier,
    /// Directories `ScanLibrary` may read.
    roots: Vec<PathBuf>,
    max_upload: u64,
    /// Where uploads are spooled while they arrive.
    spool: PathBuf,
}

impl IngestApi {
    /// The API; scans are confined to `roots`, uploads to `max_upload` bytes spooled in
    /// `spool`.
    pub(crate) fn new(
        ingest: Ingest,
        identity: Verifier,
        roots: Vec<PathBuf>,
        max_upload: u64,
        spool: PathBuf,
    ) -> Self {
        Self {
            ingest,
            identity,
            roots,
            max_upload,
            spool,
        }
    }

    /// The directory `path` names, once it is known to lie under a scan root. Nothing outside
    /// the roots is touched: the path is refused on its text first (relative, `..`, or not
    /// under a root), and only then resolved, so symlinks are followed only from inside a
    /// root, and a link that leads out is refused as well. Every refusal reads the same
    /// whether the path outside exists or not.
    async fn confine(&self, raw: &str) -> Result<PathBuf, Status> {
        let path = Path::new(raw);
        if !path.is_absolute() {
            return Err(invalid("path", "must be absolute"));
        }
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(invalid("path", "must not contain '..'"));
        }
        let outside = || {
            PlayerError::PermissionDenied(
                "the path is outside the directories this server may scan".to_owned(),
            )
            .to_status()
        };
        // The roots are the server's own settings: resolving them touches nothing a caller
        // chose.
        let resolved: Vec<PathBuf> = self
            .roots
            .iter()
            .filter_map(|root| std::fs::canonicalize(root).ok())
            .collect();
        // A root may be named through a link (`/music` -> `/mnt/music`): either spelling.
        let named = self
            .roots
            .iter()
            .chain(&resolved)
            .any(|r| path.starts_with(r));
        if !named {
            return Err(outside());
        }
        let canonical = tokio::fs::canonicalize(path)
            .await
            .map_err(|_| PlayerError::not_found("path", path.display().to_string()).to_status())?;
        if !resolved.iter().any(|root| canonical.starts_with(root)) {
            return Err(outside());
        }
        let meta = tokio::fs::metadata(&canonical)
            .await
            .map_err(|_| PlayerError::not_found("path", path.display().to_string()).to_status())?;
        if !meta.is_dir() {
            return Err(PlayerError::FailedPrecondition(format!(
                "{} is not a directory",
                path.display()
            ))
            .to_status());
        }
        Ok(canonical)
    }

    /// An admin user (through the gateway), or the ingest job calling for itself; no other
    /// service may ingest.
    fn admin<T>(&self, request: &Request<T>) -> Result<(), Status> {
        if may_ingest(&caller(&self.identity, request)?) {
            Ok(())
        } else {
            Err(PlayerError::PermissionDenied("ingest needs the admin role".to_owned()).to_status())
        }
    }
}

/// Who may ingest: an admin user, or the ingest job calling for itself; no other service.
fn may_ingest(caller: &Caller) -> bool {
    match caller.service_name() {
        Some(service) => service == INGEST_JOB,
        None => caller.has_role("admin"),
    }
}

/// The contract's result for an outcome.
pub(crate) fn result(outcome: &Outcome) -> IngestResult {
    let reason = |r: Reason| match r {
        Reason::Duplicate => IngestReason::DuplicateContent,
        Reason::NotAudio => IngestReason::NotAudio,
        Reason::Unsupported => IngestReason::UnsupportedFormat,
        Reason::Corrupt => IngestReason::Corrupt,
        Reason::Checksum => IngestReason::ChecksumMismatch,
        Reason::Empty => IngestReason::Empty,
        Reason::TooLarge => IngestReason::TooLarge,
        Reason::Internal => IngestReason::Internal,
    };
    match outcome {
        Outcome::Ingested { track_id, .. } => IngestResult {
            outcome: IngestOutcome::Ingested as i32,
            track_id: track_id.clone(),
            reason: IngestReason::Unspecified as i32,
            detail: String::new(),
        },
        Outcome::Skipped {
            reason: r,
            track_id,
            detail,
        } => IngestResult {
            outcome: IngestOutcome::Skipped as i32,
            track_id: track_id.clone().unwrap_or_default(),
            reason: reason(*r) as i32,
            detail: detail.clone(),
        },
        Outcome::Failed { reason: r, detail } => IngestResult {
            outcome: IngestOutcome::Failed as i32,
            track_id: String::new(),
            reason: reason(*r) as i32,
            detail: detail.clone(),
        },
    }
}

fn respond(outcome: &Outcome) -> Response<UploadTrackResponse> {
    Response::new(UploadTrackResponse {
        result: Some(result(outcome)),
    })
}

fn unexpected(what: &'static str, error: std::io::Error) -> Status {
    PlayerError::Unexpected(anyhow::Error::new(error).context(what)).to_status()
}

fn invalid(field: &'static str, reason: &str) -> Status {
    PlayerError::invalid(field, reason).to_status()
}

fn check_header(h: &UploadTrackHeader, max: u64) -> Result<[u8; 32], Status> {
    let name = &h.file_name;
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\\', '\0']) {
        return Err(invalid(
            "file_name",
            "1 to 255 bytes without directory separators",
        ));
    }
    if h.size_bytes == 0 {
        return Err(invalid("size_bytes", "must be greater than 0"));
    }
    if h.size_bytes > max {
        return Err(PlayerError::ResourceExhausted(format!(
            "file of {} bytes exceeds the limit of {max}",
            h.size_bytes
        ))
        .to_status());
    }
    let digits = h.sha256.as_bytes();
    let lower_hex = |c: &u8| c.is_ascii_digit() || (b'a'..=b'f').contains(c);
    if digits.len() != 64 || !digits.iter().all(lower_hex) {
        return Err(invalid("sha256", "must be 64 lowercase hex digits"));
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(digits, &mut digest).map_err(|_| invalid("sha256", "not hex"))?;
    Ok(digest)
}

type ScanStream = Pin<Box<dyn Stream<Item = Result<ScanLibraryResponse, Status>> + Send>>;

#[tonic::async_trait]
impl IngestService for IngestApi {
    async fn upload_track(
        &self,
        request: Request<Streaming<UploadTrackRequest>>,
    ) -> Result<Response<UploadTrackResponse>, Status> {
        self.admin(&request)?;
        let mut stream = request.into_inner();
        let header = match stream.message().await? {
            Some(UploadTrackRequest {
                payload: Some(upload_track_request::Payload::Header(h)),
            }) => h,
            _ => return Err(invalid("payload", "the first message must be a header")),
        };
        let max = self.max_upload.min(self.ingest.max_file_bytes());
        let digest = check_header(&header, max)?;
        let hash = crate::ingest::content_hash(&digest);
        // Known content is answered at once; the client stops sending when it sees this.
        let source = format!("upload:{hash}");
        let size = header.size_bytes;
        // Spooled to disk as it arrives: memory holds one chunk per upload, whatever its size.
        let spool = self.spool.clone();
        let file = tokio::task::spawn_blocking(move || {
            tempfile::Builder::new()
                .prefix("tunemesh-upload-")
                .tempfile_in(spool)
        })
        .await
        .map_err(|e| PlayerError::Unexpected(e.into()).to_status())?
        .map_err(|e| unexpected("cannot create the upload spool file", e))?;
        let writer = file
            .as_file()
            .try_clone()
            .map_err(|e| unexpected("cannot open the upload spool file", e))?;
        let mut writer = tokio::fs::File::from_std(writer);
        let (mut received, mut hasher) = (0u64, Sha256::new());
        while let Some(message) = stream.message().await? {
            match message.payload {
                Some(upload_track_request::Payload::Chunk(chunk)) => {
                    if received + chunk.len() as u64 > size {
                        return Err(invalid("chunk", "more bytes than announced in the header"));
                    }
                    hasher.update(&chunk);
                    writer
                        .write_all(&chunk)
                        .await
                        .map_err(|e| unexpected("cannot spool the upload", e))?;
                    received += chunk.len() as u64;
                }
                Some(upload_track_request::Payload::Header(_)) => {
                    return Err(invalid("header", "sent twice"));
                }
                None => return Err(invalid("payload", "empty message")),
            }
        }
        writer
            .flush()
            .await
            .map_err(|e| unexpected("cannot spool the upload", e))?;
        drop(writer);
        let hashed: [u8; 32] = hasher.finalize().into();
        if received < size || hashed != digest {
            return Ok(respond(&Outcome::Failed {
                reason: Reason::Checksum,
                detail: format!(
                    "received {received} of {size} bytes{}",
                    if hashed == digest {
                        ""
                    } else {
                        " and they do not match the sha256"
                    }
                ),
            }));
        }
        let outcome = self
            .ingest
            .ingest_file(
                source,
                header.file_name,
                file.path().to_owned(),
                Some(digest),
            )
            .await;
        // The spool file is removed here, when `file` drops (also on every early return).
        drop(file);
        Ok(respond(&outcome))
    }

    async fn scan_library(
        &self,
        request: Request<ScanLibraryRequest>,
    ) -> Result<Response<ScanStream>, Status> {
        self.admin(&request)?;
        let canonical = self.confine(&request.get_ref().path).await?;
        let walked = tokio::task::spawn_blocking(move || library::walk(&canonical))
            .await
            .map_err(|e| PlayerError::Unexpected(e.into()).to_status())?;
        let files = walked.map_err(|e| {
            PlayerError::PermissionDenied(format!("cannot read the directory: {e}")).to_status()
        })?;
        let total = u32::try_from(files.len()).unwrap_or(u32::MAX);
        let (tx, rx) = mpsc::channel(4);
        let ingest = self.ingest.clone();
        let stop = CancellationToken::new();
        let guard = stop.clone().drop_guard();
        tokio::spawn(async move { library::ingest_all(&ingest, files, tx, stop).await });
        let mut progress = ScanProgress {
            files_total: total,
            ..ScanProgress::default()
        };
        let out = ReceiverStream::new(rx).map(move |(path, outcome)| {
            // Holding the guard in the stream cancels the scan when the client goes away.
            let _ = &guard;
            progress.files_done += 1;
            match &outcome {
                Outcome::Ingested { .. } => progress.ingested += 1,
                Outcome::Skipped { .. } => progress.skipped += 1,
                Outcome::Failed { .. } => progress.failed += 1,
            }
            Ok(ScanLibraryResponse {
                file_path: path.display().to_string(),
                result: Some(result(&outcome)),
                progress: Some(progress),
            })
        });
        Ok(Response::new(Box::pin(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_and_the_ingest_job_may_ingest() {
        assert!(may_ingest(&Caller::new("ann".into(), vec!["admin".into()])));
        assert!(may_ingest(&Caller::service(INGEST_JOB)));
        assert!(!may_ingest(&Caller::new("bob".into(), vec![])));
        for service in ["playlist", "reco", "search", "gateway"] {
            assert!(!may_ingest(&Caller::service(service)), "{service}");
        }
        // A user named like the job is a user, and needs the role.
        assert!(!may_ingest(&Caller::new("service:ingest".into(), vec![])));
    }
}
