//! Generates the Rust messages, gRPC clients and gRPC servers of every `.proto` file under
//! `proto/tunemesh/`, plus a file descriptor set for gRPC reflection, into `OUT_DIR`.
//!
//! protoc comes from the `protoc-bin-vendored` crate, so a build needs no system protoc and
//! every machine generates the same code.

use std::error::Error;
use std::path::{Path, PathBuf};

/// Root of the proto import tree: files import each other as `tunemesh/<area>/v1/<file>.proto`.
const PROTO_ROOT: &str = "tunemesh";

/// The fields carrying audio, generated as `Bytes`.
const AUDIO_PAYLOADS: [&str; 5] = [
    ".tunemesh.player.v1.ReadAudioRangeResponse.data",
    ".tunemesh.catalog.v1.UploadTrackRequest.chunk",
    ".tunemesh.player.v1.AudioChunk.data",
    ".tunemesh.player.v1.GetAudioSegmentResponse.data",
    // Not audio, but the same case: stored bytes passed on whole.
    ".tunemesh.catalog.v1.GetImageResponse.data",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut protos = Vec::new();
    collect_protos(&manifest_dir.join(PROTO_ROOT), &mut protos)?;
    // Sorted so the generated code and descriptor set do not depend on directory order.
    protos.sort();
    if protos.is_empty() {
        return Err(format!(
            "no .proto files under {}",
            manifest_dir.join(PROTO_ROOT).display()
        )
        .into());
    }

    // Cargo scans a directory given to rerun-if-changed recursively, so this one line covers
    // edited, added and removed contracts alike.
    println!("cargo:rerun-if-changed={PROTO_ROOT}");

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    // The well-known types (`google/protobuf/*.proto`) ship with the vendored protoc.
    let includes = [manifest_dir.clone(), protoc_bin_vendored::include_path()?];

    let mut builder = tonic_prost_build::configure();
    // Audio payloads as `bytes::Bytes`: player-svc sends the buffers it read (and the
    // gateway an upload's body frames) without copying them into a `Vec`, and a receiver's
    // decoded payload shares the receive buffer instead of being copied out of it.
    for path in AUDIO_PAYLOADS {
        builder = builder.bytes(path);
    }
    builder
        .build_client(true)
        .build_server(true)
        // Every server trait method gets a default body answering UNIMPLEMENTED, so a
        // service can be implemented one RPC at a time.
        .generate_default_stubs(true)
        .file_descriptor_set_path(out_dir.join("tunemesh_descriptor.bin"))
        .out_dir(&out_dir)
        // Ours above also covers added and removed files; the generator's would not.
        .emit_rerun_if_changed(false)
        .compile_with_config(config, &protos, &includes)?;
    Ok(())
}

/// Appends every `.proto` file under `dir`, recursively, to `found`.
fn collect_protos(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            found.push(path);
        }
    }
    Ok(())
}
