//! Concurrent writers of one user's likes and play queue, on both stores: every save of the
//! queue gets its own version (the row is the lock, also for the very first save), and
//! concurrent album likes lose nothing and move the version once per change.

use std::collections::BTreeSet;

use crate::support::{Mode, album, start, track};
use tunemesh_proto::playlist::v1::*;

const WRITERS: usize = 20;

async fn concurrent_writers_queue_on_the_user(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let saves = (0..WRITERS).map(|n| {
        let request = SavePlayQueueRequest {
            track_ids: vec![track(n)],
            current_index: Some(0),
            position_ms: 0,
            client_name: format!("device-{n}"),
            expected_version: None,
        };
        let mut client = service.client();
        let request = service.as_user(Some("bob"), request);
        async move { client.save_play_queue(request).await }
    });
    let versions: BTreeSet<u64> = futures::future::try_join_all(saves)
        .await?
        .into_iter()
        .filter_map(|r| r.into_inner().queue.map(|q| q.version))
        .collect();
    assert_eq!(versions, (1..=WRITERS as u64).collect());

    let likes = (0..WRITERS).map(|n| {
        let request = LikeAlbumsRequest {
            album_ids: vec![album(n), album(n + 1)],
            expected_version: None,
        };
        let mut client = service.client();
        let request = service.as_user(Some("bob"), request);
        async move { client.like_albums(request).await }
    });
    futures::future::try_join_all(likes).await?;
    let liked = service
        .client()
        .list_liked_albums(service.as_user(
            Some("bob"),
            ListLikedAlbumsRequest {
                page_size: 500,
                page_token: String::new(),
            },
        ))
        .await?
        .into_inner();
    assert_eq!(liked.total_size, WRITERS as i32 + 1);
    // Nothing lost, and the version moved once per like that changed something: at most
    // once per writer.
    assert!(
        liked.version >= 1 && liked.version <= WRITERS as u64,
        "{}",
        liked.version
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_writers_queue_on_the_user_on_postgres() -> anyhow::Result<()> {
    concurrent_writers_queue_on_the_user(Mode::Production).await
}

#[tokio::test]
async fn concurrent_writers_queue_on_the_user_on_sqlite() -> anyhow::Result<()> {
    concurrent_writers_queue_on_the_user(Mode::Embedded).await
}
