//! The Consul ACL policy of one service, for agents that run with ACLs on (default deny):
//! write on its own service name only (register, deregister, its checks, its Connect leaf
//! certificate), read on every service's and node's health (discovery).

/// The rules (HCL) of `service`'s policy, as `consul acl policy create -rules` takes them and
/// as `k8s/overlays/prod/consul-acl/<service>.hcl` holds them.
pub fn service_policy_rules(service: &str) -> String {
    format!(
        "service \"{service}\" {{\n  policy = \"write\"\n}}\n\
         service_prefix \"\" {{\n  policy = \"read\"\n}}\n\
         node_prefix \"\" {{\n  policy = \"read\"\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prod_overlay_holds_the_same_policies() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../k8s/overlays/prod/consul-acl");
        for service in ["gateway", "player", "playlist", "search", "reco"] {
            let path = dir.join(format!("{service}.hcl"));
            let file = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(file, service_policy_rules(service), "{}", path.display());
        }
    }
}
