//! The breaker's state machine under paused time.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use tower::ServiceExt;
use tower::load::Constant;

use super::*;
use crate::mesh::classify::MeshDeadline;

type Response = http::Response<tonic::body::Body>;

/// A breaker over an endpoint that fails while `failing` is set; its inner load is `load`.
fn loaded(
    failing: Arc<AtomicBool>,
    load: u32,
) -> Breaker<impl Service<(), Response = Response, Error = BoxError> + Load<Metric = u32>> {
    let endpoint = tower::service_fn(move |()| {
        let fail = failing.load(Ordering::SeqCst);
        async move {
            match fail {
                true => Err::<Response, BoxError>("connection refused".into()),
                false => Ok(http::Response::new(tonic::body::Body::empty())),
            }
        }
    });
    let labels = EndpointLabels {
        service: "svc".into(),
        endpoint: "127.0.0.1:1".into(),
    };
    BreakerLayer::new(BreakerSettings::default(), labels).layer(Constant::new(endpoint, load))
}

fn breaker(
    failing: Arc<AtomicBool>,
) -> Breaker<impl Service<(), Response = Response, Error = BoxError> + Load<Metric = u32>> {
    loaded(failing, 0)
}

fn is_ready<R, S: Service<R>>(breaker: &mut S) -> bool {
    breaker.ready().now_or_never().is_some()
}

async fn call<S: Service<(), Error = BoxError>>(breaker: &mut S) -> bool {
    breaker.ready().await.is_ok() && breaker.call(()).await.is_ok()
}

#[tokio::test(start_paused = true)]
async fn seven_failures_open_the_breaker_and_one_probe_closes_it() {
    let failing = Arc::new(AtomicBool::new(true));
    let mut breaker = breaker(failing.clone());
    for _ in 0..7 {
        assert!(is_ready(&mut breaker));
        assert!(!call(&mut breaker).await);
    }
    assert!(!is_ready(&mut breaker), "open: pending, not an error");

    // Penalty 1 s plus up to 50 % jitter.
    tokio::time::advance(Duration::from_millis(1_600)).await;
    failing.store(false, Ordering::SeqCst);
    assert!(is_ready(&mut breaker), "half open after the penalty");
    let probe = breaker.call(());
    assert!(!is_ready(&mut breaker), "one probe at a time");
    assert!(probe.await.is_ok());
    assert!(is_ready(&mut breaker), "a good probe closes the breaker");
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_doubles_the_penalty() {
    let failing = Arc::new(AtomicBool::new(true));
    let mut breaker = breaker(failing.clone());
    for _ in 0..7 {
        call(&mut breaker).await;
    }
    tokio::time::advance(Duration::from_millis(1_600)).await;
    assert!(!call(&mut breaker).await, "the probe fails");

    tokio::time::advance(Duration::from_millis(1_600)).await;
    assert!(!is_ready(&mut breaker), "second penalty is at least 2 s");
    tokio::time::advance(Duration::from_millis(1_500)).await;
    assert!(is_ready(&mut breaker), "and at most 3 s");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_probe_lets_another_one_through() {
    let failing = Arc::new(AtomicBool::new(true));
    let mut breaker = breaker(failing.clone());
    for _ in 0..7 {
        call(&mut breaker).await;
    }
    tokio::time::advance(Duration::from_millis(1_600)).await;
    assert!(is_ready(&mut breaker));
    drop(breaker.call(()));
    assert!(is_ready(&mut breaker), "an abandoned probe frees the slot");
}

#[tokio::test(start_paused = true)]
async fn a_recent_failure_ranks_the_endpoint_behind_slower_healthy_ones() {
    let failing = Arc::new(AtomicBool::new(true));
    let mut fast = loaded(failing.clone(), 1);
    let slow = loaded(Arc::new(AtomicBool::new(false)), 1_000);
    assert!(fast.load() < slow.load());

    assert!(!call(&mut fast).await);
    assert!(fast.load() > slow.load(), "one failure ranks it last");
    tokio::time::advance(Duration::from_millis(1_100)).await;
    assert!(
        fast.load() < slow.load(),
        "the ranking penalty lasts one breaker penalty"
    );

    assert!(!call(&mut fast).await);
    failing.store(false, Ordering::SeqCst);
    assert!(call(&mut fast).await);
    assert!(fast.load() < slow.load(), "a success clears it");
}

/// A breaker over an endpoint that never answers, called with requests bound by the mesh's
/// own deadline.
fn hung() -> Breaker<impl Service<MeshDeadline, Response = Response, Error = BoxError>> {
    let endpoint = tower::service_fn(|_: MeshDeadline| {
        futures::future::pending::<Result<Response, BoxError>>()
    });
    let labels = EndpointLabels {
        service: "svc".into(),
        endpoint: "127.0.0.1:1".into(),
    };
    BreakerLayer::new(BreakerSettings::default(), labels).layer(endpoint)
}

#[tokio::test(start_paused = true)]
async fn calls_that_hang_until_the_mesh_deadline_open_the_breaker_but_cancelled_ones_do_not() {
    let mut breaker = hung();
    let timeout = Duration::from_secs(3);
    for _ in 0..7 {
        // Cancelled by the caller long before the deadline: says nothing about the endpoint.
        let deadline = MeshDeadline(Instant::now() + timeout);
        let call = breaker.ready().await.map(|b| b.call(deadline));
        tokio::time::advance(Duration::from_millis(10)).await;
        drop(call);
    }
    assert!(is_ready(&mut breaker), "cancellations never open it");
    for _ in 0..7 {
        let deadline = MeshDeadline(Instant::now() + timeout);
        let call = breaker.ready().await.map(|b| b.call(deadline));
        assert!(
            tokio::time::timeout_at(deadline.0, call.expect("ready"))
                .await
                .is_err()
        );
    }
    assert!(!is_ready(&mut breaker), "seven hung calls open it");
}
