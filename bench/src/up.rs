//! The real release binary as the system under test: `tunemesh up --library` on free ports,
//! a fresh data dir, the per-client limits off (a benchmark's load is one user on one
//! address), and settings of the run passed as `TUNEMESH_*` variables.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

/// A child process stopped (SIGTERM, then waited for) when dropped.
#[derive(Debug)]
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `binary`, or this workspace's `target/release/tunemesh`; an error saying how to build it
/// when it is missing.
pub fn release_binary(binary: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let binary = binary.unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/tunemesh")
    });
    ensure!(
        binary.exists(),
        "{} is missing: cargo build --release --bin tunemesh",
        binary.display()
    );
    // Absolute: the child starts in another directory, where a relative path would not be.
    Ok(std::fs::canonicalize(binary)?)
}

/// `tunemesh up` on a free port with `env` set; its URL from the line it prints when up. Its
/// log goes to `<work>/<log>`.
pub fn start(
    binary: &Path,
    work: &Path,
    data_dir: &Path,
    library: &Path,
    log: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(Process, String)> {
    start_with_metrics(binary, work, data_dir, library, log, env)
        .map(|(process, url, _)| (process, url))
}

/// [`start`], also returning the URL of its `/metrics` (the admin endpoint).
pub fn start_with_metrics(
    binary: &Path,
    work: &Path,
    data_dir: &Path,
    library: &Path,
    log: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<(Process, String, String)> {
    let log_path = work.join(log);
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(binary);
    command
        .args(["up", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--library")
        .arg(library)
        .current_dir(work)
        .stdout(Stdio::piped())
        .stderr(log);
    for limit in ["PER_IP", "PER_USER"] {
        for field in ["PER_MINUTE", "BURST"] {
            command.env(
                format!("TUNEMESH_GATEWAY__RATE_LIMITS__{limit}__{field}"),
                "0",
            );
        }
    }
    // Every client is one account on one address: the per-address connection cap and the
    // per-account stream cap are off too.
    command.env("TUNEMESH_GATEWAY__CONNECTIONS__MAX_PER_IP", "0");
    command.env("TUNEMESH_GATEWAY__HTTP__MAX_STREAMS_PER_USER", "0");
    command.envs(env.iter().copied());
    let mut child = Process(command.spawn().context("cannot start tunemesh")?);
    let stdout = child.0.stdout.take().context("piped stdout")?;
    let mut stdout = BufReader::new(stdout);
    let mut line = String::new();
    let url = loop {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            bail!("tunemesh exited before it was up: {log}");
        }
        if let Some(url) = line.trim().strip_prefix("tunemesh is up: ") {
            break url.trim_end_matches('/').to_owned();
        }
    };
    // The next line names the admin endpoint (`--admin-addr` is always given).
    line.clear();
    stdout.read_line(&mut line)?;
    let metrics = line
        .split_whitespace()
        .find(|word| word.ends_with("/metrics"))
        .with_context(|| format!("no admin endpoint after the gateway's line: {line:?}"))?
        .to_owned();
    // Keep draining, so output never fills the pipe and blocks the server.
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(drop));
    Ok((child, url, metrics))
}

/// Resident memory of `pid`, MiB: now, at its peak, and now split into anonymous (heaps:
/// the models) and file-backed (mapped files: the binary, tantivy's segments).
pub fn memory(pid: u32) -> [f64; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    [
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:"),
    ]
}
