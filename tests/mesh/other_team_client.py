"""Another team's service calling tunemesh, as docs/other-teams.md shows: Python grpcio stubs
generated from proto/, a certificate from the local Consul agent, mutual TLS to the player
and search services found through Consul.

    python3 other_team_client.py CONSUL_ADDR SERVICE PROTO_DIR OUT_DIR QUERY

Prints one JSON object: for each call, {"ok": true, ...} or {"ok": false, "code", "details"}.
"""

import json
import pathlib
import subprocess
import sys
import urllib.request


def generate_stubs(proto_dir, out_dir):
    """`python -m grpc_tools.protoc` over every contract, into OUT_DIR (an importable root)."""
    protos = sorted(str(p.relative_to(proto_dir)) for p in pathlib.Path(proto_dir).rglob("*.proto"))
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}",
         f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", *protos],
        check=True,
    )
    sys.path.insert(0, out_dir)


def agent(consul, path):
    with urllib.request.urlopen(f"{consul}{path}", timeout=10) as answer:
        return json.load(answer)


def credentials(consul, service):
    """The service's leaf and key, and the CA roots, from the local agent."""
    import grpc

    leaf = agent(consul, f"/v1/agent/connect/ca/leaf/{service}")
    roots = agent(consul, "/v1/agent/connect/ca/roots")
    creds = grpc.ssl_channel_credentials(
        root_certificates="".join(r["RootCert"] for r in roots["Roots"]).encode(),
        private_key=leaf["PrivateKeyPEM"].encode(),
        certificate_chain=leaf["CertPEM"].encode(),
    )
    return creds, roots["TrustDomain"]


def channel(consul, creds, trust_domain, target):
    """A channel to a passing instance of `target`. Consul's leaves name the service in a SPIFFE
    URI and in the common name `<service>.svc.default.<first 8 of the trust domain>.consul`;
    grpc checks the common name when a certificate has no DNS name, so that is the name to
    expect."""
    import grpc

    instances = agent(consul, f"/v1/health/service/{target}?passing")
    if not instances:
        raise SystemExit(f"no passing instance of {target}")
    service = instances[0]["Service"]
    address = service["Address"] or instances[0]["Node"]["Address"]
    expected = f"{target}.svc.default.{trust_domain[:8]}.consul"
    return grpc.secure_channel(
        f"{address}:{service['Port']}",
        creds,
        options=[("grpc.ssl_target_name_override", expected)],
    )


def call(fn):
    import grpc

    try:
        return {"ok": True, **fn()}
    except grpc.RpcError as error:
        return {"ok": False, "code": error.code().name, "details": error.details()}


def main():
    consul, service, proto_dir, out_dir, query = sys.argv[1:6]
    generate_stubs(proto_dir, out_dir)
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
    from tunemesh.catalog.v1 import catalog_service_pb2, catalog_service_pb2_grpc
    from tunemesh.search.v1 import search_service_pb2, search_service_pb2_grpc

    creds, trust_domain = credentials(consul, service)
    player = channel(consul, creds, trust_domain, "player")
    search = channel(consul, creds, trust_domain, "search")

    def tracks():
        stub = catalog_service_pb2_grpc.CatalogServiceStub(player)
        answer = stub.ListTracks(catalog_service_pb2.ListTracksRequest(page_size=10), timeout=10)
        return {"titles": [t.title for t in answer.tracks]}

    def found():
        stub = search_service_pb2_grpc.SearchServiceStub(search)
        answer = stub.Search(search_service_pb2.SearchRequest(query=query, page_size=5), timeout=10)
        return {"hits": len(answer.results)}

    def services():
        # grpcio-reflection's client side speaks v1alpha only.
        stub = reflection_pb2_grpc.ServerReflectionStub(player)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answer = next(stub.ServerReflectionInfo(iter([request]), timeout=10))
        return {"services": sorted(s.name for s in answer.list_services_response.service)}

    print(json.dumps({"catalog": call(tracks), "search": call(found), "reflection": call(services)}))


if __name__ == "__main__":
    main()
