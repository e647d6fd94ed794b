//! Checks that the generated stubs round-trip messages and that the descriptor set served
//! through gRPC reflection describes every service.

use tunemesh_proto::catalog::v1::{AlbumRef, ArtistRef, AudioQuality, Track};
use tunemesh_proto::prost::Message;
use tunemesh_proto::prost_types::{Duration, FileDescriptorSet};
use tunemesh_proto::{FILE_DESCRIPTOR_SET, SERVICE_NAMES};

#[test]
fn a_track_survives_an_encode_decode_round_trip() {
    let track = Track {
        id: "trk_1".to_owned(),
        title: "Intro".to_owned(),
        artists: vec![ArtistRef {
            id: "art_1".to_owned(),
            name: "$uicideboy$".to_owned(),
        }],
        album: Some(AlbumRef {
            id: "alb_1".to_owned(),
            title: "(G)I-DLE".to_owned(),
        }),
        duration: Some(Duration {
            seconds: 215,
            nanos: 500_000_000,
        }),
        track_number: 1,
        disc_number: 1,
        available_qualities: vec![AudioQuality::Low as i32, AudioQuality::VeryHigh as i32],
        ..Track::default()
    };

    let bytes = track.encode_to_vec();
    let decoded = Track::decode(bytes.as_slice()).expect("a freshly encoded track decodes");

    assert_eq!(decoded, track);
    assert_eq!(
        decoded.available_qualities().collect::<Vec<_>>(),
        [AudioQuality::Low, AudioQuality::VeryHigh]
    );
}

#[test]
fn the_descriptor_set_describes_every_service() {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    let described: Vec<String> = set
        .file
        .iter()
        .flat_map(|file| {
            let package = file.package().to_owned();
            file.service
                .iter()
                .map(move |service| format!("{package}.{}", service.name()))
        })
        .collect();

    let mut expected: Vec<&str> = SERVICE_NAMES.to_vec();
    expected.sort_unstable();
    let mut actual: Vec<&str> = described.iter().map(String::as_str).collect();
    actual.sort_unstable();
    assert_eq!(
        actual, expected,
        "SERVICE_NAMES and the .proto files disagree"
    );
    assert!(SERVICE_NAMES.contains(&"tunemesh.player.v1.PlayerService"));
}

#[test]
fn the_descriptor_set_keeps_the_documentation_for_reflection() {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    let track_file = set
        .file
        .iter()
        .find(|file| file.name() == "tunemesh/catalog/v1/track.proto")
        .expect("track.proto is in the set");
    assert!(
        track_file.source_code_info.is_some(),
        "comments must reach reflection clients (grpcurl describe)"
    );
}
