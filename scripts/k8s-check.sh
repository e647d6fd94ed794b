#!/usr/bin/env bash
# k8s-check.sh: render both kustomize overlays and validate every object strictly (unknown
# fields are errors) against the Kubernetes API schemas, offline; then check the Prometheus
# rules and scrape config (and the alert rules' unit tests) with promtool.
#
# Needs kubectl (with kustomize), kubernetes-validate (PyPI) and promtool (Debian
# `prometheus`); scripts/deps.sh installs the last two. Exits non-zero on the first failure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The cluster version the manifests target (probes' `grpc`, preStop `sleep` need >= 1.30).
K8S_VERSION="${TUNEMESH_K8S_VERSION:-1.32.0}"

die() { echo "k8s-check.sh: $*" >&2; exit 1; }
for tool in kubectl kubernetes-validate promtool; do
    command -v "$tool" >/dev/null || die "$tool not found; run scripts/deps.sh"
done

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for overlay in dev prod; do
    kubectl kustomize "$REPO_ROOT/k8s/overlays/$overlay" >"$out/$overlay.yaml" ||
        die "kustomize could not render k8s/overlays/$overlay"
    kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$out/$overlay.yaml" ||
        die "k8s/overlays/$overlay does not validate against Kubernetes $K8S_VERSION"
    echo "k8s-check.sh: $overlay: $(grep -c '^kind:' "$out/$overlay.yaml") objects valid"
done

promtool check rules "$REPO_ROOT/deploy/prometheus/alerts.yml"
promtool check config --syntax-only "$REPO_ROOT/deploy/prometheus/prometheus.yml"
promtool test rules "$REPO_ROOT/deploy/prometheus/alerts_test.yml"
python3 -m json.tool "$REPO_ROOT/deploy/grafana/tunemesh.json" >/dev/null ||
    die "deploy/grafana/tunemesh.json is not valid JSON"
echo "k8s-check.sh: manifests, rules, scrape config and dashboard are valid"
