//! Turning SIGTERM and SIGINT (Ctrl-C) into a cancellation every task can watch, and the
//! bounded drain that follows it.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT. A second signal is left to the default
/// handler no more: the drain is bounded by its grace period instead.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutting down");
        cancel.cancel();
    });
    token
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; Ctrl-C only");
            return ctrl_c().await;
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        name = ctrl_c() => name,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    ctrl_c().await
}

async fn ctrl_c() -> &'static str {
    if tokio::signal::ctrl_c().await.is_err() {
        // Without a handler we can never be told to stop: wait forever rather than stop now.
        std::future::pending::<()>().await;
    }
    "SIGINT"
}

/// Waits for `work` (a server finishing its in-flight calls after it stopped accepting) at
/// most `grace`: its output if it finished in time, `None` if the grace ran out first (the
/// caller then cuts what is left). Logs which `part` was cut.
pub async fn drain<F: Future>(part: &str, grace: Duration, work: F) -> Option<F::Output> {
    match tokio::time::timeout(grace, work).await {
        Ok(output) => Some(output),
        Err(_) => {
            tracing::warn!(
                part,
                ?grace,
                "still busy after the grace period; cutting it"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_within_the_grace_finishes_and_longer_work_is_cut() {
        let quick = tokio::time::sleep(Duration::from_millis(10));
        assert_eq!(
            drain("quick", Duration::from_secs(5), quick).await,
            Some(())
        );
        let stuck = std::future::pending::<()>();
        assert_eq!(drain("stuck", Duration::from_millis(50), stuck).await, None);
    }
}
