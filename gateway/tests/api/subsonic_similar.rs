//! Similar songs, instant mixes and top songs over `/rest`, from the stand-in reco-svc, with
//! songs hydrated from the catalogue in JSON and schema-valid XML.

use crate::subsonic_support::{app_user, json_call, xml_call};
use crate::support;

#[tokio::test]
async fn similar_and_top_songs_come_from_the_recommender() -> anyhow::Result<()> {
    let gateway = support::spawn().await?;
    let ann = app_user(&gateway, "ann", "Symfonium").await?;
    let auth = format!("u={}&p={}", ann.name, ann.secret);

    for method in ["getSimilarSongs", "getSimilarSongs2"] {
        let answer = json_call(&gateway, method, &format!("{auth}&id=t1&count=5")).await?;
        let key = if method == "getSimilarSongs" {
            "similarSongs"
        } else {
            "similarSongs2"
        };
        assert_eq!(answer[key]["song"][0]["id"], "t8", "{answer}");
        assert_eq!(answer[key]["song"][0]["isDir"], false);
        xml_call(&gateway, method, &format!("{auth}&id=t1")).await?;
    }
    // No artist of that name: an empty list, not an error.
    let top = json_call(&gateway, "getTopSongs", &format!("{auth}&artist=Nobody")).await?;
    assert_eq!(top["status"], "ok", "{top}");
    xml_call(&gateway, "getTopSongs", &format!("{auth}&artist=Nobody")).await?;

    let missing = json_call(&gateway, "getSimilarSongs", &auth).await?;
    assert_eq!(missing["error"]["code"], 10);
    let bad = json_call(
        &gateway,
        "getSimilarSongs",
        &format!("{auth}&id=t1&count=x"),
    )
    .await?;
    assert_eq!(bad["error"]["code"], 10);
    Ok(())
}
