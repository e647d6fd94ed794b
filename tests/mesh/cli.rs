//! The real `tunemesh` binary: help, bad input, and Ctrl-C.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::announced_url;

/// The real `tunemesh` binary, run outside the repository so no `tunemesh.toml` is picked up.
fn tunemesh() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tunemesh"));
    command.current_dir(std::env::temp_dir());
    command
}

#[test]
fn every_command_has_help() {
    for args in [&["--help"][..], &["up", "--help"], &["serve", "--help"]] {
        let output = tunemesh().args(args).output().expect("runs");
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn bad_flags_exit_non_zero_with_a_reason() {
    let output = tunemesh()
        .args(["up", "--addr", "nowhere"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--addr"));
}

#[test]
fn bad_settings_exit_non_zero_with_a_one_line_reason() {
    let output = tunemesh()
        .arg("up")
        .env("TUNEMESH_GATEWAY__ADDR", "not-an-address")
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("tunemesh: "), "{stderr}");
}

#[test]
fn ctrl_c_drains_and_exits_zero() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut child = tunemesh()
        .args(["up", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir.path())
        .env("TUNEMESH_GRPC__DRAIN_GRACE", "5s")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let url = announced_url(child.stdout.take().expect("piped stdout"));

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(tunemesh_testkit::eventually(
            Duration::from_secs(20),
            || async {
                let status = reqwest::get(format!("{url}/readyz")).await?.status();
                anyhow::ensure!(status == 200, "readyz answered {status}");
                Ok(())
            },
        ))
        .expect("ready");

    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "tunemesh did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "exit status {status}");
}
