//! `getScanStatus` and `startScan`: the music folder's scan as Subsonic apps show it.
//!
//! tunemesh rescans its music folder on its own (`player.rescan_interval`, 30 s by default),
//! so `startScan` starts nothing: it answers the scan's status like `getScanStatus`, for the
//! admin only, as the spec requires of it. `count` is the number of songs in the catalogue.

use tunemesh_proto::catalog::v1 as pb;

use super::error::SubsonicError;
use super::methods::{Ctx, Method, handler};
use super::response::{Payload, ScanStatus};

/// This area's methods.
pub(crate) const TABLE: &[(&str, Method)] = &[
    ("getScanStatus", handler!(get_scan_status)),
    ("startScan", handler!(start_scan)),
];

async fn get_scan_status(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    let status = (ctx.state.catalog())
        .call(
            ctx.identity(),
            pb::GetLibraryStatusRequest {},
            async |c, r| c.get_library_status(r).await,
        )
        .await?;
    let request = pb::ListTracksRequest {
        page_size: 1,
        page_token: String::new(),
        filter: None,
        ..Default::default()
    };
    let count = (ctx.state.catalog())
        .call(ctx.identity(), request, async |c, r| c.list_tracks(r).await)
        .await?
        .total_size;
    Ok(Payload::ScanStatus(ScanStatus {
        scanning: status.scanning,
        count: i64::from(count.max(0)),
    }))
}

async fn start_scan(ctx: &Ctx<'_>) -> Result<Payload, SubsonicError> {
    if !ctx.caller.is_admin() {
        return Err(SubsonicError::NotAuthorized(
            "only the admin may start a scan (tunemesh rescans the music folder on its own)".into(),
        ));
    }
    get_scan_status(ctx).await
}
