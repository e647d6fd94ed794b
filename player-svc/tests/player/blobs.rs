//! The blob store contract, run on both adapters: a local folder and a real S3-compatible
//! server (moto on a free loopback port, one bucket per test). Then the whole player on S3:
//! a real track uploaded, stored in the bucket and streamed back.
//!
//! The S3 tests need the crate's `s3` feature:
//! `cargo nextest run -p tunemesh-player --features s3 --test player blobs::`.

use crate::support::player;
#[cfg(feature = "s3")]
use crate::support::{moto, upload};

use bytes::Bytes;
use tunemesh_player::settings::S3Settings;
use tunemesh_player::testsuite::Blobs;

/// A blob with a recognisable byte at every offset, bigger than one S3 part read.
fn pattern(len: usize) -> Bytes {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Every behaviour the streaming and ingest code relies on.
async fn contract(blobs: &Blobs) -> anyhow::Result<()> {
    let key = "tracks/tr_x/0123456789abcdef/low/audio.webm";
    let blob = pattern(3 << 20);
    blobs.put(key, blob.clone()).await?;
    // Ranges read exactly their bytes: start, middle, the last byte, the whole blob.
    let len = blob.len() as u64;
    for range in [0..1, 0..65_536, 1_000_000..1_065_536, len - 1..len, 0..len] {
        let read = blobs.get_range(key, range.clone()).await?;
        assert_eq!(
            &read[..],
            &blob[range.start as usize..range.end as usize],
            "range {range:?}"
        );
    }
    // A second put replaces the blob whole.
    blobs.put(key, Bytes::from_static(b"replaced")).await?;
    assert_eq!(&blobs.get_range(key, 0..8).await?[..], b"replaced");
    // Keys are independent, also when one is a prefix of another's directory.
    blobs.put("covers/abc", Bytes::from_static(b"png")).await?;
    assert_eq!(&blobs.get_range("covers/abc", 0..3).await?[..], b"png");
    // A small blob reads whole; a missing one reads as none.
    assert_eq!(blobs.get("covers/abc").await?.as_deref(), Some(&b"png"[..]));
    assert_eq!(blobs.get("covers/none").await?, None);
    // A missing blob is NotFound, not an empty read.
    let missing = blobs.get_range("tracks/none/audio.ogg", 0..10).await;
    assert!(
        matches!(missing, Err(object_store::Error::NotFound { .. })),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_local_folder_keeps_the_blob_contract() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    contract(&Blobs::local(dir.path())?).await
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn an_s3_compatible_bucket_keeps_the_blob_contract() -> anyhow::Result<()> {
    use moto::Moto;
    let moto = Moto::start().await?;
    moto.create_bucket("contract").await?;
    contract(&Blobs::s3(&moto.settings("contract"))?).await
}

#[cfg(not(feature = "s3"))]
#[tokio::test]
async fn a_player_configured_for_s3_without_the_s3_feature_refuses_to_start_clearly()
-> anyhow::Result<()> {
    let settings = tunemesh_player::PlayerSettings {
        s3: Some(S3Settings {
            bucket: "media".into(),
            ..S3Settings::default()
        }),
        ..player::quick_settings()
    };
    let error = player::Player::start(settings).await.err();
    let message = error.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        message,
        "player.s3 is set but this build has no S3 support: build with the tunemesh-player/s3 feature"
    );
    Ok(())
}

#[tokio::test]
async fn the_s3_secret_never_shows_in_the_settings_debug_output() {
    let settings = S3Settings {
        secret_access_key: Some(secrecy::SecretString::from("testing-secret")),
        ..S3Settings::default()
    };
    let debug = format!("{settings:?}");
    assert!(!debug.contains("testing-secret"), "{debug}");
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn an_s3_bucket_without_a_name_is_refused_clearly() {
    let error = Blobs::s3(&S3Settings::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(error.as_deref(), Some("player.s3.bucket must be set"));
}

#[cfg(feature = "s3")]
#[tokio::test]
async fn a_player_on_s3_stores_a_real_track_in_the_bucket_and_streams_it_back() -> anyhow::Result<()>
{
    use futures::StreamExt as _;
    use moto::Moto;
    use player::{CHIMES, Player, music, quick_settings};
    use tunemesh_proto::catalog::v1::{AudioQuality, IngestOutcome};
    use tunemesh_proto::player::v1::{StreamAudioRequest, stream_audio_response};
    use upload::upload;

    let moto = Moto::start().await?;
    moto.create_bucket("media").await?;
    let settings = tunemesh_player::PlayerSettings {
        s3: Some(moto.settings("media")),
        ..quick_settings()
    };
    let player = Player::start(settings).await?;
    let result = upload(&player, "chimes.ogg", std::fs::read(music(CHIMES))?).await?;
    assert_eq!(result.outcome(), IngestOutcome::Ingested, "{result:?}");
    // Nothing under the local data directory: the renditions went to the bucket.
    let local = player.data.path().join("player/blobs");
    assert!(
        !local.exists() || tunemesh_player::upload::files(&local).await?.is_empty(),
        "blobs were written locally"
    );
    let mut stream = player
        .player()
        .stream_audio(player.req(StreamAudioRequest {
            track_id: result.track_id.clone(),
            quality: AudioQuality::Low as i32,
            ..Default::default()
        }))
        .await?
        .into_inner();
    let (mut total, mut announced) = (0u64, 0u64);
    while let Some(message) = stream.next().await {
        match message?.message {
            Some(stream_audio_response::Message::Header(h)) => announced = h.total_bytes,
            Some(stream_audio_response::Message::Chunk(c)) => total += c.data.len() as u64,
            None => {}
        }
    }
    assert!(
        announced > 100_000,
        "a 42 s track at 24 kbit/s: {announced}"
    );
    assert_eq!(total, announced, "the whole rendition streamed from S3");
    Ok(())
}
