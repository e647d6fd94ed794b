//! The one migration runner of every relational store: refinery, on PostgreSQL and on SQLite.
//!
//! A service embeds its versioned steps with `refinery::embed_migrations!("migrations/<db>")`
//! (`V<n>__<name>.sql`, or `.rs` for a step whose SQL lives in another crate, such as the
//! events outbox) and describes them with a [`Migrations`] value naming its own history
//! table, so services sharing one database never mix histories. Stores run them when they
//! open; `tunemesh migrate` runs the same values ahead of a rollout.
//!
//! The advisory-lock policy on PostgreSQL: the runner holds a *session* lock keyed by the
//! history table ([`lock_key`]) around the whole run, so replicas starting together take
//! turns (refinery does not serialise two runners: they would race on the history table and
//! on each step). The lock is released after the run, also when a step failed; a connection
//! whose unlock failed is dropped rather than returned to the pool still holding it. SQLite
//! needs no lock: refinery runs each step in a transaction, which SQLite serialises.
//!
//! Steps that adopt a database made before the runner existed are idempotent
//! (`IF NOT EXISTS`): they find their tables already there and only record themselves.

use std::fmt;

use deadpool_postgres::{Object, Pool};

/// One service's migrations for one kind of database.
#[derive(Clone, Copy)]
pub struct Migrations {
    /// Who they belong to, for messages (e.g. `playlist`).
    pub service: &'static str,
    /// The history table refinery records applied steps in; one per service.
    pub history_table: &'static str,
    /// The embedded steps: the `runner` function `refinery::embed_migrations!` generates.
    pub steps: fn() -> refinery::Runner,
}

impl fmt::Debug for Migrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migrations")
            .field("service", &self.service)
            .field("history_table", &self.history_table)
            .finish_non_exhaustive()
    }
}

impl Migrations {
    fn runner(&self) -> refinery::Runner {
        let mut runner = (self.steps)();
        runner.set_migration_table_name(self.history_table);
        runner
    }

    fn applied(&self, report: &refinery::Report) -> Applied {
        let steps = report
            .applied_migrations()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>();
        for step in &steps {
            tracing::info!(service = self.service, %step, "applied migration");
        }
        Applied {
            service: self.service,
            steps,
        }
    }

    fn failed(&self, source: impl Into<Cause>) -> MigrateError {
        MigrateError {
            service: self.service,
            source: source.into(),
        }
    }
}

/// What one run applied; empty when the database was up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Whose migrations ran.
    pub service: &'static str,
    /// The steps applied by this run, in order, as `V<n>__<name>`.
    pub steps: Vec<String>,
}

/// Why migrations could not be applied; the service must not start on that database.
#[derive(Debug, thiserror::Error)]
#[error("cannot migrate the {service} database")]
pub struct MigrateError {
    /// Whose migrations failed.
    pub service: &'static str,
    /// What failed.
    #[source]
    pub source: Cause,
}

/// The underlying failure of a [`MigrateError`].
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// No PostgreSQL connection could be had.
    #[error("no connection")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// Taking or releasing the advisory lock failed.
    #[error("advisory lock failed")]
    Lock(#[from] tokio_postgres::Error),
    /// A step failed, or the history does not match the embedded steps.
    #[error("migration failed")]
    Refinery(#[from] refinery::Error),
    /// The SQLite connection's thread is gone.
    #[error("sqlite connection closed")]
    Closed,
}

/// The PostgreSQL advisory-lock key of a history table: FNV-1a of its name, stable across
/// builds and releases (std's hashers are not), so every replica computes the same key.
pub fn lock_key(history_table: &str) -> i64 {
    let hash = history_table
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Applies `migrations` to the database behind `pool`, under the session advisory lock.
pub async fn postgres(pool: &Pool, migrations: &Migrations) -> Result<Applied, MigrateError> {
    let mut client = pool.get().await.map_err(|e| migrations.failed(e))?;
    let key = lock_key(migrations.history_table);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&key])
        .await
        .map_err(|e| migrations.failed(e))?;
    let report = migrations.runner().run_async(&mut **client).await;
    // Released even when a step failed; a lost session releases it too.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .await;
    if unlocked.is_err() {
        // Never hand a connection that may still hold the lock back to the pool.
        drop(Object::take(client));
    }
    let report = report.map_err(|e| migrations.failed(e))?;
    unlocked.map_err(|e| migrations.failed(e))?;
    Ok(migrations.applied(&report))
}

/// Applies `migrations` to the SQLite database `db`, on its own thread.
pub async fn sqlite(
    db: &tokio_rusqlite::Connection,
    migrations: &Migrations,
) -> Result<Applied, MigrateError> {
    let runner = migrations.runner();
    let report = db
        .call(move |conn| runner.run(conn))
        .await
        .map_err(|error| match error {
            tokio_rusqlite::Error::Error(e) => migrations.failed(e),
            _ => migrations.failed(Cause::Closed),
        })?;
    Ok(migrations.applied(&report))
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn lock_keys_are_stable_and_differ_per_history_table() {
        // Pinned: a changed key would let an old and a new replica migrate at once.
        assert_eq!(lock_key(""), 0xcbf2_9ce4_8422_2325_u64 as i64);
        assert_ne!(
            lock_key("playlist_schema_history"),
            lock_key("gateway_schema_history")
        );
    }
}
