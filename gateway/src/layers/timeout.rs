//! A bound on the time from a request's arrival to its response headers, answered with the
//! JSON 504 of the error table rather than a bare status.

use std::time::Duration;

use axum::BoxError;
use axum::error_handling::HandleErrorLayer;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::timeout::TimeoutLayer;
use tunemesh_runtime::ErrorCode;

use crate::error::ApiError;

type Layer<F> = ServiceBuilder<Stack<TimeoutLayer, Stack<HandleErrorLayer<F, ()>, Identity>>>;

/// The layer, for `timeout`.
pub(crate) fn layer(
    timeout: Duration,
) -> Layer<impl Fn(BoxError) -> std::future::Ready<ApiError> + Clone> {
    ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|error: BoxError| {
            std::future::ready(classify(&error))
        }))
        .layer(TimeoutLayer::new(timeout))
}

fn classify(error: &BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(ErrorCode::DeadlineExceeded, "the request took too long")
    } else {
        ApiError::internal(error.as_ref())
    }
}
