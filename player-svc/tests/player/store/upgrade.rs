//! Catalogues made by older schemas upgrade in place: each adapter's database is migrated to
//! V3 and given tracks with their manifests inline, then opened by the store.
//!
//! - Before manifests had their own table (V4): tracks read back whole, tracks on the same
//!   audio share one manifest, and a manifest goes once no track plays it.
//! - Before the kept counts (V5; the database also migrated to V4 before the store opens it):
//!   the listings' totals count the rows already there, and follow the next write.

use std::sync::Arc;

use deadpool_postgres::Pool;
use tunemesh_player::store::postgres::{self, PostgresStore};
use tunemesh_player::store::sqlite::{self, SqliteStore};
use tunemesh_player::store::{CatalogStore, RenditionManifest, TrackRecord};
use tunemesh_runtime::migrate::Migrations;
use tunemesh_runtime::postgres::{PostgresSettings, connect};
use tunemesh_testkit::{TestDatabase, test_database};

use super::cases::{event, track};
use super::counts::{expected, totals};

/// The runner of `migrations` stopping after `version` (V3 is the last schema with inline
/// manifests, V4 the last without kept counts).
fn up_to(migrations: &Migrations, version: i32) -> refinery::Runner {
    let mut runner = (migrations.steps)().set_target(refinery::Target::Version(version));
    runner.set_migration_table_name(migrations.history_table);
    runner
}

/// Three tracks: `a` and `b` play the same audio, `c` its own; each manifest has a rendition
/// with seek tables so a lost or mixed-up one shows.
fn tracks() -> Vec<TrackRecord> {
    let mut tracks = vec![
        track("file:/a.ogg", "A", "Singularity", "OST", 1, 1, 1000),
        track("file:/b.ogg", "B", "Singularity", "OST", 1, 2, 2000),
        track("file:/c.ogg", "C", "Singularity", "OST", 1, 3, 3000),
    ];
    for (i, t) in tracks.iter_mut().enumerate() {
        t.manifest.blob_prefix = if i < 2 {
            "tracks/a/1".into()
        } else {
            "tracks/c/1".into()
        };
        t.manifest.renditions = vec![RenditionManifest {
            quality: "normal".into(),
            bitrate_bps: 96_000,
            ogg_size: 1_000 + i as u64,
            ogg_header_size: 100,
            ogg_pages: vec![[100, 0], [600, 1_000_000]],
            webm_init_size: 50,
            webm_segments: Vec::new(),
        }];
    }
    // The same audio has the same manifest.
    tracks[1].manifest = tracks[0].manifest.clone();
    tracks
}

/// The V3 insert of a track's artist, album and row (`$n` placeholders).
const V3_INSERTS: [&str; 3] = [
    "INSERT INTO artists (id, name, sort_name, create_ms, update_ms) VALUES ($1, $2, $3, 0, 0)
     ON CONFLICT (id) DO NOTHING",
    "INSERT INTO albums (id, title, artist_id, artist_name, create_ms, update_ms)
     VALUES ($1, $2, $3, $4, 0, 0) ON CONFLICT (id) DO NOTHING",
    "INSERT INTO tracks (id, source, content_hash, title, artist_id, artist_name, artist_sort,
       album_id, album_title, album_artist_id, album_artist_name, album_artist_sort,
       duration_us, track_number, disc_number, genre, year, manifest, create_ms, update_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $5, $6, $7, 60000000, $10, 1, $13, $14,
       $11, $12, $12)",
];

/// What the upgraded store must show: every track whole, one manifest per audio, and the
/// shared one kept until its last track moves to other audio. `manifests` counts the rows.
async fn check<F, Fut>(store: Arc<dyn CatalogStore>, manifests: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i64>>,
{
    let mut before = tracks();
    let ids: Vec<String> = before.iter().map(|t| t.id.clone()).collect();
    let mut read = store.tracks(&ids).await?;
    read.sort_by_key(|x| x.create_ms);
    assert_eq!(read, before, "tracks read back whole after the upgrade");
    assert_eq!(manifests().await?, 2, "one manifest per audio");

    // `b` moves to new audio: `a` still plays the old one, which stays.
    before[1].manifest.blob_prefix = "tracks/b/2".into();
    store.put_track(&before[1], &event()).await?;
    assert_eq!(manifests().await?, 3);
    // `a` moves too: nothing plays `tracks/a/1` any more.
    before[0].manifest.blob_prefix = "tracks/a/2".into();
    store.put_track(&before[0], &event()).await?;
    assert_eq!(manifests().await?, 3, "the manifest no track plays is gone");
    let mut read = store.tracks(&ids).await?;
    read.sort_by_key(|x| x.create_ms);
    assert_eq!(read, before);
    Ok(())
}

/// A SQLite catalogue at `path` migrated to V3 and given `tracks`, then migrated to `version`.
fn sqlite_at(path: &std::path::Path, tracks: &[TrackRecord], version: i32) -> anyhow::Result<()> {
    let mut conn = rusqlite::Connection::open(path)?;
    up_to(&sqlite::MIGRATIONS, 3).run(&mut conn)?;
    for (i, t) in tracks.iter().enumerate() {
        let [artist, album, row] = V3_INSERTS.map(|s| s.replace('$', "?"));
        conn.execute(&artist, (&t.artist.id, &t.artist.name, &t.artist.sort_name))?;
        conn.execute(
            &album,
            (&t.album.id, &t.album.title, &t.artist.id, &t.artist.name),
        )?;
        let manifest = serde_json::to_string(&t.manifest)?;
        conn.execute(
            &row,
            rusqlite::params![
                t.id,
                t.source,
                t.content_hash,
                t.title,
                t.artist.id,
                t.artist.name,
                t.artist.sort_name,
                t.album.id,
                t.album.title,
                i as i64 + 1,
                manifest,
                t.create_ms,
                t.genre,
                t.year
            ],
        )?;
    }
    up_to(&sqlite::MIGRATIONS, version).run(&mut conn)?;
    Ok(())
}

#[tokio::test]
async fn a_sqlite_catalogue_with_inline_manifests_upgrades() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("catalog.sqlite");
    sqlite_at(&path, &tracks(), 3)?;
    let store = Arc::new(SqliteStore::open(&path).await?);
    let db = store.connection();
    check(store, || {
        let db = db.clone();
        async move {
            Ok(db
                .call(|c| c.query_row("SELECT COUNT(*) FROM manifests", [], |r| r.get(0)))
                .await?)
        }
    })
    .await
}

/// A PostgreSQL catalogue on `pool` migrated to V3 and given `tracks`, then migrated to
/// `version`.
async fn postgres_at(pool: &Pool, tracks: &[TrackRecord], version: i32) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    up_to(&postgres::MIGRATIONS, 3)
        .run_async(&mut **client)
        .await?;
    for (i, t) in tracks.iter().enumerate() {
        let [artist, album, row] = V3_INSERTS;
        client
            .execute(artist, &[&t.artist.id, &t.artist.name, &t.artist.sort_name])
            .await?;
        client
            .execute(
                album,
                &[&t.album.id, &t.album.title, &t.artist.id, &t.artist.name],
            )
            .await?;
        let manifest = serde_json::to_string(&t.manifest)?;
        client
            .execute(
                row,
                &[
                    &t.id,
                    &t.source,
                    &t.content_hash,
                    &t.title,
                    &t.artist.id,
                    &t.artist.name,
                    &t.artist.sort_name,
                    &t.album.id,
                    &t.album.title,
                    &(i as i64 + 1),
                    &manifest,
                    &t.create_ms,
                    &t.genre,
                    &i64::from(t.year),
                ],
            )
            .await?;
    }
    up_to(&postgres::MIGRATIONS, version)
        .run_async(&mut **client)
        .await?;
    Ok(())
}

/// A pool on a fresh database, kept as long as the pool is used.
async fn test_pool() -> anyhow::Result<(TestDatabase, Pool)> {
    let db = test_database().await?;
    let settings = PostgresSettings {
        url: db.url().to_owned().into(),
        ..PostgresSettings::default()
    };
    let pool = connect(&settings).await?;
    Ok((db, pool))
}

#[tokio::test]
async fn a_postgres_catalogue_with_inline_manifests_upgrades() -> anyhow::Result<()> {
    let (_db, pool) = test_pool().await?;
    postgres_at(&pool, &tracks(), 3).await?;
    let store = Arc::new(PostgresStore::migrate(pool.clone()).await?);
    check(store, || {
        let pool = pool.clone();
        async move {
            let client = pool.get().await?;
            Ok(client
                .query_one("SELECT COUNT(*) FROM manifests", &[])
                .await?
                .get(0))
        }
    })
    .await
}

/// Five tracks of two artists on three albums, in two genres: what a V4 catalogue counts.
fn counted() -> Vec<TrackRecord> {
    let mut tracks = tracks();
    for (source, album) in [("file:/d.ogg", "Tago Mago"), ("file:/e.ogg", "Ege Bamyasi")] {
        let mut t = track(source, "D", "Can", album, 1, 1, 4000);
        t.genre = "Rock".into();
        tracks.push(t);
    }
    tracks
}

/// The upgraded store's totals count the rows already there, then the next new track.
async fn check_totals(store: Arc<dyn CatalogStore>) -> anyhow::Result<()> {
    assert_eq!(totals(&*store).await?, expected(5, 3, 2, [0, 0, 2]));
    let mut new = track("file:/f.ogg", "F", "Zed", "Blue", 1, 1, 6000);
    new.genre = "Jazz".into();
    store.put_track(&new, &event()).await?;
    assert_eq!(totals(&*store).await?, expected(6, 4, 3, [1, 0, 2]));
    Ok(())
}

#[tokio::test]
async fn a_populated_sqlite_catalogue_at_v4_upgrades_to_kept_counts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("catalog.sqlite");
    sqlite_at(&path, &counted(), 4)?;
    check_totals(Arc::new(SqliteStore::open(&path).await?)).await
}

#[tokio::test]
async fn a_populated_postgres_catalogue_at_v4_upgrades_to_kept_counts() -> anyhow::Result<()> {
    let (_db, pool) = test_pool().await?;
    postgres_at(&pool, &counted(), 4).await?;
    check_totals(Arc::new(PostgresStore::migrate(pool).await?)).await
}
