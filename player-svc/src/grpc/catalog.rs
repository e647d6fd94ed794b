//! `catalog.v1.CatalogService`.

use tokio::sync::watch;
use tunemesh_proto::catalog::v1::catalog_service_server::CatalogService;
use tunemesh_proto::catalog::v1::list_tracks_request::Filter;
use tunemesh_proto::catalog::v1::*;
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::ServiceError as _;
use tunemesh_runtime::identity::Verifier;

use super::caller;
use crate::catalog::Catalog;
use crate::convert;
use crate::covers::Covers;
use crate::library_status::LibraryStatus;
use crate::listings::AlbumListing;
use crate::store::{self, TrackFilter, TrackSample};

/// `CatalogService` over the [`Catalog`].
#[derive(Debug, Clone)]
pub(crate) struct CatalogApi {
    catalog: Catalog,
    covers: Covers,
    library: watch::Receiver<LibraryStatus>,
    identity: Verifier,
}

impl CatalogApi {
    /// The API of `catalog`, `covers` and the library watcher's `library` status, for callers
    /// verified by `identity`.
    pub(crate) fn new(
        catalog: Catalog,
        covers: Covers,
        library: watch::Receiver<LibraryStatus>,
        identity: Verifier,
    ) -> Self {
        Self {
            catalog,
            covers,
            library,
            identity,
        }
    }
}

fn total(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn get_track(
        &self,
        request: Request<GetTrackRequest>,
    ) -> Result<Response<GetTrackResponse>, Status> {
        caller(&self.identity, &request)?;
        let t = self.catalog.track(&request.get_ref().track_id).await;
        let track = t.map_err(|e| e.to_status())?;
        Ok(Response::new(GetTrackResponse {
            track: Some(convert::track(&track)),
        }))
    }

    async fn batch_get_tracks(
        &self,
        request: Request<BatchGetTracksRequest>,
    ) -> Result<Response<BatchGetTracksResponse>, Status> {
        caller(&self.identity, &request)?;
        let ids = &request.get_ref().track_ids;
        let (found, missing) = self
            .catalog
            .batch_tracks(ids)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(BatchGetTracksResponse {
            tracks: found.iter().map(convert::track).collect(),
            missing_track_ids: missing,
        }))
    }

    async fn list_tracks(
        &self,
        request: Request<ListTracksRequest>,
    ) -> Result<Response<ListTracksResponse>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let filter = match r.filter {
            None => TrackFilter::All,
            Some(Filter::AlbumId(id)) => TrackFilter::Album(id),
            Some(Filter::ArtistId(id)) => TrackFilter::Artist(id),
            Some(Filter::Genre(genre)) => TrackFilter::Genre(genre),
        };
        let (items, next_page_token, n) = self
            .catalog
            .list_tracks(filter, r.page_size, &r.page_token, r.offset)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(ListTracksResponse {
            tracks: items.iter().map(convert::track).collect(),
            next_page_token,
            total_size: total(n),
        }))
    }

    async fn get_album(
        &self,
        request: Request<GetAlbumRequest>,
    ) -> Result<Response<GetAlbumResponse>, Status> {
        caller(&self.identity, &request)?;
        let album = self
            .catalog
            .album(&request.get_ref().album_id)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(GetAlbumResponse {
            album: Some(convert::album(&album)),
        }))
    }

    async fn batch_get_albums(
        &self,
        request: Request<BatchGetAlbumsRequest>,
    ) -> Result<Response<BatchGetAlbumsResponse>, Status> {
        caller(&self.identity, &request)?;
        let ids = &request.get_ref().album_ids;
        let (found, missing) = self
            .catalog
            .batch_albums(ids)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(BatchGetAlbumsResponse {
            albums: found.iter().map(convert::album).collect(),
            missing_album_ids: missing,
        }))
    }

    async fn list_albums(
        &self,
        request: Request<ListAlbumsRequest>,
    ) -> Result<Response<ListAlbumsResponse>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let listing = AlbumListing {
            order: album_order(r.order()),
            from_year: r.from_year,
            to_year: r.to_year,
            genre: r.genre.clone(),
        };
        let listed = if listing.by_position() {
            if !r.artist_id.is_empty() {
                return Err(Status::invalid_argument(
                    "artist_id must be empty with an order, a year range or a genre",
                ));
            }
            let catalog = &self.catalog;
            catalog
                .list_albums_by_position(&listing, r.page_size, &r.page_token, r.offset)
                .await
        } else {
            let catalog = &self.catalog;
            catalog
                .list_albums(&r.artist_id, r.page_size, &r.page_token, r.offset)
                .await
        };
        let (items, next_page_token, n) = listed.map_err(|e| e.to_status())?;
        Ok(Response::new(ListAlbumsResponse {
            albums: items.iter().map(convert::album).collect(),
            next_page_token,
            total_size: total(n),
        }))
    }

    async fn get_artist(
        &self,
        request: Request<GetArtistRequest>,
    ) -> Result<Response<GetArtistResponse>, Status> {
        caller(&self.identity, &request)?;
        let artist = self
            .catalog
            .artist(&request.get_ref().artist_id)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(GetArtistResponse {
            artist: Some(convert::artist(&artist)),
        }))
    }

    async fn batch_get_artists(
        &self,
        request: Request<BatchGetArtistsRequest>,
    ) -> Result<Response<BatchGetArtistsResponse>, Status> {
        caller(&self.identity, &request)?;
        let ids = &request.get_ref().artist_ids;
        let (found, missing) = self
            .catalog
            .batch_artists(ids)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(BatchGetArtistsResponse {
            artists: found.iter().map(convert::artist).collect(),
            missing_artist_ids: missing,
        }))
    }

    async fn list_artists(
        &self,
        request: Request<ListArtistsRequest>,
    ) -> Result<Response<ListArtistsResponse>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let (items, next_page_token, n) = self
            .catalog
            .list_artists(r.page_size, &r.page_token, r.offset)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(ListArtistsResponse {
            artists: items.iter().map(convert::artist).collect(),
            next_page_token,
            total_size: total(n),
        }))
    }

    async fn get_image(
        &self,
        request: Request<GetImageRequest>,
    ) -> Result<Response<GetImageResponse>, Status> {
        caller(&self.identity, &request)?;
        let (data, media_type) = self
            .covers
            .get(&request.get_ref().image_id)
            .await
            .map_err(|e| e.to_status())?;
        Ok(Response::new(GetImageResponse {
            data,
            media_type: media_type.to_owned(),
        }))
    }

    async fn get_library_status(
        &self,
        request: Request<GetLibraryStatusRequest>,
    ) -> Result<Response<GetLibraryStatusResponse>, Status> {
        caller(&self.identity, &request)?;
        let status = *self.library.borrow();
        Ok(Response::new(status.into()))
    }

    async fn sample_tracks(
        &self,
        request: Request<SampleTracksRequest>,
    ) -> Result<Response<SampleTracksResponse>, Status> {
        caller(&self.identity, &request)?;
        let r = request.into_inner();
        let sample = TrackSample {
            genre: (!r.genre.is_empty()).then_some(r.genre),
            from_year: r.from_year,
            to_year: r.to_year,
        };
        let tracks = self.catalog.sample_tracks(r.size, &sample).await;
        Ok(Response::new(SampleTracksResponse {
            tracks: tracks
                .map_err(|e| e.to_status())?
                .iter()
                .map(convert::track)
                .collect(),
        }))
    }

    async fn sample_albums(
        &self,
        request: Request<SampleAlbumsRequest>,
    ) -> Result<Response<SampleAlbumsResponse>, Status> {
        caller(&self.identity, &request)?;
        let albums = self.catalog.sample_albums(request.get_ref().size).await;
        Ok(Response::new(SampleAlbumsResponse {
            albums: albums
                .map_err(|e| e.to_status())?
                .iter()
                .map(convert::album)
                .collect(),
        }))
    }

    async fn list_genres(
        &self,
        request: Request<ListGenresRequest>,
    ) -> Result<Response<ListGenresResponse>, Status> {
        caller(&self.identity, &request)?;
        let genres = self.catalog.genres().await.map_err(|e| e.to_status())?;
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(ListGenresResponse {
            genres: genres
                .into_iter()
                .map(|g| Genre {
                    name: g.name,
                    track_count: count(g.track_count),
                    album_count: count(g.album_count),
                })
                .collect(),
        }))
    }
}

/// The store's order for the contract's; unspecified is the keyset listing's own.
fn album_order(order: AlbumOrder) -> Option<store::AlbumOrder> {
    match order {
        AlbumOrder::Unspecified => None,
        AlbumOrder::Newest => Some(store::AlbumOrder::Newest),
        AlbumOrder::Title => Some(store::AlbumOrder::Title),
        AlbumOrder::Artist => Some(store::AlbumOrder::Artist),
        AlbumOrder::Year => Some(store::AlbumOrder::Year),
        AlbumOrder::YearDescending => Some(store::AlbumOrder::YearDescending),
    }
}
