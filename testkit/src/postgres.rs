//! A fresh PostgreSQL database per test, dropped afterwards.
//!
//! Cleanup has two layers because `Drop` cannot await and must not block an async thread:
//! dropping a [`TestDatabase`] hands the `DROP DATABASE` to a short-lived std thread with its
//! own tiny runtime (best effort: the process may exit first, and under nextest every test is
//! its own process), and the first [`test_database`] call of every test process sweeps the
//! leftovers. A name records its creator's pid and creation time
//! (`tm_<millis><random>_<pid>`), so the sweep drops exactly the databases whose creator has
//! exited, plus any older than [`SWEEP_AGE`] (pid reused, or no `/proc`). A concurrent run's
//! databases are never touched, and garbage lives only until the next test process starts.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::OnceCell;
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use crate::servers::servers;

/// Databases older than this are leftovers even if their creator's pid is alive (reused).
const SWEEP_AGE: Duration = Duration::from_secs(60 * 60);

/// Bounds every admin connection, so a stopped server fails the test instead of hanging it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Prefix of every test database name; the sweep only ever drops these.
const NAME_PREFIX: &str = "tm_";

/// A database created for one test on the shared PostgreSQL server; dropped with the value.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Connection URL of this database (trust auth: no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name, `tm_<millis-hex><random-hex>`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let spawned = std::thread::Builder::new()
            .name("testkit-drop-db".into())
            .spawn(move || drop_in_own_runtime(&name));
        if let Err(error) = spawned {
            tracing::warn!(%error, "could not spawn the thread that drops a test database");
        }
    }
}

/// Creates an empty database with a unique name on `servers().postgres_url`.
pub async fn test_database() -> anyhow::Result<TestDatabase> {
    static SWEPT: OnceCell<()> = OnceCell::const_new();
    let admin = connect_admin().await?;
    SWEPT.get_or_init(|| sweep_leftover_databases(&admin)).await;
    let name = new_database_name();
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .with_context(|| format!("create test database {name}"))?;
    let url = with_database(&servers().postgres_url, &name);
    Ok(TestDatabase { name, url })
}

/// `tm_` + a UUIDv7's 12 hex digits of milliseconds + 10 random hex digits + `_` + our pid.
fn new_database_name() -> String {
    let id = Uuid::now_v7().simple().to_string();
    format!(
        "{NAME_PREFIX}{}{}_{}",
        &id[..12],
        &id[22..],
        std::process::id()
    )
}

/// When and by which process a database named by [`new_database_name`] was created.
fn origin(name: &str) -> Option<(SystemTime, Option<u32>)> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let millis = u64::from_str_radix(rest.get(..12)?, 16).ok()?;
    let pid = rest.split_once('_').and_then(|(_, pid)| pid.parse().ok());
    Some((UNIX_EPOCH + Duration::from_millis(millis), pid))
}

/// Whether `name` is a test database nobody can still be using: its creator (another
/// process) has exited, or it is older than [`SWEEP_AGE`].
fn is_leftover(name: &str, now: SystemTime, alive: impl Fn(u32) -> bool) -> bool {
    let Some((created, pid)) = origin(name) else {
        return false;
    };
    let orphaned = pid.is_some_and(|pid| pid != std::process::id() && !alive(pid));
    orphaned || created + SWEEP_AGE < now
}

/// Whether a process with this pid runs on this machine. Without `/proc` it cannot be
/// told, so the answer is yes and only the age rule applies.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Replaces the database (path) of a `postgres://` URL, keeping any `?query`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn connect_admin() -> anyhow::Result<Client> {
    let url = &servers().postgres_url;
    let mut config: tokio_postgres::Config =
        url.parse().context("parse TUNEMESH_TEST_POSTGRES_URL")?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| anyhow::anyhow!("timed out"))
        .and_then(|result| result.map_err(anyhow::Error::from))
        .with_context(|| format!("connect to test postgresql at {}", redact(url)))?;
    // The connection task ends when the client is dropped.
    tokio::spawn(connection);
    Ok(client)
}

/// Drops the [`is_leftover`] test databases. Best effort: a failure here must not fail the
/// test that happened to run first.
async fn sweep_leftover_databases(admin: &Client) {
    let rows = match admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'tm\\_%'",
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        Err(error) => return tracing::warn!(%error, "could not list old test databases"),
    };
    let now = SystemTime::now();
    let leftovers = rows
        .iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|name| is_leftover(name, now, process_alive));
    for name in leftovers {
        if let Err(error) = drop_database(admin, &name).await {
            tracing::warn!(%error, database = %name, "could not drop old test database");
        }
    }
}

async fn drop_database(admin: &Client, name: &str) -> anyhow::Result<()> {
    // FORCE ends connections a test leaked (e.g. a pool kept alive in a spawned task).
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .with_context(|| format!("drop test database {name}"))
}

/// Runs on the drop thread: a current-thread runtime is enough for two statements.
fn drop_in_own_runtime(name: &str) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            return tracing::warn!(%error, "could not build a runtime to drop a test database");
        }
    };
    let result = runtime.block_on(async {
        let admin = connect_admin().await?;
        drop_database(&admin, name).await
    });
    if let Err(error) = result {
        tracing::warn!(error = format!("{error:#}"), database = %name, "could not drop test database");
    }
}

/// The URL without a password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced_and_query_kept() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=2";
        assert_eq!(
            with_database(url, "tm_x"),
            "postgres://postgres@127.0.0.1:5432/tm_x?connect_timeout=2"
        );
        assert_eq!(
            with_database("postgres://h:1", "tm_x"),
            "postgres://h:1/tm_x"
        );
    }

    #[test]
    fn names_encode_creation_time_and_creator() {
        let before = SystemTime::now() - Duration::from_secs(1);
        let name = new_database_name();
        assert!(
            name.len() <= 63,
            "postgres truncates identifiers past 63 bytes"
        );
        let (created, pid) = origin(&name).unwrap_or((UNIX_EPOCH, None));
        assert!(created > before);
        assert_eq!(pid, Some(std::process::id()));
        assert_eq!(origin("tm_nothex_at_all"), None);
        assert_eq!(origin("tunemesh"), None);
    }

    #[test]
    fn leftovers_are_orphaned_or_old_and_never_ours() {
        let now = SystemTime::now();
        let fresh = |pid: u32| {
            let id = Uuid::now_v7().simple().to_string();
            format!("tm_{}{}_{pid}", &id[..12], &id[22..])
        };
        let dead = |_: u32| false;
        let alive = |_: u32| true;
        assert!(is_leftover(&fresh(1), now, dead), "creator exited");
        assert!(!is_leftover(&fresh(1), now, alive), "creator still running");
        assert!(
            !is_leftover(&fresh(std::process::id()), now, dead),
            "our own"
        );
        assert!(
            is_leftover("tm_0100000000000000000000_1", now, alive),
            "too old"
        );
        assert!(!is_leftover("tunemesh", now, dead), "not a test database");
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h:1/db"), "postgres://u@h:1/db");
        assert_eq!(redact("postgres://h:1/db"), "postgres://h:1/db");
    }
}
