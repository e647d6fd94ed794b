//! Sets `TUNEMESH_GIT_SHA` to the checkout's short commit (`git rev-parse --short HEAD`) for
//! the Subsonic `serverVersion` (`src/subsonic/response.rs`). A build without git or outside a
//! checkout (a source tarball) sets nothing and still builds; `TUNEMESH_GIT_SHA` given in the
//! build environment wins (a container build that copies no `.git`).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TUNEMESH_GIT_SHA");
    if let Ok(sha) = std::env::var("TUNEMESH_GIT_SHA") {
        println!("cargo:rustc-env=TUNEMESH_GIT_SHA={sha}");
        return;
    }
    // Rebuilt when HEAD moves: HEAD itself (a checkout or a detached commit) and the branch it
    // names (a commit), loose or packed. `--git-path` finds them in worktrees too.
    for path in ["HEAD", "packed-refs"] {
        if let Some(file) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(file) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={file}");
    }
    if let Some(sha) = git(&["rev-parse", "--short", "HEAD"]) {
        println!("cargo:rustc-env=TUNEMESH_GIT_SHA={sha}");
    }
}

/// `git args` in this crate's folder: its trimmed output, or `None` on any failure.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
