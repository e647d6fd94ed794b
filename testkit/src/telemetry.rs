//! Log output for tests: captured per test by libtest, or live on stdout with `TEST_LOG`.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// Filter used when `RUST_LOG` is not set: our crates in detail, dependencies quiet.
const DEFAULT_FILTER: &str = "info,tunemesh=debug";

/// Installs a global `tracing` subscriber once per test process; later calls do nothing.
///
/// By default output goes through libtest's capture, so it is shown only for failing tests.
/// With `TEST_LOG` set (any value) it goes straight to stdout, e.g.
/// `TEST_LOG=1 cargo test -p tunemesh-playlist -- --nocapture`. `RUST_LOG` overrides the
/// filter. If another subscriber is already installed, that one is kept.
pub fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        let builder = tracing_subscriber::fmt().with_env_filter(filter);
        // Losing to an already installed subscriber is fine: logs still go somewhere.
        let _ = if std::env::var_os("TEST_LOG").is_some() {
            builder.with_writer(std::io::stdout).try_init()
        } else {
            builder.with_test_writer().try_init()
        };
    });
}
