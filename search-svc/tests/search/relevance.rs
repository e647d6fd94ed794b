//! The relevance suite: real names (Chinook's catalogue, faker's awkward artist and song
//! names), every query with the item a listener means in the top 3.

use tunemesh_proto::catalog::v1::Track;
use tunemesh_proto::search::v1::SearchResultType;

use crate::support::{TestBus, TestSearch, chinook_tracks, faker_tracks, track};

const TRACK: SearchResultType = SearchResultType::Track;
const ARTIST: SearchResultType = SearchResultType::Artist;

/// A query, the result kinds asked for (none: all), and the acceptable wanted ids.
struct Case {
    kind: &'static str,
    query: &'static str,
    types: &'static [SearchResultType],
    wanted: Vec<String>,
}

fn ids(prefix: &str, ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| format!("{prefix}:{id}")).collect()
}

/// The faker artist id credited as `name` in `tracks`.
fn artist_id(tracks: &[Track], name: &str) -> Vec<String> {
    tracks
        .iter()
        .flat_map(|t| &t.artists)
        .filter(|a| a.name == name)
        .map(|a| format!("r:{}", a.id))
        .take(1)
        .collect()
}

fn cases(tracks: &[Track]) -> Vec<Case> {
    let case = |kind, query, types, wanted| Case {
        kind,
        query,
        types,
        wanted,
    };
    let artist = |name: &str| artist_id(tracks, name);
    vec![
        // Exact titles and names.
        case(
            "exact",
            "Bohemian Rhapsody",
            &[],
            ids("t", &["chinook-t2254"]),
        ),
        case(
            "exact",
            "enter sandman",
            &[TRACK],
            ids("t", &["chinook-t1801", "chinook-t77"]),
        ),
        case("exact", "Metallica", &[], ids("r", &["chinook-r50"])),
        case(
            "exact",
            "Smoke On The Water",
            &[],
            ids("t", &["chinook-t548", "chinook-t777"]),
        ),
        case(
            "exact",
            "The Girl From Ipanema",
            &[],
            ids("t", &["chinook-t1051"]),
        ),
        case(
            "exact",
            "Iron Maiden",
            &[ARTIST],
            ids("r", &["chinook-r90"]),
        ),
        // Search as you type: the last word is a prefix.
        case("prefix", "bohem", &[], ids("t", &["chinook-t2254"])),
        case(
            "prefix",
            "stairway to hea",
            &[],
            ids("t", &["chinook-t1582", "chinook-t1613", "chinook-t1668"]),
        ),
        case("prefix", "led zep", &[], ids("r", &["chinook-r22"])),
        case(
            "prefix",
            "smells like te",
            &[],
            ids("t", &["chinook-t1990", "chinook-t2003", "chinook-t732"]),
        ),
        case("prefix", "metall", &[ARTIST], ids("r", &["chinook-r50"])),
        // One typo.
        case("typo1", "metalica", &[], ids("r", &["chinook-r50"])),
        case(
            "typo1",
            "bohemian rapsody",
            &[],
            ids("t", &["chinook-t2254"]),
        ),
        case("typo1", "nirvanna", &[], ids("r", &["chinook-r110"])),
        case(
            "typo1",
            "smoke on the watr",
            &[],
            ids("t", &["chinook-t548", "chinook-t777"]),
        ),
        case("typo1", "pearl jma", &[], ids("r", &["chinook-r118"])),
        // Two typos in a long word.
        case("typo2", "metalicca", &[], ids("r", &["chinook-r50"])),
        case(
            "typo2",
            "bohemain rhapsdoy",
            &[],
            ids("t", &["chinook-t2254"]),
        ),
        case(
            "typo2",
            "stairwya to heavne",
            &[],
            ids("t", &["chinook-t1582", "chinook-t1613", "chinook-t1668"]),
        ),
        // Without accents.
        case(
            "accents",
            "motorhead",
            &[ARTIST],
            ids("r", &["chinook-r106"]),
        ),
        case("accents", "cassia eller", &[], ids("r", &["chinook-r77"])),
        case(
            "accents",
            "antonio carlos jobim",
            &[],
            ids("r", &["chinook-r6"]),
        ),
        case("accents", "motley crue", &[], ids("r", &["chinook-r109"])),
        case("accents", "beyonce", &[ARTIST], ids("r", &["test-beyonce"])),
        case("accents", "michael buble", &[], artist("Michael Bublé")),
        case(
            "accents",
            "maracatu atomico",
            &[TRACK],
            ids(
                "t",
                &[
                    "chinook-t253",
                    "chinook-t266",
                    "chinook-t267",
                    "chinook-t268",
                    "chinook-t276",
                ],
            ),
        ),
        // Punctuation in names.
        case("punctuation", "acdc", &[], ids("r", &["chinook-r1"])),
        case("punctuation", "ac dc", &[], ids("r", &["chinook-r1"])),
        case("punctuation", "AC/DC", &[], ids("r", &["chinook-r1"])),
        case("punctuation", "suicideboys", &[], artist("$uicideboy$")),
        case("punctuation", "gidle", &[], artist("(G)I-DLE")),
        case("punctuation", "g i dle", &[], artist("(G)I-DLE")),
        case(
            "punctuation",
            "guns n roses",
            &[],
            ids("r", &["chinook-r88"]),
        ),
        case("punctuation", "nsync", &[], artist("*NSYNC")),
        case("punctuation", "kesha", &[], artist("Ke$ha")),
        case("punctuation", "ty dolla sign", &[], artist("Ty Dolla $ign")),
        case("punctuation", "william", &[], artist("will.i.am")),
        case("punctuation", "blink 182", &[], artist("blink-182")),
    ]
}

#[tokio::test]
async fn real_names_find_what_listeners_mean_in_the_top_three() -> anyhow::Result<()> {
    let mut tracks = chinook_tracks()?;
    tracks.extend(faker_tracks()?);
    tracks.push(track(
        "test-halo",
        "Halo",
        ("test-beyonce", "Beyoncé"),
        ("test-iamsasha", "I Am... Sasha Fierce"),
        "Pop",
    ));
    let bus = TestBus::new("search relevance").await?;
    // Published before the service starts: the index is built by replaying the stream.
    bus.add_tracks(&tracks).await?;
    let search = TestSearch::start(&bus).await?;
    search.wait_ready().await?;

    let cases = cases(&tracks);
    let mut failures = Vec::new();
    let mut first = 0;
    for case in &cases {
        assert!(!case.wanted.is_empty(), "no wanted id for {:?}", case.query);
        let found = search.ids(case.query, case.types).await?;
        let rank = found.iter().position(|id| case.wanted.contains(id));
        match rank {
            Some(0) => first += 1,
            Some(1 | 2) => {}
            _ => failures.push(format!(
                "[{}] {:?}: wanted one of {:?}, got {:?}",
                case.kind,
                case.query,
                case.wanted,
                &found[..found.len().min(5)]
            )),
        }
    }
    eprintln!(
        "relevance: {}/{} in the top 3, {first} first ({} tracks indexed)",
        cases.len() - failures.len(),
        cases.len(),
        tracks.len()
    );
    assert!(
        failures.is_empty(),
        "relevance failures:\n{}",
        failures.join("\n")
    );
    bus.cleanup().await
}
