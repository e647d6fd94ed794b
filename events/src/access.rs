//! Who may do what on the bus: one NATS user per service, allowed exactly the subjects it
//! publishes, the durable consumers it reads through, and the JetStream API calls the
//! JetStream adapter makes for them; everything else is denied by nats-server.
//!
//! [`authorization`] renders the `authorization { users = [...] }` block of a nats-server
//! configuration from [`SERVICES`]; `tunemesh cluster` runs its NATS with it, the Kubernetes
//! manifests carry the same block (a test keeps them equal), and the events tests run a real
//! nats-server with it.
//!
//! What the adapter sends, for a deployment prefix `P` (stream `P_events`):
//! - at connect, `$JS.API.INFO` (is JetStream on for the account);
//! - at start, `$JS.API.STREAM.UPDATE.P_events`, then `STREAM.CREATE` if it is missing, then
//!   `STREAM.INFO` (every process makes sure of the stream);
//! - publishing, `P.<subject>` with a reply inbox for JetStream's acknowledgement;
//! - consuming, `$JS.API.CONSUMER.CREATE.P_events.<consumer>.P.<subject>` (one filter
//!   subject, named in the API subject, which the server checks against the config),
//!   `CONSUMER.INFO`, `CONSUMER.DELETE`, `CONSUMER.MSG.NEXT` for pulls, and `$JS.ACK.P_events.
//!   <consumer>.>` to settle each message (acks wait for the server's reply);
//! - replies (API answers, pulled messages, publish acks) arrive on the client's inbox,
//!   `_INBOX.<service>.>`: a service can read its own replies only.

use std::fmt::Write as _;

use tunemesh_proto::subjects;

/// The durable consumers a service reads through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumers {
    /// None: the service only publishes.
    None,
    /// These names exactly (shared by the service's replicas), each with the one subject it
    /// filters on.
    Named(&'static [(&'static str, &'static str)]),
    /// Names that end in the replica (search-svc: `search-play-search-0`); any name is allowed
    /// except another service's, and only on the service's own subjects.
    PerReplica,
}

/// What one service may do on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceAccess {
    /// The service, also its NATS user name.
    pub service: &'static str,
    /// Logical subjects it publishes (`events.play`).
    pub publishes: &'static [&'static str],
    /// Logical subjects it consumes, each through a consumer filtered on it.
    pub consumes: &'static [&'static str],
    /// The consumers it uses.
    pub consumers: Consumers,
}

/// Every service that connects to the bus (the gateway does not), after proto/README.md.
pub const SERVICES: &[ServiceAccess] = &[
    ServiceAccess {
        service: "player",
        publishes: &[subjects::PLAY, subjects::CATALOG],
        consumes: &[],
        consumers: Consumers::None,
    },
    ServiceAccess {
        service: "playlist",
        publishes: &[subjects::PLAYLIST],
        consumes: &[],
        consumers: Consumers::None,
    },
    ServiceAccess {
        service: "search",
        publishes: &[],
        consumes: &[subjects::PLAY, subjects::CATALOG, subjects::PLAYLIST],
        consumers: Consumers::PerReplica,
    },
    ServiceAccess {
        service: "reco",
        publishes: &[],
        consumes: &[subjects::PLAY, subjects::CATALOG, subjects::PLAYLIST],
        consumers: Consumers::Named(&[
            ("reco-play", subjects::PLAY),
            ("reco-catalog", subjects::CATALOG),
            ("reco-playlist", subjects::PLAYLIST),
        ]),
    },
];

/// The inbox prefix of a service's connection, the only subjects it may subscribe to.
pub fn inbox_prefix(user: &str) -> String {
    format!("_INBOX.{user}")
}

/// Publish and subscribe rules of one user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Subjects it may publish to.
    pub publish_allow: Vec<String>,
    /// Exceptions to `publish_allow`.
    pub publish_deny: Vec<String>,
    /// Subjects it may subscribe to.
    pub subscribe_allow: Vec<String>,
}

/// The permissions of `access` under the deployment prefix `prefix`.
pub fn permissions(prefix: &str, access: &ServiceAccess) -> Permissions {
    let stream = format!("{prefix}_events");
    let mut publish_allow = vec!["$JS.API.INFO".to_owned()];
    for call in ["INFO", "CREATE", "UPDATE"] {
        publish_allow.push(format!("$JS.API.STREAM.{call}.{stream}"));
    }
    publish_allow.extend(access.publishes.iter().map(|s| format!("{prefix}.{s}")));
    let consumers: Vec<(&str, &[&str])> = match access.consumers {
        Consumers::None => Vec::new(),
        Consumers::Named(names) => names
            .iter()
            .map(|(name, subject)| (*name, std::slice::from_ref(subject)))
            .collect(),
        Consumers::PerReplica => vec![("*", access.consumes)],
    };
    for (name, subjects) in consumers {
        for subject in subjects {
            publish_allow.push(format!(
                "$JS.API.CONSUMER.CREATE.{stream}.{name}.{prefix}.{subject}"
            ));
        }
        publish_allow.extend(consumer_calls(&stream, name));
    }
    // A wildcard name must not reach the consumers another service names exactly.
    let mut publish_deny = Vec::new();
    if access.consumers == Consumers::PerReplica {
        for other in SERVICES.iter().filter(|o| o.service != access.service) {
            if let Consumers::Named(theirs) = other.consumers {
                for (name, _) in theirs {
                    publish_deny.push(format!("$JS.API.CONSUMER.CREATE.{stream}.{name}.>"));
                    publish_deny.extend(consumer_calls(&stream, name));
                }
            }
        }
    }
    Permissions {
        publish_allow,
        publish_deny,
        subscribe_allow: vec![format!("{}.>", inbox_prefix(access.service))],
    }
}

/// Every call on an existing consumer: info, delete, pull, settle.
fn consumer_calls(stream: &str, name: &str) -> [String; 4] {
    [
        format!("$JS.API.CONSUMER.INFO.{stream}.{name}"),
        format!("$JS.API.CONSUMER.DELETE.{stream}.{name}"),
        format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}"),
        format!("$JS.ACK.{stream}.{name}.>"),
    ]
}

/// The nats-server `authorization` block for every service in [`SERVICES`] under `prefix`;
/// `password(service)` is written as is after `password: ` (a quoted string, or an unquoted
/// `$VARIABLE` nats-server takes from its environment, as the Kubernetes manifest does).
pub fn authorization(prefix: &str, password: impl Fn(&str) -> String) -> String {
    let list = |items: &[String]| {
        items
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from("authorization {\n  users = [\n");
    for access in SERVICES {
        let p = permissions(prefix, access);
        let _ = writeln!(
            out,
            "    {{\n      user: \"{}\"\n      password: {}\n      permissions: {{",
            access.service,
            password(access.service)
        );
        let _ = write!(
            out,
            "        publish: {{ allow: [{}]",
            list(&p.publish_allow)
        );
        if !p.publish_deny.is_empty() {
            let _ = write!(out, ", deny: [{}]", list(&p.publish_deny));
        }
        let _ = writeln!(
            out,
            " }}\n        subscribe: {{ allow: [{}] }}\n      }}\n    }}",
            list(&p.subscribe_allow)
        );
    }
    out.push_str("  ]\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publisher_gets_its_subjects_and_no_consumer() {
        let p = permissions("tm", &SERVICES[0]);
        assert!(p.publish_allow.contains(&"tm.events.play".to_owned()));
        assert!(p.publish_allow.contains(&"tm.events.catalog".to_owned()));
        assert!(
            !p.publish_allow
                .iter()
                .any(|s| s.contains("events.playlist"))
        );
        assert!(!p.publish_allow.iter().any(|s| s.contains("CONSUMER")));
        assert_eq!(p.subscribe_allow, ["_INBOX.player.>"]);
    }

    #[test]
    fn a_per_replica_consumer_cannot_reach_named_ones() {
        let search = permissions("tm", &SERVICES[2]);
        assert!(
            search
                .publish_allow
                .contains(&"$JS.API.CONSUMER.CREATE.tm_events.*.tm.events.play".to_owned())
        );
        assert!(
            search
                .publish_deny
                .contains(&"$JS.API.CONSUMER.MSG.NEXT.tm_events.reco-play".to_owned())
        );
        let reco = permissions("tm", &SERVICES[3]);
        assert!(reco.publish_deny.is_empty());
        assert!(
            reco.publish_allow
                .contains(&"$JS.ACK.tm_events.reco-play.>".to_owned())
        );
        assert!(
            !reco
                .publish_allow
                .iter()
                .any(|s| s.starts_with("tm.events"))
        );
    }

    /// The prod overlay's nats.conf (a YAML block, indented four spaces) holds the block.
    #[test]
    fn the_prod_overlay_runs_nats_with_these_users() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../k8s/overlays/prod/nats-auth.yaml");
        let file = std::fs::read_to_string(&path).expect("k8s/overlays/prod/nats-auth.yaml");
        let unindented: String = file
            .lines()
            .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
            .collect();
        let expected = authorization("tunemesh", |s| {
            format!("$NATS_PASSWORD_{}", s.to_uppercase())
        });
        assert!(
            unindented.contains(&expected),
            "expected in {}:\n{expected}",
            path.display()
        );
    }

    #[test]
    fn the_block_names_every_service() {
        let block = authorization("tm", |s| format!("$NATS_PASSWORD_{}", s.to_uppercase()));
        for access in SERVICES {
            assert!(block.contains(&format!("user: \"{}\"", access.service)));
        }
        assert!(block.contains("password: $NATS_PASSWORD_RECO\n"));
    }
}
