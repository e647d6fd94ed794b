//! What every service is built with besides its own settings: where it listens, where its data
//! lives, how it verifies callers and how it reaches other services.
//!
//! The same service code runs embedded (`tunemesh up`: SQLite files and in-process caches under
//! one data directory) and in production (`tunemesh serve`: PostgreSQL and Redis); [`Storage`]
//! is the one switch between the two.

use std::path::{Path, PathBuf};

use tunemesh_discovery::Mesh;
use tunemesh_discovery::connect::{ConnectCa, ConnectError, MeshTls};

use crate::grpc::{GrpcServer, GrpcServerSettings, ServerError};
use crate::identity::MeshIdentity;
use crate::postgres::PostgresSettings;
use crate::redis::RedisSettings;

/// Where a service keeps its state.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Embedded adapters: files under `data_dir/<service>/`, caches in process.
    Embedded {
        /// The directory `tunemesh up` was given.
        data_dir: PathBuf,
    },
    /// Production adapters: PostgreSQL for state, Redis for caches.
    Production {
        /// The database (each service uses its own schema or database).
        postgres: PostgresSettings,
        /// The cache.
        redis: RedisSettings,
    },
}

impl Storage {
    /// The directory of `service`'s embedded files, or `None` in production.
    pub fn embedded_dir(&self, service: &str) -> Option<PathBuf> {
        match self {
            Self::Embedded { data_dir } => Some(data_dir.join(service)),
            Self::Production { .. } => None,
        }
    }

    /// Creates `data_dir/<service>/` if it is missing and returns it: where a service in
    /// `tunemesh up` keeps its SQLite files. An error in production, which has no data dir.
    pub async fn create_embedded_dir(&self, service: &str) -> std::io::Result<PathBuf> {
        let dir = self.embedded_dir(service).ok_or_else(|| {
            std::io::Error::other(format!("{service}: embedded storage without a data dir"))
        })?;
        tokio::fs::create_dir_all(&dir).await.map_err(|error| {
            std::io::Error::new(
                error.kind(),
                format!("cannot create {}: {error}", dir.display()),
            )
        })?;
        Ok(dir)
    }

    /// The shared data directory in embedded mode.
    pub fn data_dir(&self) -> Option<&Path> {
        match self {
            Self::Embedded { data_dir } => Some(data_dir),
            Self::Production { .. } => None,
        }
    }
}

/// Everything a service's `build` needs from the process it runs in.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// How the service's gRPC server listens and drains.
    pub grpc: GrpcServerSettings,
    /// Embedded or production adapters.
    pub storage: Storage,
    /// Verifies the caller identity the gateway attaches.
    pub identity: MeshIdentity,
    /// Channels to other services (calling as this service once [`ServiceContext::for_service`]
    /// gave it its identity).
    pub mesh: Mesh,
    /// Where the process's services get their mutual-TLS identities. Every process the binary
    /// runs has one; only tests of a single service run without (in plaintext).
    pub connect: Option<ConnectCa>,
    /// This service's identity, once [`ServiceContext::for_service`] picked it.
    pub tls: Option<MeshTls>,
}

impl ServiceContext {
    /// The context of `service`: its own identity, presented by its mesh calls and required
    /// of its callers by [`ServiceContext::grpc_server`].
    pub async fn for_service(&self, service: &str) -> Result<Self, ConnectError> {
        let Some(connect) = &self.connect else {
            return Ok(self.clone());
        };
        let tls = connect.tls(service).await?;
        Ok(Self {
            mesh: self.mesh.as_service(tls.clone()),
            tls: Some(tls),
            ..self.clone()
        })
    }

    /// The gRPC server of `service`, bound, requiring mutual TLS when the context has an
    /// identity.
    pub async fn grpc_server(&self, service: &str) -> Result<GrpcServer, ServerError> {
        let mut server = GrpcServer::bind(service, &self.grpc).await?;
        if let Some(tls) = &self.tls {
            server.with_tls(tls.clone())?;
        }
        Ok(server)
    }
}
