//! `tunemesh up`'s mode: the model in memory, fed by the embedded bus, rebuilt by replaying
//! that bus from the start whenever the service starts again.

use std::sync::Arc;
use std::time::Duration;

use tunemesh_discovery::{EmbeddedRegistry, Mesh, MeshSettings};
use tunemesh_events::Envelope;
use tunemesh_events::EventBus;
use tunemesh_events::embedded::{EmbeddedBus, EmbeddedSettings};
use tunemesh_proto::reco::v1::RecommendRequest;
use tunemesh_proto::reco::v1::recommendation_service_client::RecommendationServiceClient;
use tunemesh_proto::tonic::{self, Request};
use tunemesh_reco::RecoSettings;
use tunemesh_runtime::identity::{Caller, IdentitySettings, MeshIdentity};
use tunemesh_runtime::{ServiceContext, Storage};
use tunemesh_testkit::{grpc_settings, spawn_app};

use crate::support::{play, seed_sessions_on};

/// Recommendations for `user` from a fresh embedded service on `bus`, once it has replayed.
async fn answers_of_a_fresh_start(
    bus: Arc<dyn EventBus>,
    data: &std::path::Path,
    user: &str,
) -> anyhow::Result<Vec<String>> {
    let identity = MeshIdentity::new(&IdentitySettings::for_tests()).expect("a test secret");
    let ctx = ServiceContext {
        grpc: grpc_settings(),
        storage: Storage::Embedded {
            data_dir: data.to_owned(),
        },
        identity: identity.clone(),
        mesh: Mesh::new(Arc::new(EmbeddedRegistry::new()), MeshSettings::default()),
    };
    let app = spawn_app(
        tunemesh_reco::build(&RecoSettings::default(), &ctx, bus).await?,
        None,
    );
    let client = RecommendationServiceClient::new(app.channel().await?);
    let ask = || {
        let mut client = client.clone();
        let mut request = Request::new(RecommendRequest {
            limit: 10,
            exclude_track_ids: Vec::new(),
        });
        let caller = Caller {
            user_id: user.to_owned(),
            roles: Vec::new(),
        };
        let attached = identity.attach(&caller, request.metadata_mut());
        async move {
            attached.map_err(tonic::Status::from)?;
            client.recommend(request).await
        }
    };
    // UNAVAILABLE until the replay has caught up.
    let answer = tunemesh_testkit::eventually(Duration::from_secs(30), || async {
        ask().await.map(tonic::Response::into_inner)
    })
    .await?;
    app.stop().await?;
    Ok(answer
        .recommendations
        .into_iter()
        .map(|r| r.track_id)
        .collect())
}

#[tokio::test]
async fn an_embedded_restart_rebuilds_the_model_from_the_bus() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let bus: Arc<dyn EventBus> = Arc::new(
        EmbeddedBus::open(&EmbeddedSettings::new(data.path().join("events.sqlite"))).await?,
    );
    seed_sessions_on(&bus, &[&["a1", "a2", "a3"], &["b1", "b2"]]).await?;
    bus.publish(&Envelope::from_event(&play("listener", "b1"))?)
        .await?;
    let first = answers_of_a_fresh_start(bus.clone(), data.path(), "listener").await?;
    assert_eq!(first.first().map(String::as_str), Some("b2"), "{first:?}");
    let again = answers_of_a_fresh_start(bus, data.path(), "listener").await?;
    assert_eq!(first, again);
    Ok(())
}
