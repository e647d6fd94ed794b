//! Dependencies going away under a running service: Redis (the cache) and PostgreSQL (the
//! store), each a private server of this test that it can kill.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Env, Mode, Service, track};
use tokio::process::{Child, Command};
use tunemesh_playlist::PlaylistSettings;
use tunemesh_proto::playlist::v1::*;
use tunemesh_proto::tonic::Code;
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::RedisSettings;
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{assert_eventually, servers};

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn create(service: &Service, owner: &str) -> anyhow::Result<String> {
    let request = CreatePlaylistRequest {
        name: "outage".into(),
        ..Default::default()
    };
    let response = service
        .client()
        .create_playlist(service.as_user(Some(owner), request))
        .await?;
    Ok(response
        .into_inner()
        .playlist
        .map(|p| p.id)
        .unwrap_or_default())
}

async fn read(
    service: &Service,
    id: &str,
) -> Result<GetPlaylistResponse, tunemesh_proto::tonic::Status> {
    let request = GetPlaylistRequest {
        playlist_id: id.into(),
        page_size: 500,
        ..Default::default()
    };
    service
        .client()
        .get_playlist(service.as_user(Some("alice"), request))
        .await
        .map(|r| r.into_inner())
}

async fn append(
    service: &Service,
    id: &str,
    n: usize,
) -> Result<AddPlaylistItemsResponse, tunemesh_proto::tonic::Status> {
    let request = AddPlaylistItemsRequest {
        playlist_id: id.into(),
        track_ids: vec![track(n)],
        ..Default::default()
    };
    service
        .client()
        .add_playlist_items(service.as_user(Some("alice"), request))
        .await
        .map(|r| r.into_inner())
}

/// A redis-server of this test only, killed when dropped.
async fn private_redis() -> anyhow::Result<(Child, String)> {
    let bin = servers()
        .redis_bin
        .clone()
        .unwrap_or_else(|| PathBuf::from("redis-server"));
    let port = free_port()?;
    let child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = format!("redis://127.0.0.1:{port}");
    assert_eventually!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok(),
        timeout = Duration::from_secs(10),
        "redis never listened"
    );
    Ok((child, url))
}

#[tokio::test]
async fn reads_and_writes_keep_working_when_redis_dies() -> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let (mut redis, url) = private_redis().await?;
    let env = Env::with_redis(Mode::Production, &url).await?;
    let service = env
        .spawn(&PlaylistSettings::default(), env.embedded_bus().await?)
        .await?;
    let id = create(&service, "alice").await?;
    append(&service, &id, 1).await?;
    // Warm the cache, then take Redis away.
    assert_eq!(read(&service, &id).await?.items.len(), 1);
    assert_eq!(read(&service, &id).await?.items.len(), 1);
    redis.kill().await?;
    for n in 2..6 {
        let started = Instant::now();
        append(&service, &id, n).await?;
        let got = read(&service, &id).await?;
        assert_eq!(got.items.len(), n, "the read after write {n} sees it");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "redis outage slowed a call to {:?}",
            started.elapsed()
        );
    }
    Ok(())
}

/// A PostgreSQL server of this test only (initdb into a temp dir), stopped when dropped.
struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    async fn start() -> anyhow::Result<Self> {
        let bin = servers()
            .postgres_bin_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
        let dir = tempfile::tempdir()?;
        as_postgres(
            &[
                "chown",
                "-R",
                "postgres:",
                &dir.path().display().to_string(),
            ],
            false,
        )
        .await?;
        let data = dir.path().join("data").display().to_string();
        as_postgres(
            &[
                &bin.join("initdb").display().to_string(),
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
            ],
            true,
        )
        .await?;
        let this = Self {
            bin,
            dir,
            port: free_port()?,
        };
        this.pg_ctl_start().await?;
        Ok(this)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    async fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let log = self.dir.path().join("postgres.log").display().to_string();
        let options = format!("-c listen_addresses=127.0.0.1 -p {} -k ''", self.port);
        as_postgres(
            &[
                &self.bin.join("pg_ctl").display().to_string(),
                "-D",
                &self.data(),
                "-l",
                &log,
                "-w",
                "-o",
                &options,
                "start",
            ],
            true,
        )
        .await
    }

    async fn stop(&self) -> anyhow::Result<()> {
        // Immediate: no clean shutdown, as in a crash; committed work must survive in the WAL.
        as_postgres(
            &[
                &self.bin.join("pg_ctl").display().to_string(),
                "-D",
                &self.data(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            true,
        )
        .await
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs a command, as the `postgres` user when `as_pg` (PostgreSQL refuses to run as root).
async fn as_postgres(args: &[&str], as_pg: bool) -> anyhow::Result<()> {
    let mut command = if as_pg {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    };
    let output = command.stdin(Stdio::null()).output().await?;
    anyhow::ensure!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

#[tokio::test]
async fn writes_fail_fast_while_postgres_is_down_and_none_acknowledged_is_lost()
-> anyhow::Result<()> {
    tunemesh_testkit::init_tracing();
    let postgres = PrivatePostgres::start().await?;
    let mut env = Env::new(Mode::Production).await?;
    let redis = RedisSettings {
        url: servers().redis_url.clone().into(),
        key_prefix: env.redis_prefix.clone(),
        ..RedisSettings::default()
    };
    let pg = PostgresSettings {
        url: postgres.url().into(),
        connect_timeout: Duration::from_millis(500),
        ..PostgresSettings::default()
    };
    env.ctx = ServiceContext {
        storage: Storage::Production {
            postgres: pg,
            redis,
        },
        ..env.ctx.clone()
    };
    let service = env
        .spawn(&PlaylistSettings::default(), env.embedded_bus().await?)
        .await?;
    let id = create(&service, "alice").await?;
    let mut acknowledged = Vec::new();
    for n in 0..5 {
        acknowledged.push(append(&service, &id, n).await?.items[0].item_id.clone());
    }
    postgres.stop().await?;
    for n in 5..8 {
        let started = Instant::now();
        let status = append(&service, &id, n)
            .await
            .err()
            .ok_or_else(|| anyhow::anyhow!("write {n} succeeded without postgresql"))?;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "write {n} took {:?} to fail",
            started.elapsed()
        );
    }
    postgres.pg_ctl_start().await?;
    // The pool reconnects on its own; writes resume.
    assert_eventually!(
        append(&service, &id, 9).await.is_ok(),
        timeout = Duration::from_secs(15),
        "writes never resumed"
    );
    let got = read(&service, &id).await?;
    let item_ids: Vec<&str> = got.items.iter().map(|i| i.item_id.as_str()).collect();
    for item in &acknowledged {
        assert!(
            item_ids.contains(&item.as_str()),
            "acknowledged item {item} is missing"
        );
    }
    let tracks: Vec<&str> = got.items.iter().map(|i| i.track_id.as_str()).collect();
    assert!(tracks.contains(&track(9).as_str()));
    assert!(
        !tracks
            .iter()
            .any(|t| [track(5), track(6), track(7)].iter().any(|r| r == t)),
        "refused writes must not land"
    );
    Ok(())
}
