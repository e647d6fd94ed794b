//! `CatalogService.GetImage`: the cover a real file carried, read back from the blob store
//! by the id its track and album name, and each documented error code.

use tunemesh_proto::catalog::v1::*;
use tunemesh_proto::tonic::{Code, Request, Status};

use crate::media::tiny_png;
use crate::support::media_music::{VORBIS_TAGGED, copy_with_cover};
use crate::support::player::{Player, quick_settings};
use crate::support::upload::upload;

/// A player holding one real track with an embedded PNG cover; the track's id.
async fn player_with_cover() -> anyhow::Result<(Player, String)> {
    let player = Player::start(quick_settings()).await?;
    let dir = tempfile::tempdir()?;
    let file = copy_with_cover(VORBIS_TAGGED, dir.path(), &tiny_png());
    let result = upload(&player, "covered.ogg", std::fs::read(file)?).await?;
    assert_eq!(result.outcome(), IngestOutcome::Ingested, "{result:?}");
    Ok((player, result.track_id))
}

async fn get_image(player: &Player, id: &str) -> Result<GetImageResponse, Status> {
    let request = player.req(GetImageRequest {
        image_id: id.to_owned(),
    });
    Ok(player.catalog().get_image(request).await?.into_inner())
}

#[tokio::test]
async fn get_image_returns_the_embedded_cover_a_track_and_its_album_name() -> anyhow::Result<()> {
    let (player, track_id) = player_with_cover().await?;
    let track = player
        .catalog()
        .get_track(player.req(GetTrackRequest { track_id }))
        .await?
        .into_inner()
        .track
        .unwrap_or_default();
    let cover = track.cover.unwrap_or_default();
    assert_eq!(cover.id.len(), 64, "{cover:?}");
    let album = player
        .catalog()
        .get_album(player.req(GetAlbumRequest {
            album_id: track.album.unwrap_or_default().id,
        }))
        .await?
        .into_inner()
        .album
        .unwrap_or_default();
    assert_eq!(album.cover.unwrap_or_default().id, cover.id);

    let image = get_image(&player, &cover.id).await?;
    assert_eq!(&image.data[..], &tiny_png()[..], "the bytes as ingested");
    assert_eq!(image.media_type, "image/png");
    Ok(())
}

#[tokio::test]
async fn get_image_returns_not_found_for_an_unknown_id() -> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    let status = get_image(&player, &"0".repeat(64)).await.err();
    assert_eq!(status.map(|s| s.code()), Some(Code::NotFound));
    Ok(())
}

#[tokio::test]
async fn get_image_returns_invalid_argument_for_ids_it_never_issues() -> anyhow::Result<()> {
    let (player, _) = player_with_cover().await?;
    // Paths into the blob store and near misses of a real id are refused before any read.
    for bad in [
        "",
        "../covers",
        "covers/abc",
        &format!("../{}", "a".repeat(61)),
        &"A".repeat(64),
        &"a".repeat(65),
        "a\0",
    ] {
        let status = get_image(&player, bad).await.err();
        assert_eq!(
            status.as_ref().map(Status::code),
            Some(Code::InvalidArgument),
            "{bad:?}: {status:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn get_image_returns_unauthenticated_without_an_identity() -> anyhow::Result<()> {
    let player = Player::start(quick_settings()).await?;
    let request = Request::new(GetImageRequest {
        image_id: "0".repeat(64),
    });
    let status = player.catalog().get_image(request).await.err();
    assert_eq!(status.map(|s| s.code()), Some(Code::Unauthenticated));
    Ok(())
}

#[tokio::test]
async fn a_cover_beside_a_library_file_without_one_in_its_tags_becomes_its_cover()
-> anyhow::Result<()> {
    use futures::StreamExt as _;
    use sha2::{Digest as _, Sha256};

    let library = tempfile::tempdir()?;
    std::fs::copy(
        crate::support::player::music(crate::support::player::MARCH),
        library.path().join("02 march.ogg"),
    )?;
    std::fs::write(library.path().join("Cover.PNG"), tiny_png())?;
    let settings = tunemesh_player::PlayerSettings {
        scan_roots: vec![library.path().to_owned()],
        ..quick_settings()
    };
    let player = Player::start(settings).await?;
    let request = player.admin(ScanLibraryRequest {
        path: library.path().display().to_string(),
    });
    let mut stream = player.ingest().scan_library(request).await?.into_inner();
    let mut track_id = String::new();
    while let Some(message) = stream.next().await {
        // Progress and the picture itself (not audio) come without a track.
        if let Some(result) = message?.result.filter(|r| !r.track_id.is_empty()) {
            track_id = result.track_id;
        }
    }
    let track = player
        .catalog()
        .get_track(player.req(GetTrackRequest { track_id }))
        .await?
        .into_inner()
        .track
        .unwrap_or_default();
    let expected: String = Sha256::digest(tiny_png())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(track.cover.unwrap_or_default().id, expected);
    let image = get_image(&player, &expected).await?;
    assert_eq!(&image.data[..], &tiny_png()[..]);
    Ok(())
}
