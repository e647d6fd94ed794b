//! Playlist durations (`Playlist.duration`) on both storage modes: the sum of the items'
//! catalogue durations after create, add, remove and a generated playlist's replacement,
//! in reads and listings; and the background backfill of items stored before durations
//! were kept (migration V6), in batches, through the catalogue, gone tracks counting 0.

use tunemesh_events::outbox::OutboxWaker;
use tunemesh_playlist::PlaylistSettings;
use tunemesh_playlist::store::postgres::PostgresStore;
use tunemesh_playlist::store::sqlite::SqliteStore;
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::assert_eventually;

use crate::support::{Env, Mode, Service, start, track, track_ms};

/// A playlist's duration in ms.
fn ms(playlist: &Playlist) -> u64 {
    let d = playlist.duration.unwrap_or_default();
    u64::try_from(d.seconds).unwrap_or(0) * 1000 + u64::try_from(d.nanos / 1_000_000).unwrap_or(0)
}

/// The playlist as `user` reads it.
async fn read(service: &Service, user: &str, id: &str) -> anyhow::Result<Playlist> {
    let request = GetPlaylistRequest {
        playlist_id: id.to_owned(),
        ..Default::default()
    };
    let answer = service
        .client()
        .get_playlist(service.as_user(Some(user), request))
        .await?
        .into_inner();
    Ok(answer.playlist.unwrap_or_default())
}

async fn durations_follow_the_items(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let request = CreatePlaylistRequest {
        name: "long".into(),
        track_ids: vec![track(1), track(2)],
        ..Default::default()
    };
    let created = service
        .client()
        .create_playlist(service.as_user(Some("alice"), request))
        .await?
        .into_inner()
        .playlist
        .unwrap_or_default();
    assert_eq!(ms(&created), track_ms(1) + track_ms(2));

    let request = AddPlaylistItemsRequest {
        playlist_id: created.id.clone(),
        track_ids: vec![track(3), track(3)],
        position: Some(0),
        expected_version: None,
        ..Default::default()
    };
    let added = service
        .client()
        .add_playlist_items(service.as_user(Some("alice"), request))
        .await?
        .into_inner();
    let all = track_ms(1) + track_ms(2) + 2 * track_ms(3);
    assert_eq!(ms(&read(&service, "alice", &created.id).await?), all);

    // The listing carries it too.
    let listed = service
        .client()
        .list_my_playlists(service.as_user(Some("alice"), ListMyPlaylistsRequest::default()))
        .await?
        .into_inner();
    let entry = listed.playlists.first().and_then(|e| e.playlist.clone());
    assert_eq!(ms(&entry.unwrap_or_default()), all);

    let request = RemovePlaylistItemsRequest {
        playlist_id: created.id.clone(),
        expected_version: None,
        item_ids: vec![added.items[0].item_id.clone()],
    };
    service
        .client()
        .remove_playlist_items(service.as_user(Some("alice"), request))
        .await?;
    let left = track_ms(1) + track_ms(2) + track_ms(3);
    assert_eq!(ms(&read(&service, "alice", &created.id).await?), left);

    // A move changes nothing.
    let request = MovePlaylistItemsRequest {
        playlist_id: created.id.clone(),
        expected_version: None,
        range_start: 0,
        range_length: 1,
        insert_before: 3,
    };
    service
        .client()
        .move_playlist_items(service.as_user(Some("alice"), request))
        .await?;
    assert_eq!(ms(&read(&service, "alice", &created.id).await?), left);

    // An empty playlist plays for no time.
    let request = CreatePlaylistRequest {
        name: "empty".into(),
        ..Default::default()
    };
    let empty = service
        .client()
        .create_playlist(service.as_user(Some("alice"), request))
        .await?
        .into_inner()
        .playlist
        .unwrap_or_default();
    assert_eq!(empty.duration.map(|d| (d.seconds, d.nanos)), Some((0, 0)));
    Ok(())
}

#[tokio::test]
async fn durations_follow_the_items_on_postgres() -> anyhow::Result<()> {
    durations_follow_the_items(Mode::Production).await
}

#[tokio::test]
async fn durations_follow_the_items_on_sqlite() -> anyhow::Result<()> {
    durations_follow_the_items(Mode::Embedded).await
}

/// Puts bob's daily mix as reco.
async fn put(
    service: &Service,
    track_ids: Vec<String>,
) -> Result<tonic::Response<PutGeneratedPlaylistResponse>, tonic::Status> {
    let request = PutGeneratedPlaylistRequest {
        for_user_id: "bob".to_owned(),
        kind: "daily-mix".to_owned(),
        name: "Daily Mix".to_owned(),
        description: String::new(),
        track_ids,
    };
    // As reco-svc's mixer: known by its certificate, with no assertion.
    let mut reco = service
        .client_as("reco")
        .expect("a leaf of the test's CA for reco");
    reco.put_generated_playlist(request).await
}

async fn a_generated_playlist_lasts_as_long_as_its_current_items(mode: Mode) -> anyhow::Result<()> {
    let (_env, service) = start(mode).await?;
    let first = put(&service, (1..5).map(track).collect())
        .await?
        .into_inner();
    let first = first.playlist.unwrap_or_default();
    assert_eq!(ms(&first), (1..5).map(track_ms).sum::<u64>());

    let second = put(&service, vec![track(7)]).await?.into_inner();
    let second = second.playlist.unwrap_or_default();
    assert_eq!(second.id, first.id);
    assert_eq!(ms(&second), track_ms(7));
    assert_eq!(ms(&read(&service, "bob", &first.id).await?), track_ms(7));
    Ok(())
}

#[tokio::test]
async fn a_generated_playlist_lasts_as_long_as_its_current_items_on_postgres() -> anyhow::Result<()>
{
    a_generated_playlist_lasts_as_long_as_its_current_items(Mode::Production).await
}

#[tokio::test]
async fn a_generated_playlist_lasts_as_long_as_its_current_items_on_sqlite() -> anyhow::Result<()> {
    a_generated_playlist_lasts_as_long_as_its_current_items(Mode::Embedded).await
}

/// Playlists of the previous release: `old-0001` … `old-0250`, public, owned by `owner-old`,
/// each with two items without a duration: `track-(n % 150)` and `track-5000`, which the
/// catalogue no longer has. 150 distinct known tracks and 250 playlists: more than one
/// catalogue call and more than one fill transaction.
const OLD: u64 = 250;

fn postgres_rows() -> &'static str {
    "INSERT INTO playlists (id, owner_id, name, public, collaborative, item_count, version,
         revision, create_ms, update_ms)
     SELECT 'old-' || lpad(g::text, 4, '0'), 'owner-old', 'Old ' || g, TRUE, FALSE, 2, 1, 1,
         1, 2
     FROM generate_series(1, 250) g;
     INSERT INTO playlist_items (playlist_id, item_id, rank, track_id, added_by, add_ms)
     SELECT 'old-' || lpad(g::text, 4, '0'), 'a', 'm', 'track-' || (g % 150), 'owner-old', 1
     FROM generate_series(1, 250) g
     UNION ALL
     SELECT 'old-' || lpad(g::text, 4, '0'), 'b', 't', 'track-5000', 'owner-old', 1
     FROM generate_series(1, 250) g;"
}

fn sqlite_rows() -> &'static str {
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 250)
     INSERT INTO playlists (id, owner_id, name, public, collaborative, item_count, version,
         revision, create_ms, update_ms)
     SELECT 'old-' || substr('0000' || n, -4), 'owner-old', 'Old ' || n, 1, 0, 2, 1, 1, 1, 2
     FROM g;
     WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 250)
     INSERT INTO playlist_items (playlist_id, item_id, rank, track_id, added_by, add_ms)
     SELECT 'old-' || substr('0000' || n, -4), 'a', 'm', 'track-' || (n % 150), 'owner-old', 1
     FROM g
     UNION ALL
     SELECT 'old-' || substr('0000' || n, -4), 'b', 't', 'track-5000', 'owner-old', 1
     FROM g;"
}

/// Old items still without a duration plus old playlists whose total is not their known
/// track's.
const WRONG_ON_POSTGRES: &str = "SELECT
    (SELECT count(*) FROM playlist_items WHERE duration_ms IS NULL)
    + (SELECT count(*) FROM playlists WHERE id LIKE 'old-%'
       AND duration_ms <> (100 + substr(id, 5)::int % 150) * 1000 + 500)";

/// [`WRONG_ON_POSTGRES`] in SQLite's words.
const WRONG_ON_SQLITE: &str = "SELECT
    (SELECT count(*) FROM playlist_items WHERE duration_ms IS NULL)
    + (SELECT count(*) FROM playlists WHERE id LIKE 'old-%'
       AND duration_ms <> (100 + CAST(substr(id, 5) AS INTEGER) % 150) * 1000 + 500)";

/// Starts the service on `env` (holding the old rows) and waits for every old playlist to
/// get its duration, through the API (so through the cache, which the fills invalidate).
/// Returns the service, still running.
async fn assert_backfilled(env: &Env) -> anyhow::Result<Service> {
    let bus = env.embedded_bus().await?;
    let service = env.spawn(&PlaylistSettings::default(), bus).await?;
    for n in [1, 149, 150, 151, 200, 201, OLD] {
        let id = format!("old-{n:04}");
        let expected = track_ms(n % 150);
        assert_eventually!(
            async {
                read(&service, "owner-old", &id)
                    .await
                    .is_ok_and(|p| ms(&p) == expected)
            },
            timeout = std::time::Duration::from_secs(20),
            "{id} never got its duration {expected}",
        );
    }
    Ok(service)
}

#[tokio::test]
async fn postgres_backfills_the_durations_of_items_stored_before_them() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let env = Env::new(Mode::Production).await?;
    let url = env
        .db
        .as_ref()
        .map(|db| db.url().to_owned())
        .unwrap_or_default();
    let pool = connect(&PostgresSettings {
        url: url.into(),
        ..PostgresSettings::default()
    })
    .await?;
    PostgresStore::open(pool.clone(), OutboxWaker::new()).await?;
    pool.get().await?.batch_execute(postgres_rows()).await?;
    let _service = assert_backfilled(&env).await?;
    let wrong = || async {
        let client = pool.get().await?;
        let row = client.query_one(WRONG_ON_POSTGRES, &[]).await?;
        anyhow::Ok(row.try_get::<_, i64>(0)?)
    };
    assert_eventually!(
        async { wrong().await.is_ok_and(|wrong| wrong == 0) },
        timeout = std::time::Duration::from_secs(20),
        "items left without a duration, or playlists with a wrong total",
    );
    Ok(())
}

#[tokio::test]
async fn sqlite_backfills_the_durations_of_items_stored_before_them() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let env = Env::new(Mode::Embedded).await?;
    let dir = env.dir.path().join(tunemesh_playlist::SERVICE_NAME);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("playlists.sqlite");
    drop(SqliteStore::open(&path, OutboxWaker::new()).await?);
    rusqlite::Connection::open(&path)?.execute_batch(sqlite_rows())?;
    let _service = assert_backfilled(&env).await?;
    let wrong = || -> anyhow::Result<i64> {
        let conn = rusqlite::Connection::open(&path)?;
        Ok(conn.query_row(WRONG_ON_SQLITE, [], |row| row.get(0))?)
    };
    assert_eventually!(
        wrong().is_ok_and(|wrong| wrong == 0),
        timeout = std::time::Duration::from_secs(20),
        "items left without a duration, or playlists with a wrong total",
    );
    Ok(())
}
