//! The REST routes, one file per area.

pub mod auth;
pub mod catalog;
pub mod discover;
pub mod history;
pub mod images;
pub mod library;
pub mod play_queue;
pub mod playback;
pub mod playlists;
pub mod subsonic_passwords;
pub mod uploads;
pub mod web;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

/// Longest page token passed on; the services' tokens are far shorter.
const PAGE_TOKEN_MAX: usize = 1024;
/// The services lower larger pages to this.
const PAGE_SIZE_MAX: i32 = 500;

/// Paging query parameters shared by the list routes.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Items per page, 1 to 500; the service's default (50) when absent.
    pub page_size: Option<i32>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

impl Paging {
    /// `(page_size, page_token)` for a list request, after bounds checks.
    pub fn checked(self) -> Result<(i32, String), ApiError> {
        let size = self.page_size.unwrap_or(0);
        if self.page_size.is_some() && !(1..=PAGE_SIZE_MAX).contains(&size) {
            return Err(ApiError::invalid(format!(
                "page_size must be between 1 and {PAGE_SIZE_MAX}"
            )));
        }
        Ok((size, check_page_token(self.page_token)?))
    }
}

/// A page token to pass on ("" for the first page), after bounds checks.
pub fn check_page_token(token: Option<String>) -> Result<String, ApiError> {
    let token = token.unwrap_or_default();
    if token.len() > PAGE_TOKEN_MAX || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "page_token is not a token this api issued",
        ));
    }
    Ok(token)
}
