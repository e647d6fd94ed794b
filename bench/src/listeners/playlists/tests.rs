//! The COPY path against the store, on the real PostgreSQL and Redis: each listener's
//! playlists written twice, once through `PlaylistStore::create` and once by
//! `PostgresStore::create_many`, read back the same through the store, the cache, the
//! library listing, the rows themselves and the outbox (ids and times aside).

use std::collections::HashMap;
use std::time::Duration;

use tunemesh_playlist::model::{NewPlaylist, Playlist, PlaylistPage, Relation, new_id};
use tunemesh_proto::events::v1::{PlaylistChanged, PlaylistEvent, playlist_event};
use tunemesh_proto::prost::Message as _;

use super::{PlaylistSvc, new_playlist};
use crate::listeners::synth::Population;
use crate::reco_eval::movielens::Rating;

const LISTENERS: usize = 6;
const PER_USER: usize = 4;

/// Listeners of 1 to 33 plays: playlists shorter and longer than `FIRST_TRACKS`.
fn population() -> Population {
    let ratings: Vec<Rating> = (0..9)
        .flat_map(|u| (0..u * 4 + 1).map(move |i| (u, i)))
        .map(|(u, i)| Rating {
            user: format!("u{u}"),
            item: format!("m{}", (u * 5 + i * 3) % 23),
            rating: 4.0,
            at: i64::from(i),
        })
        .collect();
    Population::from_ratings(&ratings, 3, 1.0, 11)
}

/// The playlist without what differs between two creations: id and times.
fn same(playlist: &Playlist) -> Playlist {
    Playlist {
        id: String::new(),
        create_ms: 0,
        update_ms: 0,
        ..playlist.clone()
    }
}

/// The page without ids and times; its item ids must be set and distinct.
fn same_page(page: &PlaylistPage) -> PlaylistPage {
    let mut ids: Vec<&str> = page.items.iter().map(|i| i.item_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), page.items.len(), "item ids repeat");
    assert!(ids.iter().all(|id| id.len() == 32), "{ids:?}");
    let mut page = page.clone();
    page.playlist = same(&page.playlist);
    for item in &mut page.items {
        item.item_id.clear();
        item.add_ms = 0;
    }
    page
}

/// The event without its meta and the playlist's id and times.
fn same_event(event: &PlaylistChanged) -> PlaylistChanged {
    let mut event = event.clone();
    event.meta = None;
    event.playlist_id.clear();
    if let Some(p) = event.playlist.as_mut() {
        p.id.clear();
        p.create_time = None;
        p.update_time = None;
    }
    event
}

/// Every `PlaylistChanged` in the outbox by playlist id, with its subject and headers.
async fn outbox(
    sql: &tokio_postgres::Client,
) -> anyhow::Result<HashMap<String, (PlaylistChanged, String, String)>> {
    let rows = sql
        .query(
            "SELECT subject, headers::text, payload FROM event_outbox ORDER BY seq",
            &[],
        )
        .await?;
    let mut events = HashMap::new();
    for row in rows {
        let payload: Vec<u8> = row.get(2);
        let Some(playlist_event::Event::PlaylistChanged(event)) =
            PlaylistEvent::decode(payload.as_slice())?.event
        else {
            anyhow::bail!("not a PlaylistChanged");
        };
        let id = event.playlist_id.clone();
        anyhow::ensure!(events.insert(id, (event, row.get(0), row.get(1))).is_none());
    }
    Ok(events)
}

/// A playlist's row and its items' rows as JSON, without ids and times (ranks and
/// durations included).
async fn rows(sql: &tokio_postgres::Client, id: &str) -> anyhow::Result<(String, String)> {
    let row = sql
        .query_one(
            "SELECT (to_jsonb(p) - 'id' - 'create_ms' - 'update_ms')::text,
                 (SELECT jsonb_agg(to_jsonb(i) - 'playlist_id' - 'item_id' - 'add_ms'
                     ORDER BY i.rank)::text FROM playlist_items i WHERE i.playlist_id = p.id)
             FROM playlists p WHERE p.id = $1",
            &[&id],
        )
        .await?;
    Ok((
        row.get(0),
        row.get::<_, Option<String>>(1).unwrap_or_default(),
    ))
}

#[tokio::test]
async fn playlists_copied_read_back_as_created_ones() -> anyhow::Result<()> {
    let svc = PlaylistSvc::open(4).await?;
    let (sql, connection) = tokio_postgres::connect(svc.db.url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let population = population();
    let specs: Vec<NewPlaylist> = (0..LISTENERS)
        .flat_map(|u| (0..PER_USER).map(move |k| (u, k)))
        .map(|(u, k)| new_playlist(&population, PER_USER, u, k))
        .collect();
    // The first half of the listeners by COPY first, the rest through the store first.
    let half = LISTENERS / 2 * PER_USER;
    let copies: Vec<NewPlaylist> = specs
        .iter()
        .map(|s| NewPlaylist {
            id: new_id(),
            ..s.clone()
        })
        .collect();
    let mut copied = svc.postgres.create_many(copies[..half].to_vec()).await?;
    let mut created = Vec::new();
    for spec in &specs {
        created.push(svc.store.create(spec.clone()).await?);
    }
    copied.extend(svc.postgres.create_many(copies[half..].to_vec()).await?);
    assert_eq!(copied.len(), specs.len());
    assert!(created.iter().any(|p| p.item_count > 8));
    assert!(created.iter().any(|p| p.item_count < 8));

    let events = outbox(&sql).await?;
    assert_eq!(events.len(), 2 * specs.len());
    for (made, copy) in created.iter().zip(&copied) {
        assert_eq!(same(copy), same(made), "what create_many returns");
        let page = svc.store.page(&made.id, 0, 1000).await?;
        let copy_page = svc.store.page(&copy.id, 0, 1000).await?;
        let (page, copy_page) = (page.expect("created"), copy_page.expect("copied"));
        assert_eq!(page.items.len(), made.item_count as usize);
        assert_eq!(same_page(&copy_page), same_page(&page), "store pages");
        assert_eq!(same(&copy_page.playlist), same(made), "as created");

        // Cold (a miss, filled from PostgreSQL), then warm from Redis.
        let read = svc.reads.read(&made.id).await?.expect("created");
        let copy_read = svc.reads.read(&copy.id).await?.expect("copied");
        assert_eq!(same_page(&copy_read), same_page(&read), "cold reads");
        let warm = tunemesh_testkit::eventually(Duration::from_secs(5), || async {
            let page = svc.reads.cache().get(&copy.id).await;
            page.ok_or_else(|| anyhow::anyhow!("not cached yet"))
        })
        .await?;
        assert_eq!(*warm, *copy_read, "warm read");

        assert_eq!(rows(&sql, &copy.id).await?, rows(&sql, &made.id).await?);
        let (event, subject, headers) = &events[&made.id];
        let (copy_event, copy_subject, copy_headers) = &events[&copy.id];
        assert_eq!(same_event(copy_event), same_event(event), "events");
        assert_eq!((copy_subject, copy_headers), (subject, headers));
    }

    for u in 0..LISTENERS {
        let owner = &specs[u * PER_USER].owner_id;
        let library = svc
            .store
            .library(owner, &[Relation::Owner], None, 100)
            .await?;
        assert_eq!(library.len(), 2 * PER_USER, "listener {u}'s library");
    }
    Ok(())
}
