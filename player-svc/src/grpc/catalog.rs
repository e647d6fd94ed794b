//! `catalog.v1.CatalogService`.

use tokio::sync::watch;
use tunemesh_proto::catalog::v1::catalog_service_server::CatalogService;
use tunemesh_proto::catalog::v1::list_tracks_request::Filter;
use tunemesh_proto::catalog::v1::*;
use tunemesh_proto::tonic::{self, Request, Response, Status};
use tunemesh_runtime::ServiceError as _;
use tunemesh_runtime::identity::MeshIdentity;

use super::caller;
use crate::catalog::Catalog;
use crate::convert;
use crate::covers::Covers;
use crate::library_status::LibraryStatus;
use crate::store::TrackFilter;

/// `CatalogService` over the [`Catalog`].
#[derive(Debug, Clone)]
pub(crate) struct CatalogApi {
    catalog: Catalog,
    covers: Covers,
    library: watch::Receiver<LibraryStatus>,
    identity: MeshIdentity,
}

impl CatalogApi {
    /// The API of `catalog`, `covers` and the library watcher's `library` status, for callers
    /// verified by `identity`.
    pub(crate) fn new(
        catalog: Catalog,
        covers: Covers,
        library: watch::Receiver<LibraryStatus>,
        identity: MeshIdentity,
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
        };
        let (items, next_page_token, n) = self
            .catalog
            .list_tracks(filter, r.page_size, &r.page_token)
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
        let (items, next_page_token, n) = self
            .catalog
            .list_albums(&r.artist_id, r.page_size, &r.page_token)
            .await
            .map_err(|e| e.to_status())?;
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
            .list_artists(r.page_size, &r.page_token)
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
}
