//! The details backfill (migration V3's job): a database of the previous release, whose
//! public playlists' events carried no details, gets one `PlaylistChanged` with details per
//! public playlist through the outbox when the store opens (private ones get none), in
//! batches, once, also with two replicas opening together; a re-run republishes the same
//! event ids, which consumers drop.

use std::collections::HashMap;

use tunemesh_events::outbox::OutboxWaker;
use tunemesh_playlist::store::postgres::PostgresStore;
use tunemesh_playlist::store::sqlite::SqliteStore;
use tunemesh_proto::events::v1::{
    PlaylistChangeKind, PlaylistChanged, PlaylistEvent, playlist_event,
};
use tunemesh_proto::prost::Message as _;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use uuid::Uuid;

/// Playlists written by the previous release: `pl-0001` … `pl-0600`, every third one
/// private (400 public: two full batches and an empty one), revision `n + 1`; `pl-0001` has
/// one item. The job is set back to pending, as migration V3 leaves it on such a database.
const OLD_ROWS: &str = "
    INSERT INTO playlist_items (playlist_id, item_id, rank, track_id, added_by, add_ms)
    VALUES ('pl-0001', 'item-1', 'm', 'track-7', 'owner-old', 1);
    UPDATE playlists SET item_count = 1 WHERE id = 'pl-0001';
    UPDATE playlist_backfills SET after_id = '', done_ms = NULL;";

const PUBLIC: usize = 400;

fn postgres_rows() -> String {
    format!(
        "INSERT INTO playlists (id, owner_id, name, public, collaborative, version, revision,
             create_ms, update_ms)
         SELECT 'pl-' || lpad(g::text, 4, '0'), 'owner-old', 'Old Mix ' || g, g % 3 <> 0,
             FALSE, g, g + 1, 1, 2
         FROM generate_series(1, 600) g;
         {OLD_ROWS}"
    )
}

fn sqlite_rows() -> String {
    format!(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 600)
         INSERT INTO playlists (id, owner_id, name, public, collaborative, version, revision,
             create_ms, update_ms)
         SELECT 'pl-' || substr('0000' || n, -4), 'owner-old', 'Old Mix ' || n, n % 3 <> 0,
             0, n, n + 1, 1, 2
         FROM g;
         {OLD_ROWS}"
    )
}

/// The outbox's `PlaylistChanged` events under their event ids, in outbox order.
fn decode(rows: Vec<(String, Vec<u8>)>) -> anyhow::Result<Vec<(String, PlaylistChanged)>> {
    rows.into_iter()
        .map(|(id, payload)| {
            let event = PlaylistEvent::decode(payload.as_slice())?;
            match event.event {
                Some(playlist_event::Event::PlaylistChanged(changed)) => Ok((id, changed)),
                other => anyhow::bail!("not a PlaylistChanged: {other:?}"),
            }
        })
        .collect()
}

/// Checks one run's events: one per public playlist, with its details and revision, under
/// the id derived from the playlist and revision.
fn assert_republished(events: &[(String, PlaylistChanged)]) {
    assert_eq!(events.len(), PUBLIC, "one event per public playlist");
    let by_playlist: HashMap<&str, &(String, PlaylistChanged)> = events
        .iter()
        .map(|event| (event.1.playlist_id.as_str(), event))
        .collect();
    assert_eq!(by_playlist.len(), PUBLIC, "no playlist twice");
    for n in 1..=600_u64 {
        let id = format!("pl-{n:04}");
        let Some((event_id, changed)) = by_playlist.get(id.as_str()) else {
            assert_eq!(n % 3, 0, "{id} is public but was not republished");
            continue;
        };
        assert_ne!(n % 3, 0, "{id} is private but was republished");
        let details = changed.playlist.clone().unwrap_or_default();
        assert_eq!(
            (
                details.name.as_str(),
                details.public,
                changed.revision,
                changed.version
            ),
            (format!("Old Mix {n}").as_str(), true, n + 1, n),
        );
        assert_eq!(changed.kind(), PlaylistChangeKind::DetailsUpdated);
        assert_eq!(changed.owner_id, "owner-old");
        let stable = Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("tunemesh:playlist-details:{id}:{}", n + 1).as_bytes(),
        );
        assert_eq!(*event_id, stable.to_string());
    }
    let first = by_playlist
        .get("pl-0001")
        .and_then(|e| e.1.playlist.clone());
    let first = first.unwrap_or_default();
    assert_eq!(
        (first.item_count, first.first_track_ids),
        (1, vec!["track-7".to_owned()])
    );
}

#[tokio::test]
async fn postgres_publishes_each_public_playlist_once_when_it_opens() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let db = tunemesh_testkit::test_database().await?;
    let pool = connect(&PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    })
    .await?;
    let outbox = || async {
        let rows = pool
            .get()
            .await?
            .query(
                "SELECT event_id, payload FROM event_outbox ORDER BY seq",
                &[],
            )
            .await?;
        let rows = rows
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
        decode(rows)
    };
    PostgresStore::open(pool.clone(), OutboxWaker::new()).await?;
    assert!(outbox().await?.is_empty(), "a new database owes nothing");
    pool.get().await?.batch_execute(&postgres_rows()).await?;

    // Two replicas opening together: the job's row lock makes them take turns.
    let (a, b) = tokio::join!(
        PostgresStore::open(pool.clone(), OutboxWaker::new()),
        PostgresStore::open(pool.clone(), OutboxWaker::new()),
    );
    a?;
    b?;
    let first = outbox().await?;
    assert_republished(&first);

    PostgresStore::open(pool.clone(), OutboxWaker::new()).await?;
    assert_eq!(
        outbox().await?.len(),
        PUBLIC,
        "a finished job never runs again"
    );

    // Run again from scratch (as after a lost commit): the same event ids.
    pool.get()
        .await?
        .batch_execute("UPDATE playlist_backfills SET after_id = '', done_ms = NULL")
        .await?;
    PostgresStore::open(pool.clone(), OutboxWaker::new()).await?;
    let all = outbox().await?;
    assert_republished(&all[PUBLIC..]);
    let ids = |events: &[(String, PlaylistChanged)]| {
        let mut ids: Vec<String> = events.iter().map(|e| e.0.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&all[..PUBLIC]), ids(&all[PUBLIC..]));
    Ok(())
}

#[tokio::test]
async fn sqlite_publishes_each_public_playlist_once_when_it_opens() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("playlists.sqlite");
    let outbox = || -> anyhow::Result<Vec<(String, PlaylistChanged)>> {
        let conn = rusqlite::Connection::open(&path)?;
        let mut statement =
            conn.prepare("SELECT event_id, payload FROM event_outbox ORDER BY seq")?;
        let rows = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        decode(rows)
    };
    drop(SqliteStore::open(&path, OutboxWaker::new()).await?);
    assert!(outbox()?.is_empty(), "a new database owes nothing");
    rusqlite::Connection::open(&path)?.execute_batch(&sqlite_rows())?;

    drop(SqliteStore::open(&path, OutboxWaker::new()).await?);
    let first = outbox()?;
    assert_republished(&first);
    drop(SqliteStore::open(&path, OutboxWaker::new()).await?);
    assert_eq!(outbox()?.len(), PUBLIC, "a finished job never runs again");

    rusqlite::Connection::open(&path)?
        .execute_batch("UPDATE playlist_backfills SET after_id = '', done_ms = NULL")?;
    drop(SqliteStore::open(&path, OutboxWaker::new()).await?);
    let all = outbox()?;
    assert_republished(&all[PUBLIC..]);
    Ok(())
}
