//! Turning SIGTERM and SIGINT (Ctrl-C) into a cancellation every task can watch.

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
