//! `POST /v1/playback/report`: play progress, forwarded to `PlayerService.ReportPlayback`.

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Authenticated;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::model::playback::{PlaybackReport, PlaybackReportResult};
use crate::state::AppState;

/// The play reports route, for a signed-in caller.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default().routes(routes!(report))
}

/// Reports the progress of a play session; idempotent per (`play_session_id`, `sequence`).
#[utoipa::path(
    post, path = "/v1/playback/report", tag = "playback",
    request_body = PlaybackReport,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlaybackReportResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "unknown track", body = ErrorBody),
        (status = 412, description = "the session already ended", body = ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    ApiJson(report): ApiJson<PlaybackReport>,
) -> Result<Json<PlaybackReportResult>, ApiError> {
    let request = report.into_proto()?;
    let answer = state
        .player()
        .call(&caller, request, async |c, r| c.report_playback(r).await)
        .await?;
    Ok(Json(answer.into()))
}
