//! What several fuzz targets share: the gateway's settings with a known key, and the keys
//! derived from it, so a target can sign tokens that pass the signature check and reach the
//! claims.

use secrecy::SecretString;
use tunemesh_gateway::GatewaySettings;
use tunemesh_gateway::settings::{AuthSettings, Quota};

/// The access-token secret of every target.
pub const JWT_SECRET: &str = "fuzzing-secret-of-at-least-thirty-two-bytes";

/// The Subsonic lookup pepper of every target.
pub const SUBSONIC_PEPPER: &str = "fuzzing-pepper-of-at-least-thirty-two-bytes";

/// Auth settings with [`JWT_SECRET`] and cheap argon2 (a fuzzer may sign up thousands).
pub fn auth_settings() -> AuthSettings {
    AuthSettings {
        jwt_secret: Some(SecretString::from(JWT_SECRET)),
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        ..AuthSettings::default()
    }
}

/// Gateway settings with [`auth_settings`] and limits no fuzzer reaches (a 429 would hide the
/// routes behind it).
pub fn gateway_settings() -> GatewaySettings {
    let mut settings = GatewaySettings {
        auth: auth_settings(),
        assertion: tunemesh_runtime::identity::AssertionSettings::for_tests(),
        ..GatewaySettings::default()
    };
    settings.subsonic.lookup_pepper = Some(SecretString::from(SUBSONIC_PEPPER));
    let unlimited = Quota {
        per_minute: 0,
        burst: 0,
    };
    settings.rate_limits.per_ip = unlimited;
    settings.rate_limits.per_user = unlimited;
    settings.rate_limits.auth_per_ip = unlimited;
    settings
}

/// The HS256 key of media links, derived from [`JWT_SECRET`] as
/// `tunemesh_gateway::media::links` does (the `jwt` target checks at start that a link
/// minted by the gateway verifies under it, so a change there cannot go unnoticed).
pub fn media_key() -> Vec<u8> {
    use sha2::{Digest as _, Sha256};
    Sha256::new()
        .chain_update(b"tunemesh media link key\0")
        .chain_update(JWT_SECRET.as_bytes())
        .finalize()
        .to_vec()
}

/// A small in-memory search index of names that stress folding and tokenising (diacritics,
/// punctuation inside names, scripts without spaces, symbols), with their albums and artists.
pub fn search_index() -> std::sync::Arc<tunemesh_search::index::SearchIndex> {
    use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, Track};
    use tunemesh_search::catalog::Catalog;
    use tunemesh_search::index::SearchIndex;

    const TRACKS: &[(&str, &str, &str)] = &[
        ("Highway to Hell", "AC/DC", "Highway to Hell"),
        ("Halo", "Beyoncé", "I Am... Sasha Fierce"),
        ("Hoppípolla", "Sigur Rós", "Takk..."),
        ("Tik Tok", "Ke$ha", "Animal"),
        ("So What", "P!nk", "Funhouse"),
        ("Kickstart My Heart", "Mötley Crüe", "Dr. Feelgood"),
        (
            "戦場のメリークリスマス",
            "坂本龍一",
            "Merry Christmas Mr. Lawrence",
        ),
        (
            "Me and the Major",
            "Belle & Sebastian",
            "The Boy with the Arab Strap",
        ),
        ("Heroes", "David Bowie", "\"Heroes\""),
        ("Ænima", "Tool", "Ænima"),
        ("Straße", "Ärzte", "13"),
        ("🎵 Intro", "!!!", "Myth Takes"),
    ];
    let index = SearchIndex::create(None, 15_000_000).expect("an index in memory");
    let mut catalog = Catalog::default();
    for (n, (title, artist, album)) in TRACKS.iter().enumerate() {
        catalog.upsert_track(Track {
            id: format!("t{n}"),
            title: (*title).to_owned(),
            artists: vec![ArtistRef {
                id: format!("ar{n}"),
                name: (*artist).to_owned(),
            }],
            album: Some(AlbumRef {
                id: format!("al{n}"),
                title: (*album).to_owned(),
            }),
            genre: "rock".to_owned(),
            ..Track::default()
        });
    }
    index
        .apply(&catalog.drain_changes())
        .expect("the tracks are indexed");
    std::sync::Arc::new(index)
}

/// A search domain over [`search_index`], ready.
pub fn search() -> tunemesh_search::service::IndexSearch {
    let (_ready, watch) = tokio::sync::watch::channel(true);
    tunemesh_search::service::IndexSearch::new(search_index(), watch)
}

/// A runtime on this thread, for targets whose code under test is async.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}
