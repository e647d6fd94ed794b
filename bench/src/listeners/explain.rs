//! Where a cold read's time goes inside PostgreSQL: the statements of a page read
//! (`PostgresStore::page_statements`, as a cache miss runs them) under `EXPLAIN (ANALYZE,
//! BUFFERS)` for a sample of playlists: the 8 KB buffers found in PostgreSQL's shared buffers
//! against those read from the kernel (its page cache, or the disk), the time those reads
//! took (`track_io_timing`, set for the session: microseconds from the page cache,
//! milliseconds from the disk) and the server's execution time. Planning is left out (the
//! same at every size).

use tokio_postgres::Client;
use tunemesh_playlist::cache::CACHED_ITEMS;
use tunemesh_playlist::store::postgres::PostgresStore;

/// Means per page read (both statements) over a sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Explained {
    /// Buffers found in shared buffers.
    pub hit: f64,
    /// Buffers read from the kernel.
    pub read: f64,
    /// Time of those reads, ms.
    pub read_ms: f64,
    /// Execution time on the server, ms.
    pub ms: f64,
}

/// The page statements of each of `ids`, explained; their means.
pub async fn page_reads(sql: &Client, ids: &[String]) -> anyhow::Result<Explained> {
    let [playlist, items] = PostgresStore::page_statements();
    let (offset, limit) = (0_i64, i64::from(CACHED_ITEMS));
    sql.batch_execute("SET track_io_timing = on").await?;
    let mut sum = Explained::default();
    for id in ids {
        for (statement, params) in [
            (
                &playlist,
                vec![id as &(dyn tokio_postgres::types::ToSql + Sync)],
            ),
            (&items, vec![id as _, &offset as _, &limit as _]),
        ] {
            let explain = format!("EXPLAIN (ANALYZE, BUFFERS) {statement}");
            let lines: Vec<String> = sql
                .query(&explain, &params)
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            let one = parse(&lines)?;
            sum.hit += one.hit;
            sum.read += one.read;
            sum.read_ms += one.read_ms;
            sum.ms += one.ms;
        }
    }
    let n = ids.len().max(1) as f64;
    Ok(Explained {
        hit: sum.hit / n,
        read: sum.read / n,
        read_ms: sum.read_ms / n,
        ms: sum.ms / n,
    })
}

/// The top node's buffers and read time (its first `Buffers:` and `I/O Timings:` lines count
/// its children too) and the execution time of a text-format plan.
fn parse(lines: &[String]) -> anyhow::Result<Explained> {
    let first = |prefix: &str| {
        lines
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with(prefix))
    };
    let field = |line: Option<&str>, name: &str| -> f64 {
        line.and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix(name)))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0)
    };
    let buffers = first("Buffers: shared");
    let timings = first("I/O Timings:");
    let ms = first("Execution Time: ")
        .and_then(|l| {
            l.trim_start_matches("Execution Time: ")
                .trim_end_matches(" ms")
                .parse()
                .ok()
        })
        .ok_or_else(|| anyhow::anyhow!("no execution time in {lines:?}"))?;
    Ok(Explained {
        hit: field(buffers, "hit="),
        read: field(buffers, "read="),
        read_ms: field(timings, "read="),
        ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_node_and_the_execution_time_are_read() -> anyhow::Result<()> {
        let plan = [
            "Limit  (cost=0.56..8.58 rows=1 width=100) (actual time=0.031..0.040 rows=11 loops=1)",
            "  Buffers: shared hit=4 read=3",
            "  I/O Timings: shared/local read=0.015",
            "  ->  Index Scan using playlist_items_playlist_id_rank_key on playlist_items",
            "        Buffers: shared hit=4 read=2",
            "Planning:",
            "  Buffers: shared hit=12",
            "Planning Time: 0.101 ms",
            "Execution Time: 0.062 ms",
        ]
        .map(str::to_owned);
        let explained = parse(&plan)?;
        let values = [
            explained.hit,
            explained.read,
            explained.read_ms,
            explained.ms,
        ];
        assert_eq!(values, [4.0, 3.0, 0.015, 0.062]);
        Ok(())
    }
}
