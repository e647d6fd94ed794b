//! Library scans and uploads: tags and durations of real files, clear reasons for bad ones,
//! idempotence, and nothing half-made in the catalogue.

use std::time::Duration;

use futures::StreamExt as _;
use tunemesh_proto::catalog::v1::*;
use tunemesh_proto::tonic::Code;

use crate::support::player::{CHIMES, MARCH, Player, music, quick_settings};
use crate::support::upload::upload;

/// Scans `dir` through the RPC and returns `(file name, result)` per file.
async fn scan(
    player: &Player,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<(String, IngestResult)>> {
    let request = player.admin(ScanLibraryRequest {
        path: dir.display().to_string(),
    });
    let mut stream = player.ingest().scan_library(request).await?.into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.next().await {
        let message = message?;
        let name = std::path::Path::new(&message.file_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, message.result.unwrap_or_default()));
    }
    Ok(out)
}

fn result_of<'a>(results: &'a [(String, IngestResult)], name: &str) -> &'a IngestResult {
    &results
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no result for {name}"))
        .1
}

#[tokio::test]
async fn a_library_scan_ingests_real_files_with_their_tags_and_refuses_bad_ones_clearly()
-> anyhow::Result<()> {
    let library = tempfile::tempdir()?;
    let chimes = std::fs::read(music(CHIMES))?;
    std::fs::write(library.path().join("01 chimes.ogg"), &chimes)?;
    std::fs::copy(music(MARCH), library.path().join("02 march.ogg"))?;
    std::fs::write(library.path().join("cut.ogg"), &chimes[..chimes.len() / 2])?;
    std::fs::write(library.path().join("empty.ogg"), b"")?;
    std::fs::write(
        library.path().join("notes.ogg"),
        b"these are liner notes, not audio",
    )?;
    let settings = tunemesh_player::PlayerSettings {
        scan_roots: vec![library.path().to_owned()],
        ..quick_settings()
    };
    let player = Player::start(settings).await?;

    let results = scan(&player, library.path()).await?;
    assert_eq!(results.len(), 5, "{results:?}");
    for name in ["01 chimes.ogg", "02 march.ogg"] {
        let r = result_of(&results, name);
        assert_eq!(r.outcome(), IngestOutcome::Ingested, "{name}: {r:?}");
    }
    let cut = result_of(&results, "cut.ogg");
    assert_eq!(
        (cut.outcome(), cut.reason()),
        (IngestOutcome::Failed, IngestReason::Corrupt),
        "{cut:?}"
    );
    assert!(cut.detail.contains("truncated"), "{}", cut.detail);
    let empty = result_of(&results, "empty.ogg");
    assert_eq!(
        (empty.outcome(), empty.reason()),
        (IngestOutcome::Failed, IngestReason::Empty)
    );
    assert_eq!(empty.detail, "file is empty");
    let notes = result_of(&results, "notes.ogg");
    assert_eq!(
        (notes.outcome(), notes.reason()),
        (IngestOutcome::Skipped, IngestReason::NotAudio)
    );
    assert_eq!(notes.detail, "not an audio file");

    // Exactly the two good files are tracks, with their tags and exact durations.
    let listed = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest::default()))
        .await?
        .into_inner();
    assert_eq!(listed.total_size, 2);
    let chimes_track = listed
        .tracks
        .iter()
        .find(|t| t.title == "Chimes They Fade")
        .ok_or_else(|| anyhow::anyhow!("chimes not listed: {listed:?}"))?;
    let duration = Duration::try_from(chimes_track.duration.unwrap_or_default())?;
    assert!(
        (42.0..43.5).contains(&duration.as_secs_f64()),
        "{duration:?}"
    );
    assert!(!chimes_track.artists.is_empty() && !chimes_track.artists[0].name.is_empty());
    assert!(chimes_track.content_hash.starts_with("sha256:"));
    assert_eq!(
        chimes_track.available_qualities().collect::<Vec<_>>(),
        [AudioQuality::Low, AudioQuality::VeryHigh]
            .into_iter()
            .collect::<Vec<_>>()
    );
    let album_id = chimes_track.album.clone().unwrap_or_default().id;
    let album = player
        .catalog()
        .get_album(player.req(GetAlbumRequest {
            album_id: album_id.clone(),
        }))
        .await?
        .into_inner()
        .album
        .unwrap_or_default();
    assert_eq!(
        album.track_count, 2,
        "both files share their tagged album: {album:?}"
    );

    // A second scan is a no-op: every good file is a known duplicate with the same id.
    let again = scan(&player, library.path()).await?;
    let r = result_of(&again, "01 chimes.ogg");
    assert_eq!(
        (r.outcome(), r.reason()),
        (IngestOutcome::Skipped, IngestReason::DuplicateContent)
    );
    assert_eq!(r.track_id, chimes_track.id);
    let relisted = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest::default()))
        .await?
        .into_inner();
    assert_eq!(relisted.total_size, 2);

    // Uploading the same bytes is a duplicate too.
    let uploaded = upload(&player, "chimes.ogg", chimes).await?;
    assert_eq!(uploaded.reason(), IngestReason::DuplicateContent);
    Ok(())
}

#[tokio::test]
async fn ingest_refuses_callers_without_the_admin_role_and_paths_outside_its_roots()
-> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    let request = player.req(ScanLibraryRequest {
        path: "/tmp".into(),
    });
    let denied = player.ingest().scan_library(request).await.err();
    assert_eq!(denied.map(|s| s.code()), Some(Code::PermissionDenied));
    let outside = player.admin(ScanLibraryRequest {
        path: "/usr/share".into(),
    });
    let denied = player.ingest().scan_library(outside).await.err();
    assert_eq!(denied.map(|s| s.code()), Some(Code::PermissionDenied));
    let relative = player.admin(ScanLibraryRequest {
        path: "music".into(),
    });
    let invalid = player.ingest().scan_library(relative).await.err();
    assert_eq!(invalid.map(|s| s.code()), Some(Code::InvalidArgument));
    Ok(())
}

#[tokio::test]
async fn an_upload_whose_bytes_do_not_match_its_hash_fails_and_adds_nothing() -> anyhow::Result<()>
{
    use tunemesh_proto::catalog::v1::upload_track_request::Payload;
    let player = Player::start(quick_settings()).await?;
    let bytes = std::fs::read(music(MARCH))?;
    let messages = vec![
        UploadTrackRequest {
            payload: Some(Payload::Header(UploadTrackHeader {
                file_name: "march.ogg".into(),
                size_bytes: bytes.len() as u64,
                sha256: "0".repeat(64),
            })),
        },
        UploadTrackRequest {
            payload: Some(Payload::Chunk(bytes.into())),
        },
    ];
    let request = player.admin(futures::stream::iter(messages));
    let result = player
        .ingest()
        .upload_track(request)
        .await?
        .into_inner()
        .result;
    let result = result.unwrap_or_default();
    assert_eq!(
        (result.outcome(), result.reason()),
        (IngestOutcome::Failed, IngestReason::ChecksumMismatch)
    );
    let listed = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest::default()))
        .await?
        .into_inner();
    assert_eq!(listed.total_size, 0);
    let unknown = player
        .catalog()
        .get_track(player.req(GetTrackRequest {
            track_id: "tr_nope".into(),
        }))
        .await
        .err();
    assert_eq!(unknown.map(|s| s.code()), Some(Code::NotFound));
    let bad_page = player
        .catalog()
        .list_tracks(player.req(ListTracksRequest {
            page_size: -1,
            ..Default::default()
        }))
        .await
        .err();
    assert_eq!(bad_page.map(|s| s.code()), Some(Code::InvalidArgument));
    let anonymous = player
        .catalog()
        .list_tracks(ListTracksRequest::default())
        .await
        .err();
    assert_eq!(anonymous.map(|s| s.code()), Some(Code::Unauthenticated));
    Ok(())
}
