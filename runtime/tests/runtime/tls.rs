//! TLS to PostgreSQL and Redis against real servers of the test's own, with certificates a CA
//! of the test signed: the right CA connects, another CA is refused, plaintext is refused.

use fred::prelude::KeysInterface as _;
use secrecy::SecretString;
use tunemesh_runtime::postgres::{self, PostgresError, PostgresSettings};
use tunemesh_runtime::redis::{self, RedisSettings};
use tunemesh_testkit::init_tracing;
use tunemesh_testkit::private::{PrivatePostgres, PrivateRedis};
use tunemesh_testkit::tls::TestCa;

/// The whole cause chain of an error, one line, for assertions on what the operator reads.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn pg(url: String, ca_file: Option<std::path::PathBuf>) -> PostgresSettings {
    PostgresSettings {
        url: SecretString::from(url),
        max_connections: 1,
        ca_file,
        ..PostgresSettings::default()
    }
}

#[tokio::test]
async fn postgres_over_tls_connects_only_to_a_server_its_ca_signed() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new("tunemesh test postgres ca")?;
    let other = TestCa::new("some other ca")?;
    let ca_file = ca.write(dir.path(), "ca.pem")?;
    let other_file = other.write(dir.path(), "other.pem")?;
    let cert = ca.server_cert(&["localhost", "127.0.0.1"], dir.path(), "server")?;
    let server = PrivatePostgres::start_tls_only(&cert).await?;

    // verify-full with the CA that signed the server: connects, by IP and by name.
    for host in ["127.0.0.1", "localhost"] {
        let pool = postgres::connect(&pg(
            server.url(host, "sslmode=verify-full"),
            Some(ca_file.clone()),
        ))
        .await?;
        let row = pool.get().await?.query_one("SHOW ssl", &[]).await?;
        assert_eq!(row.get::<_, String>(0), "on");
    }
    // The CA may come in the URL too, as libpq's sslrootcert.
    let query = format!("sslmode=verify-full&sslrootcert={}", ca_file.display());
    postgres::connect(&pg(server.url("127.0.0.1", &query), None)).await?;

    // Another CA: refused, and the error says why.
    let refused = postgres::connect(&pg(
        server.url("127.0.0.1", "sslmode=verify-full"),
        Some(other_file.clone()),
    ))
    .await
    .expect_err("a server signed by another ca");
    let text = chain(&refused);
    assert!(
        matches!(refused, PostgresError::Unreachable { .. }),
        "{text}"
    );
    assert!(text.contains("UnknownIssuer"), "{text}");
    let refused = postgres::connect(&pg(
        server.url("127.0.0.1", "sslmode=verify-ca"),
        Some(other_file),
    ))
    .await
    .expect_err("verify-ca with another ca");
    assert!(
        chain(&refused).contains("UnknownIssuer"),
        "{}",
        chain(&refused)
    );

    // verify-ca checks the chain only: a name the certificate does not hold still connects;
    // verify-full refuses it.
    let wrong_name = ca.server_cert(&["db.elsewhere"], dir.path(), "elsewhere")?;
    let misnamed = PrivatePostgres::start_tls_only(&wrong_name).await?;
    postgres::connect(&pg(
        misnamed.url("127.0.0.1", "sslmode=verify-ca"),
        Some(ca_file.clone()),
    ))
    .await?;
    let refused = postgres::connect(&pg(
        misnamed.url("127.0.0.1", "sslmode=verify-full"),
        Some(ca_file.clone()),
    ))
    .await
    .expect_err("verify-full with a name the certificate lacks");
    assert!(
        chain(&refused).contains("not valid for name"),
        "{}",
        chain(&refused)
    );

    // require without a CA encrypts without checking; disable is refused by a TLS-only server.
    postgres::connect(&pg(server.url("127.0.0.1", "sslmode=require"), None)).await?;
    let refused = postgres::connect(&pg(server.url("127.0.0.1", "sslmode=disable"), None))
        .await
        .expect_err("plaintext to a server that requires tls");
    let text = chain(&refused);
    assert!(text.contains("no encryption"), "{text}");
    Ok(())
}

#[tokio::test]
async fn rediss_connects_only_to_a_server_its_ca_signed() -> anyhow::Result<()> {
    init_tracing();
    let dir = tempfile::tempdir()?;
    let ca = TestCa::new("tunemesh test redis ca")?;
    let other = TestCa::new("some other ca")?;
    let ca_file = ca.write(dir.path(), "ca.pem")?;
    let other_file = other.write(dir.path(), "other.pem")?;
    let cert = ca.server_cert(&["localhost", "127.0.0.1"], dir.path(), "server")?;
    let server = PrivateRedis::start_tls_only(&cert).await?;
    let settings = |url: String, ca_file| RedisSettings {
        url: SecretString::from(url),
        pool_size: 1,
        ca_file,
        ..RedisSettings::default()
    };

    let url = format!("rediss://127.0.0.1:{}", server.port());
    let pool = redis::connect(&settings(url.clone(), Some(ca_file))).await?;
    pool.set::<(), _, _>("tls:check", "ok", None, None, false)
        .await?;
    let value: Option<String> = pool.get("tls:check").await?;
    assert_eq!(value.as_deref(), Some("ok"));

    let refused = redis::connect(&settings(url, Some(other_file)))
        .await
        .expect_err("a server signed by another ca");
    let text = chain(&refused);
    assert!(
        text.contains("UnknownIssuer") || text.contains("unknown issuer"),
        "{text}"
    );
    // Plaintext to the TLS port gets no answer: refused (or timed out), never connected.
    let plain = format!("redis://127.0.0.1:{}", server.port());
    assert!(redis::connect(&settings(plain, None)).await.is_err());
    Ok(())
}
