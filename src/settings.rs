//! The settings of the `tunemesh` binary: one struct, every section, each with defaults that
//! serve `tunemesh up`. Loaded by [`tunemesh_runtime::settings::load`].

use std::path::PathBuf;

use secrecy::ExposeSecret as _;
use serde::Deserialize;
use tunemesh_discovery::{ConsulSettings, MeshSettings};
use tunemesh_events::jetstream::JetStreamSettings;
use tunemesh_events::nats::NatsSettings;
use tunemesh_gateway::settings::SubsonicSettings;
use tunemesh_gateway::{AuthSettings, GatewaySettings};
use tunemesh_player::PlayerSettings;
use tunemesh_playlist::PlaylistSettings;
use tunemesh_reco::RecoSettings;
use tunemesh_runtime::admin::AdminSettings;
use tunemesh_runtime::grpc::GrpcServerSettings;
use tunemesh_runtime::identity::{AssertionSigner, IdentitySettings, MeshIdentity};
use tunemesh_runtime::postgres::PostgresSettings;
use tunemesh_runtime::redis::RedisSettings;
use tunemesh_runtime::secret::SecretError;
use tunemesh_runtime::telemetry::TelemetrySettings;
use tunemesh_search::SearchSettings;

/// Everything `tunemesh` can be configured with (`tunemesh.toml`, `TUNEMESH_*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where `tunemesh up` keeps its data: the embedded database, media, indexes.
    pub data_dir: PathBuf,
    /// Logs and trace export.
    pub telemetry: TelemetrySettings,
    /// `/metrics`, `/healthz`, `/readyz` of `tunemesh serve` and `tunemesh up` (the only place
    /// `/metrics` is served: never on the gateway's public port).
    pub admin: AdminSettings,
    /// The gRPC server of each service.
    pub grpc: GrpcServerSettings,
    /// Consul, the registry of `tunemesh serve`.
    pub consul: ConsulSettings,
    /// How services call each other.
    pub mesh: MeshSettings,
    /// The gateway's public keys, which services verify caller assertions with.
    pub identity: IdentitySettings,
    /// PostgreSQL, for the production adapters.
    pub postgres: PostgresSettings,
    /// Redis, for the production caches.
    pub redis: RedisSettings,
    /// NATS JetStream, the production event bus.
    pub nats: NatsSettings,
    /// The deployment's event stream: retention, dedup window, replicas (3 on a NATS cluster).
    pub jetstream: JetStreamSettings,
    /// The edge.
    pub gateway: GatewaySettings,
    /// player-svc.
    pub player: PlayerSettings,
    /// playlist-svc.
    pub playlist: PlaylistSettings,
    /// search-svc.
    pub search: SearchSettings,
    /// reco-svc.
    pub reco: RecoSettings,
}

impl Settings {
    /// Where `tunemesh up` keeps the secrets it generated (`data_dir/secrets/<name>`).
    pub fn up_secret_path(&self, name: &str) -> PathBuf {
        self.data_dir.join("secrets").join(name)
    }

    /// Checks the keys and secrets a process needs before it reaches anything: for a service,
    /// the gateway's public keys (it verifies caller assertions with them and holds no
    /// signing key); for the gateway, its assertion signing key, the access-token secret and
    /// the Subsonic lookup pepper, and its Subsonic seal keys if set (and that they differ,
    /// so one leaked key does not open two doors).
    pub fn check_secrets(&self, gateway: bool) -> anyhow::Result<()> {
        if !gateway {
            if !self.identity.has_keys() {
                anyhow::bail!(
                    "{} is not set: give the gateway's Ed25519 public key (PEM) in \
                     TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS or a file in \
                     TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS_FILES",
                    IdentitySettings::KEYS_SETTING
                );
            }
            MeshIdentity::new(&self.identity)?;
            return Ok(());
        }
        AssertionSigner::new(&self.gateway.assertion)?;
        let access = self.gateway.auth.keys()?;
        let pepper = self.gateway.subsonic.pepper()?;
        if pepper.expose_secret() == access.current.expose_secret() {
            return Err(SecretError::Shared {
                setting: SubsonicSettings::PEPPER_SETTING,
                other: AuthSettings::SECRET_SETTING,
            }
            .into());
        }
        // Optional (legacy token auth is off without it); when set, read and checked here
        // too, its entries when the gateway builds.
        if let Some(seal) = self.gateway.subsonic.seal_keys()? {
            for (other, name) in [
                (&access.current, AuthSettings::SECRET_SETTING),
                (&pepper, SubsonicSettings::PEPPER_SETTING),
            ] {
                if seal.expose_secret() == other.expose_secret() {
                    return Err(SecretError::Shared {
                        setting: SubsonicSettings::SEAL_KEYS_SETTING,
                        other: name,
                    }
                    .into());
                }
            }
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tunemesh-data"),
            telemetry: TelemetrySettings::default(),
            admin: AdminSettings::default(),
            grpc: GrpcServerSettings::default(),
            consul: ConsulSettings::default(),
            mesh: MeshSettings::default(),
            identity: IdentitySettings::default(),
            postgres: PostgresSettings::default(),
            redis: RedisSettings::default(),
            nats: NatsSettings::default(),
            jetstream: JetStreamSettings::default(),
            gateway: GatewaySettings::default(),
            player: PlayerSettings::default(),
            playlist: PlaylistSettings::default(),
            search: SearchSettings::default(),
            reco: RecoSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use tunemesh_runtime::SettingsSource;
    use tunemesh_runtime::settings::load;

    use super::*;

    #[test]
    fn defaults_load_without_any_source() {
        let settings: Settings = load(&SettingsSource::default()).expect("defaults");
        assert_eq!(settings.gateway.addr.port(), 8080);
        assert_eq!(settings.data_dir, PathBuf::from("tunemesh-data"));
    }

    #[test]
    fn the_event_stream_is_configured_from_the_environment() {
        let source = SettingsSource::from_env([
            ("TUNEMESH_JETSTREAM__REPLICAS", "3"),
            ("TUNEMESH_JETSTREAM__MAX_AGE", "90d"),
            (
                "TUNEMESH_NATS__URL",
                "nats://nats-0:4222,nats://nats-1:4222",
            ),
        ]);
        let settings: Settings = load(&source).expect("overrides");
        assert_eq!(settings.jetstream.replicas, 3);
        assert_eq!(
            settings.jetstream.max_age,
            std::time::Duration::from_secs(90 * 86_400)
        );
    }

    /// What k8s/overlays/prod sets for the infrastructure links parses as meant.
    #[test]
    fn the_prod_overlays_infrastructure_settings_load() {
        let source = SettingsSource::from_env([
            ("TUNEMESH_POSTGRES__SSLMODE", "verify-full"),
            (
                "TUNEMESH_POSTGRES__CA_FILE",
                "/etc/tunemesh/infra-ca/ca.crt",
            ),
            ("TUNEMESH_REDIS__REQUIRE_TLS", "true"),
            ("TUNEMESH_REDIS__CA_FILE", "/etc/tunemesh/infra-ca/ca.crt"),
            ("TUNEMESH_NATS__USER", "reco"),
            ("TUNEMESH_NATS__PASSWORD", "pw"),
            ("TUNEMESH_CONSUL__TOKEN_FILE", "/run/consul-token"),
        ]);
        let settings: Settings = load(&source).expect("overrides");
        assert_eq!(
            settings.postgres.sslmode,
            Some(tunemesh_runtime::postgres::SslMode::VerifyFull)
        );
        assert!(settings.redis.require_tls && settings.redis.ca_file.is_some());
        assert_eq!(settings.nats.user.as_deref(), Some("reco"));
        assert!(settings.nats.password.is_some() && settings.consul.token_file.is_some());
        let bad = SettingsSource::from_env([("TUNEMESH_POSTGRES__SSLMODE", "allow")]);
        assert!(
            load::<Settings>(&bad).is_err(),
            "allow is not a mode tunemesh honours"
        );
    }

    #[test]
    fn nested_sections_take_environment_overrides() {
        let source = SettingsSource::from_env([
            ("TUNEMESH_GATEWAY__ADDR", "127.0.0.1:9999"),
            ("TUNEMESH_GRPC__DRAIN_GRACE", "5s"),
            ("TUNEMESH_TELEMETRY__LOG_FORMAT", "json"),
        ]);
        let settings: Settings = load(&source).expect("overrides");
        assert_eq!(settings.gateway.addr.port(), 9999);
        assert_eq!(settings.grpc.drain_grace.as_secs(), 5);
    }

    #[test]
    fn secrets_come_from_files_and_must_differ() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (private, public) = tunemesh_runtime::identity::keys::generate_pair();
        let (signing, verifying) = (dir.path().join("signing"), dir.path().join("public"));
        std::fs::write(&signing, private.expose_secret()).expect("write");
        std::fs::write(&verifying, &public).expect("write");
        let (signing, verifying) = (
            signing.to_str().expect("utf-8"),
            verifying.to_str().expect("utf-8"),
        );
        let file = dir.path().join("key");
        std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").expect("write");
        let file = file.to_str().expect("utf-8");
        let source = SettingsSource::from_env([
            ("TUNEMESH_IDENTITY__GATEWAY_PUBLIC_KEYS_FILES", verifying),
            ("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY_FILE", signing),
            ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET_FILE", file),
            ("TUNEMESH_GATEWAY__SUBSONIC__LOOKUP_PEPPER_FILE", file),
        ]);
        let settings: Settings = load(&source).expect("loads");
        settings
            .check_secrets(false)
            .expect("the public key is read");
        let shared = settings.check_secrets(true).expect_err("pepper = jwt");
        assert!(
            shared
                .to_string()
                .contains("gateway.subsonic.lookup_pepper"),
            "{shared}"
        );
        let other = dir.path().join("other");
        std::fs::write(&other, "fedcba9876543210fedcba9876543210").expect("write");
        let other = other.to_str().expect("utf-8");
        let pepper = "a-subsonic-pepper-of-32-bytes-or-more-0123";
        let source = SettingsSource::from_env([
            ("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY_FILE", signing),
            ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET_FILE", other),
            ("TUNEMESH_GATEWAY__SUBSONIC__LOOKUP_PEPPER", pepper),
        ]);
        let settings: Settings = load(&source).expect("loads");
        settings
            .check_secrets(true)
            .expect("the seal keys are optional");
        let source = SettingsSource::from_env([
            ("TUNEMESH_GATEWAY__ASSERTION__SIGNING_KEY_FILE", signing),
            ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET_FILE", other),
            ("TUNEMESH_GATEWAY__SUBSONIC__LOOKUP_PEPPER", pepper),
            ("TUNEMESH_GATEWAY__SUBSONIC__SEAL_KEYS", pepper),
        ]);
        let settings: Settings = load(&source).expect("loads");
        let shared = settings
            .check_secrets(true)
            .expect_err("seal keys = pepper");
        assert!(
            shared.to_string().contains("gateway.subsonic.seal_keys"),
            "{shared}"
        );
        let source = SettingsSource::from_env([
            ("TUNEMESH_GATEWAY__AUTH__JWT_SECRET_FILE", other),
            ("TUNEMESH_GATEWAY__SUBSONIC__LOOKUP_PEPPER", pepper),
        ]);
        let settings: Settings = load(&source).expect("loads");
        let unsigned = settings.check_secrets(true).expect_err("no signing key");
        assert!(
            unsigned
                .to_string()
                .contains("gateway.assertion.signing_key"),
            "{unsigned}"
        );
        let none = Settings::default()
            .check_secrets(false)
            .expect_err("no public key");
        assert!(
            none.to_string().contains("identity.gateway_public_keys"),
            "{none}"
        );
    }

    #[test]
    fn a_service_never_holds_a_signing_key_setting() {
        // The services' section has no place for a private key: only the gateway's has.
        let source = SettingsSource::from_env([(
            "TUNEMESH_IDENTITY__SIGNING_KEY",
            "-----BEGIN PRIVATE KEY-----",
        )]);
        assert!(load::<Settings>(&source).is_err());
    }

    #[test]
    fn an_old_shared_mesh_secret_says_what_replaced_it() {
        let source = SettingsSource::from_env([(
            "TUNEMESH_IDENTITY__SECRET",
            "0123456789abcdef0123456789abcdef",
        )]);
        let error = load::<Settings>(&source).expect_err("retired");
        assert!(
            error.to_string().contains("gateway.assertion.signing_key"),
            "{error}"
        );
    }

    #[test]
    fn a_misspelt_section_is_an_error() {
        let source = SettingsSource::from_env([("TUNEMESH_GATEWAYY__ADDR", "127.0.0.1:1")]);
        let error = load::<Settings>(&source).expect_err("unknown section");
        assert!(error.to_string().contains("gatewayy"), "{error}");
    }
}
