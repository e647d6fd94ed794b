//! `tunemesh migrate`: applies the services' PostgreSQL migrations and reports what it
//! applied, so an operator can migrate ahead of a rollout. They are the same steps, history
//! tables and advisory lock each service uses at start (`tunemesh_runtime::migrate`), so it
//! is safe to run while replicas start, and a no-op on an up-to-date database.

use anyhow::Context as _;
use tunemesh_runtime::migrate::{self, Applied, Migrations};
use tunemesh_runtime::postgres::{self, PostgresSettings};

use crate::cli::ServiceName;

/// The PostgreSQL migrations of `service`; `None` for a service without a database.
pub fn migrations(service: ServiceName) -> Option<&'static Migrations> {
    match service {
        ServiceName::Player => Some(&tunemesh_player::store::postgres::MIGRATIONS),
        ServiceName::Playlist => Some(&tunemesh_playlist::store::postgres::MIGRATIONS),
        ServiceName::Gateway => Some(&tunemesh_gateway::accounts::POSTGRES_MIGRATIONS),
        ServiceName::Search | ServiceName::Reco => None,
    }
}

/// Applies the migrations of `services` (every service with a database when empty) to the
/// database `postgres` names, in order, stopping at the first failure.
pub async fn run(
    postgres: &PostgresSettings,
    services: &[ServiceName],
) -> anyhow::Result<Vec<Applied>> {
    let all = [
        ServiceName::Player,
        ServiceName::Playlist,
        ServiceName::Gateway,
    ];
    let chosen = if services.is_empty() { &all } else { services };
    let sets = chosen
        .iter()
        .map(|&service| {
            migrations(service)
                .with_context(|| format!("{} has no database to migrate", name(service)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pool = postgres::connect(postgres).await?;
    let mut applied = Vec::new();
    for set in sets {
        applied.push(migrate::postgres(&pool, set).await?);
    }
    Ok(applied)
}

fn name(service: ServiceName) -> String {
    format!("{service:?}").to_lowercase()
}

/// One line per service: what it applied, or that it was up to date.
pub fn summary(applied: &Applied) -> String {
    if applied.steps.is_empty() {
        format!("{}: up to date", applied.service)
    } else {
        format!("{}: applied {}", applied.service, applied.steps.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    /// A fresh database gets every service's steps, and a second run applies nothing.
    #[tokio::test]
    async fn migrate_applies_every_service_once() -> anyhow::Result<()> {
        let db = tunemesh_testkit::test_database().await?;
        let settings = PostgresSettings {
            url: SecretString::from(db.url()),
            max_connections: 2,
            ..PostgresSettings::default()
        };
        let first = run(&settings, &[]).await?;
        let lines: Vec<String> = first.iter().map(summary).collect();
        assert_eq!(
            lines,
            [
                "player: applied V1__catalog, V2__event_outbox, V3__album_orders, V4__manifests, V5__catalogue_counts",
                "playlist: applied V1__playlists, V2__event_outbox, V3__backfills, V4__generated_playlists, V5__liked_items_and_play_queues, V6__durations, V7__add_requests",
                "gateway: applied V1__accounts, V2__first_admin, V3__subsonic_passwords, V4__subsonic_legacy_tokens",
            ]
        );
        let second = run(&settings, &[ServiceName::Playlist]).await?;
        assert_eq!(
            second.iter().map(summary).collect::<Vec<_>>(),
            ["playlist: up to date"]
        );
        let again = run(&settings, &[]).await?;
        assert!(again.iter().all(|a| a.steps.is_empty()), "{again:?}");
        Ok(())
    }

    #[tokio::test]
    async fn a_service_without_a_database_is_refused() {
        let settings = PostgresSettings::default();
        let error = run(&settings, &[ServiceName::Player, ServiceName::Search])
            .await
            .expect_err("search has no database");
        assert_eq!(error.to_string(), "search has no database to migrate");
    }
}
