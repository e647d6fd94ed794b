//! One contract suite for the account store, run against both adapters: PostgreSQL (a fresh
//! database per test) and SQLite (a fresh file per test).

use std::future::Future;
use std::sync::Arc;

use secrecy::SecretString;
use tunemesh_gateway::accounts::{
    ADMIN, AccountStore, AppPassword, Credentials, PostgresAccounts, RefreshToken, Rotation,
    SealedSecret, SqliteAccounts, StoreError, Successor, User,
};
use tunemesh_runtime::clock::now_ms;
use tunemesh_runtime::postgres::PostgresSettings;

const HOUR_MS: i64 = 3_600_000;

/// Runs `case` on a fresh PostgreSQL store, then on a fresh SQLite store.
async fn on_both<F, Fut>(case: F) -> anyhow::Result<()>
where
    F: Fn(Arc<dyn AccountStore>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let db = tunemesh_testkit::test_database().await?;
    let pool = tunemesh_runtime::postgres::connect(&PostgresSettings {
        url: SecretString::from(db.url().to_owned()),
        ..PostgresSettings::default()
    })
    .await?;
    let postgres = PostgresAccounts::open(pool.clone()).await?;
    // Opening twice is how a second replica starts: the schema step is idempotent.
    PostgresAccounts::open(pool).await?;
    case(Arc::new(postgres))
        .await
        .map_err(|e| e.context("postgresql"))?;

    let dir = tempfile::tempdir()?;
    let sqlite = SqliteAccounts::open(&dir.path().join("accounts.sqlite")).await?;
    SqliteAccounts::open(&dir.path().join("accounts.sqlite")).await?;
    case(Arc::new(sqlite))
        .await
        .map_err(|e| e.context("sqlite"))?;
    Ok(())
}

fn credentials(name: &str) -> Credentials {
    Credentials {
        user: User {
            id: format!("id-{name}"),
            email: format!("{name}@example.com"),
            username: name.to_owned(),
            roles: vec!["admin".into(), "beta".into()],
            created_at_ms: 1_700_000_000_000,
        },
        password_hash: format!("$argon2id$fake-{name}"),
    }
}

fn token(hash: &str, user: &str, family: &str, expires_at_ms: i64) -> RefreshToken {
    RefreshToken {
        token_hash: hash.to_owned(),
        user_id: format!("id-{user}"),
        family_id: family.to_owned(),
        expires_at_ms,
        session_expires_at_ms: expires_at_ms + 24 * HOUR_MS,
    }
}

fn successor(hash: &str) -> Successor {
    Successor {
        token_hash: hash.to_owned(),
        expires_at_ms: now_ms() + HOUR_MS,
    }
}

#[tokio::test]
async fn accounts_are_found_by_email_or_username_and_unique_in_both() -> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        for login in ["ann", "ann@example.com"] {
            let found = store.find_credentials(login).await?;
            assert_eq!(found, Some(credentials("ann")), "{login}");
        }
        assert_eq!(store.find_credentials("bob").await?, None);

        let mut same_email = credentials("bob");
        same_email.user.email = "ann@example.com".into();
        let mut same_name = credentials("bob");
        same_name.user.username = "ann".into();
        for duplicate in [same_email, same_name] {
            let refused = store.create_user(&duplicate).await;
            assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
        }
        Ok(())
    })
    .await
}

#[tokio::test]
async fn user_names_are_found_for_known_ids_only() -> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        store.create_user(&credentials("bob")).await?;
        let ids = [
            "id-bob",
            "id-nobody",
            "id-ann",
            "id-ann",
            "'; DROP TABLE users; --",
        ]
        .map(String::from);
        let mut names = store.user_names(&ids).await?;
        names.sort();
        assert_eq!(
            names,
            [("id-ann", "ann"), ("id-bob", "bob")].map(|(i, n)| (i.to_owned(), n.to_owned()))
        );
        assert!(store.user_names(&[]).await?.is_empty());
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_first_account_is_the_admin_and_only_one_of_racing_sign_ups_wins() -> anyhow::Result<()>
{
    on_both(|store| async move {
        let plain = |name: &str| {
            let mut c = credentials(name);
            c.user.roles = vec!["beta".into()];
            c
        };
        let created = futures::future::join_all(
            ["ann", "bob", "cat", "dan", "eve", "fay"]
                .map(&plain)
                .iter()
                .map(|c| store.create_user(c)),
        )
        .await;
        let mut admins = 0;
        for user in created {
            let user = user?;
            let stored = store.find_credentials(&user.username).await?;
            assert_eq!(stored.map(|c| c.user), Some(user.clone()), "as answered");
            if user.roles.iter().any(|r| r == ADMIN) {
                assert_eq!(user.roles, ["beta", ADMIN], "roles kept");
                admins += 1;
            }
        }
        assert_eq!(admins, 1, "exactly one of the racing sign-ups is the admin");
        let later = store.create_user(&plain("gus")).await?;
        assert_eq!(later.roles, ["beta"], "later accounts are not admins");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_current_refresh_token_rotates_once_and_its_reuse_revokes_the_family()
-> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        let now = now_ms();
        store
            .insert_refresh(&token("a", "ann", "f1", now + HOUR_MS))
            .await?;
        store
            .insert_refresh(&token("other", "ann", "f2", now + HOUR_MS))
            .await?;

        let rotated = store.rotate_refresh("a", &successor("b"), now).await?;
        assert_eq!(
            rotated,
            Rotation::Rotated {
                user: credentials("ann").user,
                family: "f1".into()
            }
        );
        assert_eq!(
            store.rotate_refresh("a", &successor("c"), now).await?,
            Rotation::Reused
        );
        // The successor went down with its family; the other login did not.
        assert_eq!(
            store.rotate_refresh("b", &successor("d"), now).await?,
            Rotation::Rejected
        );
        assert!(matches!(
            store.rotate_refresh("other", &successor("e"), now).await?,
            Rotation::Rotated { .. }
        ));
        Ok(())
    })
    .await
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_rejected() -> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        let now = now_ms();
        store
            .insert_refresh(&token("old", "ann", "f1", now - 1))
            .await?;
        assert_eq!(
            store.rotate_refresh("old", &successor("x"), now).await?,
            Rotation::Rejected
        );
        assert_eq!(
            store.rotate_refresh("nope", &successor("y"), now).await?,
            Rotation::Rejected
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_family_is_revoked_only_by_its_owner() -> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        store.create_user(&credentials("bob")).await?;
        let now = now_ms();
        store
            .insert_refresh(&token("a", "ann", "f1", now + HOUR_MS))
            .await?;

        assert_eq!(store.revoke_family("a", "id-bob", now).await?, None);
        assert!(store.revoked_since(now - HOUR_MS).await?.is_empty());
        assert_eq!(
            store.revoke_family("a", "id-ann", now).await?,
            Some("f1".into())
        );
        assert_eq!(
            store.revoke_family("a", "id-ann", now + 1).await?,
            Some("f1".into()),
            "idempotent"
        );
        // What every replica polls to refuse the session's access tokens.
        assert_eq!(
            store.revoked_since(now - HOUR_MS).await?,
            vec![("f1".to_owned(), now)]
        );
        assert!(store.revoked_since(now).await?.is_empty());
        assert_eq!(
            store.rotate_refresh("a", &successor("b"), now).await?,
            Rotation::Rejected
        );
        Ok(())
    })
    .await
}

#[tokio::test]
async fn of_two_concurrent_rotations_exactly_one_wins() -> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        let now = now_ms();
        store
            .insert_refresh(&token("a", "ann", "f1", now + HOUR_MS))
            .await?;
        let (b1, b2) = (successor("b1"), successor("b2"));
        let (first, second) = tokio::join!(
            store.rotate_refresh("a", &b1, now),
            store.rotate_refresh("a", &b2, now),
        );
        let outcomes = [first?, second?];
        let rotated = outcomes
            .iter()
            .filter(|o| matches!(o, Rotation::Rotated { .. }))
            .count();
        assert_eq!(rotated, 1, "{outcomes:?}");
        assert!(outcomes.contains(&Rotation::Reused), "{outcomes:?}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_often_it_is_refreshed()
-> anyhow::Result<()> {
    on_both(|store| async move {
        store.create_user(&credentials("ann")).await?;
        let now = now_ms();
        let mut first = token("a", "ann", "f1", now + HOUR_MS);
        let session_end = now + HOUR_MS + HOUR_MS / 2;
        first.session_expires_at_ms = session_end;
        store.insert_refresh(&first).await?;
        // Each refresh would give another hour, but never past the session's end.
        let later = now + HOUR_MS - 1;
        let next = Successor {
            token_hash: "b".into(),
            expires_at_ms: later + HOUR_MS,
        };
        assert!(matches!(
            store.rotate_refresh("a", &next, later).await?,
            Rotation::Rotated { .. }
        ));
        // "b" alone would live until now + 2 hours.
        let at_end = session_end;
        let after = Successor {
            token_hash: "c".into(),
            expires_at_ms: at_end + HOUR_MS,
        };
        assert_eq!(
            store.rotate_refresh("b", &after, at_end).await?,
            Rotation::Rejected,
            "the session has ended although its last token was fresh"
        );
        Ok(())
    })
    .await
}

fn app_password(id: &str, user: &str, lookup: &str, created_at_ms: i64) -> AppPassword {
    AppPassword {
        id: id.to_owned(),
        user_id: format!("id-{user}"),
        name: format!("{user}'s {id}"),
        lookup: lookup.to_owned(),
        hint: "WXYZ".to_owned(),
        created_at_ms,
        last_used_at_ms: None,
        last_client: None,
        sealed: None,
    }
}

#[tokio::test]
async fn app_passwords_are_found_by_lookup_listed_newest_first_and_revoked_by_their_owner()
-> anyhow::Result<()> {
    on_both(|store| async move {
        let ann = store.create_user(&credentials("ann")).await?;
        store.create_user(&credentials("bob")).await?;
        let old = app_password("k1", "ann", "lookup-1", 1_000);
        let new = app_password("k2", "ann", "lookup-2", 2_000);
        store.create_app_password(&old).await?;
        store.create_app_password(&new).await?;
        store
            .create_app_password(&app_password("k3", "bob", "lookup-3", 3_000))
            .await?;
        let taken = store
            .create_app_password(&app_password("k4", "bob", "lookup-1", 4_000))
            .await;
        assert!(
            matches!(taken, Err(StoreError::Conflict)),
            "lookups are unique"
        );

        let listed = store.app_passwords("id-ann").await?;
        assert_eq!(listed, [new.clone(), old.clone()], "newest first, own only");
        let (found, user) = store.find_app_password("lookup-1").await?.expect("found");
        assert_eq!((found, user), (old.clone(), ann));
        assert!(store.find_app_password("lookup-x").await?.is_none());

        store
            .record_app_password_use("k1", 5_000, Some("DSub"))
            .await?;
        store.record_app_password_use("k1", 6_000, None).await?;
        let (used, _) = store.find_app_password("lookup-1").await?.expect("found");
        assert_eq!(used.last_used_at_ms, Some(6_000));
        assert_eq!(
            used.last_client.as_deref(),
            Some("DSub"),
            "kept when none is sent"
        );

        assert!(
            !store.revoke_app_password("id-bob", "k1", 7_000).await?,
            "not bob's"
        );
        assert!(store.revoke_app_password("id-ann", "k1", 7_000).await?);
        assert!(
            !store.revoke_app_password("id-ann", "k1", 8_000).await?,
            "once"
        );
        assert!(
            store.find_app_password("lookup-1").await?.is_none(),
            "revoked"
        );
        assert_eq!(store.app_passwords("id-ann").await?, [new]);
        Ok(())
    })
    .await
}

fn legacy_password(id: &str, user: &str, created_at_ms: i64, version: u16) -> AppPassword {
    AppPassword {
        sealed: Some(SealedSecret {
            version,
            // Bytes of every value, NUL included: stored as a blob, not as text.
            blob: (0..=255u8).chain([0, id.len() as u8]).collect(),
        }),
        ..app_password(id, user, &format!("lookup-{id}"), created_at_ms)
    }
}

#[tokio::test]
async fn legacy_app_passwords_keep_their_sealed_secret_and_are_found_by_user_name()
-> anyhow::Result<()> {
    on_both(|store| async move {
        let ann = store.create_user(&credentials("ann")).await?;
        store.create_user(&credentials("bob")).await?;
        let plain = app_password("p1", "ann", "lookup-p1", 1_000);
        let old = legacy_password("l1", "ann", 2_000, 1);
        let new = legacy_password("l2", "ann", 3_000, 65_535);
        let revoked = legacy_password("l3", "ann", 4_000, 1);
        for password in [
            &plain,
            &old,
            &new,
            &revoked,
            &legacy_password("b1", "bob", 5_000, 1),
        ] {
            store.create_app_password(password).await?;
        }
        assert!(store.revoke_app_password("id-ann", "l3", 6_000).await?);

        let listed = store.app_passwords("id-ann").await?;
        assert_eq!(listed, [new.clone(), old.clone(), plain.clone()]);
        assert!(listed[0].legacy_token_auth() && !listed[2].legacy_token_auth());
        let (found, _) = store.find_app_password("lookup-l1").await?.expect("found");
        assert_eq!(found.sealed, old.sealed, "the blob and version round-trip");

        let legacy = store.legacy_app_passwords("ann", 10).await?;
        assert_eq!(
            legacy,
            [(new.clone(), ann.clone()), (old.clone(), ann.clone())],
            "live legacy ones only, newest first, with the account"
        );
        assert_eq!(
            store.legacy_app_passwords("ann", 1).await?,
            [(new, ann.clone())]
        );
        assert!(store.legacy_app_passwords("nobody", 10).await?.is_empty());
        assert!(
            store.legacy_app_passwords("id-ann", 10).await?.is_empty(),
            "by name, not id"
        );

        let resealed = SealedSecret {
            version: 2,
            blob: vec![9; 40],
        };
        store.reseal_app_password("l1", &resealed).await?;
        store.reseal_app_password("p1", &resealed).await?;
        let (found, _) = store.find_app_password("lookup-l1").await?.expect("found");
        assert_eq!(found.sealed, Some(resealed));
        let (found, _) = store.find_app_password("lookup-p1").await?.expect("found");
        assert_eq!(
            found.sealed, None,
            "resealing never makes a password legacy"
        );
        Ok(())
    })
    .await
}
