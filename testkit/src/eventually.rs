//! Polling instead of sleeping: wait for a condition with a deadline, then fail loudly.
//!
//! Both forms poll every [`POLL_INTERVAL`] on tokio's clock, so they also work in tests that
//! pause time (`tokio::time::pause()`), where the clock jumps instead of the test waiting.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is re-evaluated.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Asserts that a condition becomes true within a timeout, re-evaluating it every
/// [`POLL_INTERVAL`]; panics with the message, the condition's text and the elapsed time.
///
/// Use it inside an async test. The condition is an expression evaluated in an async
/// context, so it may contain `.await` directly, and it may be an `async { .. }` block:
///
/// ```no_run
/// # use std::sync::atomic::{AtomicBool, Ordering};
/// # use std::time::Duration;
/// # use tunemesh_testkit::assert_eventually;
/// # struct Client;
/// # impl Client { async fn count(&self) -> anyhow::Result<u32> { Ok(3) } }
/// # async fn example(client: Client, flag: AtomicBool) {
/// assert_eventually!(client.count().await.unwrap_or(0) == 3, timeout = Duration::from_secs(5));
/// assert_eventually!(
///     async { client.count().await.unwrap_or(0) == 3 },
///     timeout = Duration::from_secs(5),
///     "reco model never saw {} plays",
///     3,
/// );
/// assert_eventually!(flag.load(Ordering::SeqCst)); // default timeout: 10 s
/// # }
/// ```
///
/// A condition still pending when the timeout expires is abandoned and counts as false.
/// `?` inside the condition is not supported (it has no function to return from); map
/// errors to `false` instead.
#[macro_export]
macro_rules! assert_eventually {
    (async $(move)? $body:block $($rest:tt)*) => {
        $crate::assert_eventually!(@poll (async $body).await $($rest)*)
    };
    (@poll $cond:expr, timeout = $timeout:expr $(,)?) => {
        $crate::assert_eventually!(@poll $cond, timeout = $timeout, "condition not met")
    };
    (@poll $cond:expr, timeout = $timeout:expr, $($msg:tt)+) => {{
        let timeout: ::std::time::Duration = $timeout;
        let started = $crate::__private::Instant::now();
        loop {
            let remaining = timeout.saturating_sub(started.elapsed());
            let met = $crate::__private::timeout(remaining, async { $cond }).await;
            if ::std::matches!(met, ::std::result::Result::Ok(true)) {
                break;
            }
            if started.elapsed() >= timeout {
                ::std::panic!(
                    "assert_eventually failed after {:?} (timeout {:?}): {}\n  condition: {}",
                    started.elapsed(),
                    timeout,
                    ::std::format_args!($($msg)+),
                    ::std::stringify!($cond),
                );
            }
            $crate::__private::sleep($crate::POLL_INTERVAL).await;
        }
    }};
    (@poll $cond:expr $(,)?) => {
        $crate::assert_eventually!(@poll $cond, timeout = $crate::DEFAULT_TIMEOUT)
    };
    (@poll $cond:expr, $($msg:tt)+) => {
        $crate::assert_eventually!(@poll $cond, timeout = $crate::DEFAULT_TIMEOUT, $($msg)+)
    };
    ($cond:expr $(, $($rest:tt)*)?) => {
        $crate::assert_eventually!(@poll $cond $(, $($rest)*)?)
    };
}

/// Timeout of [`assert_eventually!`] when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls `attempt` every [`POLL_INTERVAL`] until it returns `Ok`, and returns that value.
///
/// An `Err` (any error convertible to `anyhow::Error`) means "not yet"; when `timeout` expires the last error is returned with the
/// elapsed time and attempt count as context, so a failing test says why it kept failing:
///
/// ```no_run
/// # use std::time::Duration;
/// # use anyhow::Context as _;
/// # use tunemesh_testkit::eventually;
/// # struct Store;
/// # impl Store { async fn find(&self, id: u32) -> anyhow::Result<Option<String>> { Ok(None) } }
/// # async fn example(store: Store, id: u32) -> anyhow::Result<()> {
/// let row = eventually(Duration::from_secs(5), || async {
///     store.find(id).await?.context("not indexed yet")
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
///
/// An attempt still running when the timeout expires is abandoned.
pub async fn eventually<T, E, F, Fut>(timeout: Duration, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<anyhow::Error>,
{
    let started = Instant::now();
    let mut attempts = 0_u32;
    loop {
        attempts += 1;
        let remaining = timeout.saturating_sub(started.elapsed());
        let error = match tokio::time::timeout(remaining, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error.into(),
            Err(_) => anyhow::anyhow!("attempt still pending at the deadline"),
        };
        if started.elapsed() >= timeout {
            let elapsed = started.elapsed();
            return Err(error.context(format!(
                "not reached after {elapsed:?} (timeout {timeout:?}, {attempts} attempts)"
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
