//! What the route handlers share: accounts, media, and typed handles of the services behind
//! the gateway (`crate::upstream`).

use std::sync::Arc;

use axum::extract::FromRef;
use tunemesh_discovery::Mesh;
use tunemesh_runtime::blobs::Blobs;
use tunemesh_runtime::identity::AssertionSigner;

use crate::auth::Auth;
use crate::images::Images;
use crate::media::{Media, MediaTokens};
use crate::settings::{GatewaySettings, UploadSettings};
use crate::subsonic::Subsonic;
use crate::upstream::{
    CatalogClient, IngestClient, PlayerClient, PlaylistClient, RecoClient, SearchClient, Upstream,
    Upstreams,
};

/// The state of every handler; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: Auth,
    media: Media,
    images: Images,
    upstreams: Upstreams,
    uploads: UploadSettings,
    subsonic: Subsonic,
}

impl AppState {
    /// State over the given parts.
    pub(crate) fn new(
        auth: Auth,
        subsonic: Subsonic,
        (media, blobs): (MediaTokens, Option<Blobs>),
        signer: AssertionSigner,
        mesh: Mesh,
        settings: &GatewaySettings,
    ) -> Self {
        let upstreams = Upstreams::new(mesh, signer, settings);
        Self {
            inner: Arc::new(Inner {
                auth,
                media: Media::new(upstreams.clone(), media, blobs, settings),
                images: Images::new(upstreams.clone(), &settings.images),
                upstreams,
                uploads: settings.uploads.clone(),
                subsonic,
            }),
        }
    }

    /// Audio delivery: its routes' state, links and stream caps.
    pub fn media(&self) -> &Media {
        &self.inner.media
    }

    /// Cover images: fetched, resized, cached.
    pub fn images(&self) -> &Images {
        &self.inner.images
    }

    /// The Subsonic API and app passwords.
    pub(crate) fn subsonic(&self) -> &Subsonic {
        &self.inner.subsonic
    }

    /// Accounts and sessions.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The catalogue (player-svc).
    pub fn catalog(&self) -> Upstream<CatalogClient> {
        self.inner.upstreams.catalog()
    }

    /// Adding files to the catalogue (player-svc).
    pub fn ingest(&self) -> Upstream<IngestClient> {
        self.inner.upstreams.ingest()
    }

    /// The bounds of an upload.
    pub fn uploads(&self) -> &UploadSettings {
        &self.inner.uploads
    }

    /// Audio and play reports (player-svc).
    pub fn player(&self) -> Upstream<PlayerClient> {
        self.inner.upstreams.player()
    }

    /// Playlists and liked songs (playlist-svc).
    pub fn playlists(&self) -> Upstream<PlaylistClient> {
        self.inner.upstreams.playlists()
    }

    /// Search (search-svc).
    pub fn search(&self) -> Upstream<SearchClient> {
        self.inner.upstreams.search()
    }

    /// Recommendations (reco-svc).
    pub fn reco(&self) -> Upstream<RecoClient> {
        self.inner.upstreams.reco()
    }
}

/// The media routes take only their own state, so `crate::media` never names `AppState`.
impl FromRef<AppState> for Media {
    fn from_ref(state: &AppState) -> Self {
        state.inner.media.clone()
    }
}
