//! How the Redis store remembers applied event ids: digests in a few sets per dedup TTL,
//! each expiring, instead of a key per id (issue 17 item 3), still answering duplicates.

use std::time::Duration;

use fred::prelude::{Client, KeysInterface as _};
use fred::types::scan::Scanner as _;
use futures::StreamExt as _;
use tunemesh_reco::store::redis::{RedisStore, SEEN_BUCKETS};
use tunemesh_reco::store::{Applied, Op, RecoStore as _, SetKey, WriteBatch};
use tunemesh_runtime::redis::{KeyPrefix, RedisSettings};
use tunemesh_testkit::{delete_redis_keys, redis_client, servers};

const TTL: Duration = Duration::from_secs(3600);

fn play(id: &str) -> WriteBatch {
    WriteBatch {
        event_id: id.to_owned(),
        guard: None,
        ops: vec![Op::Count {
            key: SetKey::PlayCounts,
            member: "t".to_owned(),
            delta: 1,
        }],
    }
}

async fn store(prefix: &str) -> anyhow::Result<RedisStore> {
    let settings = RedisSettings {
        url: servers().redis_url.clone().into(),
        key_prefix: prefix.to_owned(),
        ..RedisSettings::default()
    };
    let pool = tunemesh_runtime::redis::connect(&settings).await?;
    Ok(RedisStore::new(pool, KeyPrefix::new(prefix), TTL))
}

/// Every key under `prefix`.
async fn keys(client: &Client, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut pages = client.scan(format!("{prefix}*"), Some(500), None);
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let mut page = page?;
        for key in page.take_results().unwrap_or_default() {
            keys.extend(key.as_str().map(|k| k.to_owned()));
        }
        page.next();
    }
    Ok(keys)
}

#[tokio::test]
async fn applied_event_ids_share_a_few_expiring_sets_and_still_stop_duplicates()
-> anyhow::Result<()> {
    let prefix = format!("{}:", tunemesh_testkit::unique_prefix("reco dedup"));
    let client = redis_client().await?;
    let result = async {
        let store = store(&prefix).await?;
        let batches: Vec<WriteBatch> = (0..200).map(|i| play(&format!("e{i}"))).collect();
        let outcomes = store.apply_all(&batches).await?;
        assert!(outcomes.iter().all(|o| *o == Applied::Done));
        let seen: Vec<String> = keys(&client, &format!("{prefix}seen:"))
            .await?
            .into_iter()
            .collect();
        // One set per bucket of TTL / SEEN_BUCKETS: the run may cross one boundary.
        assert!(
            (1..=2).contains(&seen.len()),
            "200 ids took {} keys",
            seen.len()
        );
        let bound = TTL + TTL / u32::try_from(SEEN_BUCKETS)?;
        for key in &seen {
            let ttl: i64 = client.pttl(key).await?;
            assert!(
                ttl > 0 && ttl <= i64::try_from(bound.as_millis())?,
                "{key} expires in {ttl} ms, past {bound:?}"
            );
        }
        let again = store.apply_all(&batches).await?;
        assert!(again.iter().all(|o| *o == Applied::Duplicate), "{again:?}");
        let counts = store.scores(&SetKey::PlayCounts, &["t".to_owned()]).await?;
        assert_eq!(counts, [Some(200.0)]);
        Ok::<_, anyhow::Error>(())
    }
    .await;
    delete_redis_keys(&client, &prefix).await?;
    result
}

#[tokio::test]
async fn an_id_remembered_the_old_way_is_still_a_duplicate() -> anyhow::Result<()> {
    let prefix = format!("{}:", tunemesh_testkit::unique_prefix("reco dedup old"));
    let client = redis_client().await?;
    let result = async {
        let store = store(&prefix).await?;
        // What the store wrote before digests: a string key per applied id, with a TTL.
        let _: () = client
            .set(
                format!("{prefix}seen:e-old"),
                "1",
                Some(fred::types::Expiration::PX(60_000)),
                None,
                false,
            )
            .await?;
        assert_eq!(store.apply(&play("e-old")).await?, Applied::Duplicate);
        assert_eq!(store.apply(&play("e-new")).await?, Applied::Done);
        let counts = store.scores(&SetKey::PlayCounts, &["t".to_owned()]).await?;
        assert_eq!(counts, [Some(1.0)]);
        Ok::<_, anyhow::Error>(())
    }
    .await;
    delete_redis_keys(&client, &prefix).await?;
    result
}
