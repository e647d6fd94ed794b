//! A PostgreSQL server of one test: `initdb` into a temporary folder, run as the `postgres`
//! user (PostgreSQL refuses to run as root), stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::servers;
use crate::tls::ServerCert;

/// A private PostgreSQL that accepts TLS connections only (`hostssl` in `pg_hba.conf`, trust
/// authentication), presenting the certificate it was started with.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrivatePostgres {
    /// initdb, the certificate, TLS-only access, then `pg_ctl start` (waits until it accepts).
    pub async fn start_tls_only(cert: &ServerCert) -> anyhow::Result<Self> {
        let bin = servers()
            .postgres_bin_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        run(&["chown", "-R", "postgres:", &text(dir.path())], false).await?;
        let initdb = text(&bin.join("initdb"));
        run(
            // No fsync: a throwaway cluster, and initdb's syncs cost seconds on a busy disk.
            &[
                &initdb,
                "-N",
                "-D",
                &text(&data),
                "-U",
                "postgres",
                "-A",
                "trust",
            ],
            true,
        )
        .await?;
        std::fs::copy(&cert.cert, data.join("server.crt"))?;
        std::fs::copy(&cert.key, data.join("server.key"))?;
        // No `host` line: a connection without TLS finds no entry and is refused.
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\n",
        )?;
        run(&["chown", "-R", "postgres:", &text(dir.path())], false).await?;
        run(&["chmod", "0600", &text(&data.join("server.key"))], false).await?;
        let port = super::free_port()?;
        let log = text(&dir.path().join("postgres.log"));
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k '' -c fsync=off -c ssl=on \
             -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        );
        let pg_ctl = text(&bin.join("pg_ctl"));
        run(
            &[
                &pg_ctl,
                "-D",
                &text(&data),
                "-l",
                &log,
                "-w",
                "-o",
                &options,
                "start",
            ],
            true,
        )
        .await?;
        Ok(Self { bin, dir, port })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@<host>:<port>/postgres` plus `query` (e.g. `sslmode=verify-full`).
    pub fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// Runs a command, as the `postgres` user when `as_postgres`.
async fn run(args: &[&str], as_postgres: bool) -> anyhow::Result<()> {
    let mut command = if as_postgres {
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
