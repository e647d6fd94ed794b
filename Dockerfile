# syntax=docker/dockerfile:1.7
# The tunemesh container image: one binary that runs any service (`tunemesh serve <name>`),
# the gateway, the ingest job, or everything at once (`tunemesh up`).
#
# NOTE: this image cannot be built on the development machines of this project (no container
# engine there; see ../shared/design/infra.md), so it is kept deliberately standard: it is
# checked by review and by the Kubernetes manifests that use it, not by a local build.
#
#   docker build -t tunemesh:dev .
#   docker run --rm -p 8080:8080 tunemesh:dev up --addr 0.0.0.0:8080 --data-dir /tmp/tunemesh
#
# Stages: `chef` (toolchain + cargo-chef), `planner` (dependency recipe), `builder` (deps
# cached in their own layer, then the workspace), `runtime` (distroless, non-root).

ARG RUST_VERSION=1.95
ARG CARGO_CHEF_VERSION=0.1.71
# Optional cargo features, e.g. `--build-arg FEATURES=s3` for media blobs in an
# S3-compatible bucket (`[player.s3]`) instead of a shared volume.
ARG FEATURES=""

FROM rust:${RUST_VERSION}-bookworm AS chef
ARG CARGO_CHEF_VERSION
# Nothing beyond the Rust image: libopus is built by the `cc` crate (vendor/opusic-sys) with the
# image's gcc, and protoc is vendored by a crate.
RUN cargo install cargo-chef --locked --version "${CARGO_CHEF_VERSION}"
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG FEATURES
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.toml or Cargo.lock change.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo chef cook --release --locked --recipe-path recipe.json --bin tunemesh \
      ${FEATURES:+--features "$FEATURES"}
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo build --release --locked --bin tunemesh ${FEATURES:+--features "$FEATURES"} \
 # Stripped (`install -s`, binutils' strip from the Rust image): the line tables the release
 # profile keeps for local profiling are most of the file and nothing an image runs needs.
 && install -s -D -m 0755 target/release/tunemesh /out/tunemesh \
 # Writable directories the runtime image needs, owned by the non-root user.
 && install -d -o 65532 -g 65532 /out/data /out/tmp

# distroless/cc: glibc and libgcc only (libopus and SQLite are linked in statically), no shell,
# no package manager. The `nonroot` tag runs as uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.title="tunemesh" \
      org.opencontainers.image.description="music-streaming backend: gateway, player, playlist, search, reco" \
      org.opencontainers.image.source="https://example.invalid/tunemesh" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=builder /out/tunemesh /usr/local/bin/tunemesh
# /data holds blobs and indexes when no volume is mounted; /tmp is an emptyDir in Kubernetes,
# so the root filesystem can stay read-only.
COPY --from=builder --chown=65532:65532 /out/data /data
COPY --from=builder --chown=65532:65532 /out/tmp /tmp
USER 65532:65532
WORKDIR /data
ENV TUNEMESH_DATA_DIR=/data \
    TUNEMESH_TELEMETRY__LOG_FORMAT=json
# 8080: gateway HTTP; 50051: a service's gRPC; 9090: /metrics, /healthz, /readyz of a service.
EXPOSE 8080 50051 9090
ENTRYPOINT ["/usr/local/bin/tunemesh"]
CMD ["serve", "gateway"]
