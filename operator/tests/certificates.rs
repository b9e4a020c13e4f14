//! The operator-managed certificates, pass by pass (pure apart from key
//! generation): what a new cluster gets, a quiet pass writing nothing,
//! scaling, and a CA renewal walked through its three steps with the trust
//! between every pair of brokers checked by signature after every step.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use chronik_operator::certs::cluster::{cluster_certs, CertInputs, ClusterCerts};
use chronik_operator::certs::pem::{leaf_facts, new_ca};
use chronik_operator::certs::plan::{plan_ca, CaFacts, CaObserved, CaStep, CaWanted, LeafFacts};
use chronik_operator::validate::{validate, ValidatedCluster};
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;
use x509_parser::pem::Pem;

const DAY: i64 = 86_400;
const T0: i64 = 1_800_000_000;
const PROPAGATION: i64 = 120;

fn cluster(spec: serde_json::Value) -> ValidatedCluster {
    validate(&support::cluster_with("orders", spec)).expect("valid cluster")
}

/// The Secrets as the API server holds them after the pass applied them.
#[derive(Default, Clone)]
struct Store(BTreeMap<String, Secret>);

impl Store {
    fn pass(&mut self, cluster: &ValidatedCluster, pods: u32, now: i64) -> ClusterCerts {
        let certs = cluster_certs(&CertInputs {
            cluster,
            secrets: &self.0,
            pods,
            external_hosts: &BTreeMap::new(),
            now,
            propagation_secs: PROPAGATION,
        })
        .expect("certificates");
        for secret in &certs.secrets {
            let name = secret.metadata.name.clone().unwrap();
            self.0.insert(name, secret.clone());
        }
        certs
    }

    fn text(&self, secret: &str, key: &str) -> String {
        let bytes = &self.0[secret].data.as_ref().unwrap()[key];
        String::from_utf8(bytes.0.clone()).unwrap()
    }

    fn keys(&self, secret: &str) -> BTreeSet<String> {
        self.0[secret]
            .data
            .as_ref()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    /// Every leaf certificate published (brokers' and the operator's).
    fn leaves(&self) -> Vec<String> {
        let mut leaves: Vec<String> = self
            .keys("orders-brokers")
            .iter()
            .filter(|k| k.ends_with(".crt"))
            .map(|k| self.text("orders-brokers", k))
            .collect();
        leaves.push(self.text("orders-operator", "tls.crt"));
        leaves
    }

    fn bundle(&self) -> String {
        self.text("orders-cluster-ca-cert", "ca.crt")
    }
}

/// True when `leaf` is signed by one of the CAs in `bundle` (checked by
/// signature, as a TLS peer would).
fn trusted(leaf: &str, bundle: &str) -> bool {
    let (_, leaf_pem) = x509_parser::pem::parse_x509_pem(leaf.as_bytes()).unwrap();
    let leaf = leaf_pem.parse_x509().unwrap();
    Pem::iter_from_buffer(bundle.as_bytes()).any(|ca| {
        let ca = ca.unwrap();
        let ca = ca.parse_x509().unwrap();
        leaf.issuer() == ca.subject() && leaf.verify_signature(Some(ca.public_key())).is_ok()
    })
}

fn bundle_len(bundle: &str) -> usize {
    Pem::iter_from_buffer(bundle.as_bytes()).count()
}

/// Pods see a Secret change at different moments: across one step, any
/// broker may hold the leaf of before or after, and any peer the bundle of
/// before or after. Every combination must verify.
fn assert_trust_across(before: &Store, after: &Store) {
    for leaf in before.leaves().iter().chain(after.leaves().iter()) {
        for bundle in [before.bundle(), after.bundle()] {
            assert!(trusted(leaf, &bundle), "a broker would refuse a peer");
        }
    }
}

#[test]
fn a_new_cluster_gets_both_cas_and_a_certificate_per_pod_and_for_the_operator() {
    let vc = cluster(json!({"replicas": 3}));
    let mut store = Store::default();
    let certs = store.pass(&vc, 3, T0);
    assert_eq!(certs.cluster_plan.step, CaStep::Create);
    assert_eq!(certs.clients_plan.step, CaStep::Create);
    let names: Vec<_> = certs
        .secrets
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "orders-cluster-ca",
            "orders-cluster-ca-cert",
            "orders-clients-ca",
            "orders-clients-ca-cert",
            "orders-brokers",
            "orders-operator"
        ]
    );
    assert_eq!(
        store.keys("orders-cluster-ca"),
        BTreeSet::from(["ca.crt".into(), "ca.key".into()])
    );
    assert_eq!(
        store.keys("orders-cluster-ca-cert"),
        BTreeSet::from(["ca.crt".into()])
    );
    assert_eq!(
        store.keys("orders-clients-ca-cert"),
        BTreeSet::from(["ca.crt".into()])
    );
    assert_eq!(
        store.keys("orders-brokers"),
        ["orders-0", "orders-1", "orders-2"]
            .iter()
            .flat_map(|p| [format!("{p}.crt"), format!("{p}.key")])
            .collect()
    );
    assert_eq!(
        store.keys("orders-operator"),
        BTreeSet::from(["ca.crt".into(), "tls.crt".into(), "tls.key".into()])
    );

    let leaf = leaf_facts("orders-1", &store.text("orders-brokers", "orders-1.crt")).unwrap();
    for san in [
        "uri:urn:chronik:node:2",
        "dns:orders-1.orders-headless.streams.svc.cluster.local",
        "dns:orders-1.orders-headless.streams.svc",
        "dns:orders-1.orders-headless.streams",
        "dns:orders-1.orders-headless",
        "dns:orders.streams.svc.cluster.local",
        "dns:orders",
    ] {
        assert!(
            leaf.sans.contains(san),
            "{san} missing from {:?}",
            leaf.sans
        );
    }
    assert!(!leaf.sans.iter().any(|s| s.contains("node:1")));
    let operator = leaf_facts("operator", &store.text("orders-operator", "tls.crt")).unwrap();
    assert_eq!(
        operator.sans,
        BTreeSet::from(["uri:urn:chronik:operator".to_string()])
    );
    for leaf in store.leaves() {
        assert!(trusted(&leaf, &store.bundle()));
    }
    let clients = store.text("orders-clients-ca-cert", "ca.crt");
    assert!(!trusted(&store.leaves()[0], &clients), "the two CAs differ");
    let tls = certs.operator_tls.expect("operator identity");
    assert_eq!(tls.ca_pem, store.bundle());
}

#[test]
fn a_quiet_pass_rewrites_every_secret_byte_for_byte() {
    let vc = cluster(json!({"replicas": 3}));
    let mut store = Store::default();
    store.pass(&vc, 3, T0);
    let before = store.clone();
    let certs = store.pass(&vc, 3, T0 + 3600);
    assert!(certs.cluster_plan.is_quiet() && certs.clients_plan.is_quiet());
    for secret in &certs.secrets {
        let name = secret.metadata.name.as_ref().unwrap();
        assert_eq!(secret.data, before.0[name].data, "{name} changed");
        assert_eq!(
            secret.metadata.annotations, before.0[name].metadata.annotations,
            "{name}"
        );
    }
}

#[test]
fn scaling_issues_only_new_pods_and_drops_removed_ones() {
    let vc = cluster(json!({"replicas": 3}));
    let mut store = Store::default();
    store.pass(&vc, 3, T0);
    let before = store.clone();
    let certs = store.pass(&vc, 5, T0 + 60);
    assert_eq!(certs.cluster_plan.step, CaStep::Keep);
    assert_eq!(
        certs.cluster_plan.issue,
        BTreeSet::from(["orders-3".to_string(), "orders-4".to_string()])
    );
    assert_eq!(
        store.text("orders-brokers", "orders-0.crt"),
        before.text("orders-brokers", "orders-0.crt")
    );
    let certs = store.pass(&vc, 3, T0 + 120);
    assert_eq!(
        certs.cluster_plan.remove,
        BTreeSet::from(["orders-3".to_string(), "orders-4".to_string()])
    );
    assert!(!store.keys("orders-brokers").contains("orders-3.crt"));
}

#[test]
fn ca_renewal_stages_promotes_then_drops_without_breaking_trust() {
    let vc =
        cluster(json!({"replicas": 3, "tls": {"ca": {"validityDays": 60, "renewalDays": 10}}}));
    let mut store = Store::default();
    store.pass(&vc, 3, T0);
    let first_bundle = store.bundle();
    let mut history = vec![store.clone()];
    let mut steps = Vec::new();
    // Every 30 s from just before the renewal window until well after.
    let start = T0 + 50 * DAY - 60;
    let mut now = start;
    while now < start + 20 * 60 {
        let certs = store.pass(&vc, 3, now);
        if !matches!(certs.cluster_plan.step, CaStep::Keep | CaStep::Wait { .. }) {
            steps.push((certs.cluster_plan.step.clone(), now - start));
            assert_trust_across(history.last().unwrap(), &store);
            history.push(store.clone());
        } else {
            assert!(
                certs.cluster_plan.issue.is_empty(),
                "{:?}",
                certs.cluster_plan
            );
        }
        now += 30;
    }
    let kinds: Vec<_> = steps.iter().map(|(s, _)| s.clone()).collect();
    assert_eq!(
        kinds,
        [CaStep::Stage, CaStep::Promote, CaStep::Drop],
        "{steps:?}"
    );
    // Each step waited for the previous one to reach the pods.
    assert!(steps[1].1 - steps[0].1 >= PROPAGATION, "{steps:?}");
    assert!(steps[2].1 - steps[1].1 >= PROPAGATION, "{steps:?}");

    // Stage: old + new trusted, leaves untouched. Promote: new leaves, both
    // trusted, the old CA kept as old.crt. Drop: the new CA alone.
    assert_eq!(bundle_len(&history[1].bundle()), 2);
    assert_eq!(history[1].leaves(), history[0].leaves());
    assert!(history[1].keys("orders-cluster-ca").contains("next.crt"));
    assert_eq!(bundle_len(&history[2].bundle()), 2);
    assert!(history[2].keys("orders-cluster-ca").contains("old.crt"));
    for (old, new) in history[1].leaves().iter().zip(history[2].leaves()) {
        assert_ne!(old, &new, "every leaf re-issued by the new CA");
    }
    assert_eq!(bundle_len(&store.bundle()), 1);
    assert_ne!(store.bundle(), first_bundle);
    for leaf in store.leaves() {
        assert!(trusted(&leaf, &store.bundle()));
        assert!(!trusted(&leaf, &first_bundle));
    }
    assert_eq!(
        store.keys("orders-cluster-ca"),
        BTreeSet::from(["ca.crt".into(), "ca.key".into()])
    );
}

#[test]
fn a_user_provided_ca_signs_and_its_replacement_is_rolled_out_in_steps() {
    let vc = cluster(json!({"replicas": 3,
        "tls": {"ca": {"secretName": "my-ca", "validityDays": 30, "renewalDays": 5}}}));
    let user_ca = |now| new_ca("corp CA", now, 3650 * DAY).unwrap();
    let provide = |store: &mut Store, ca: &chronik_operator::certs::pem::CaPem| {
        let mut data = BTreeMap::new();
        data.insert(
            "ca.crt".to_string(),
            k8s_openapi::ByteString(ca.cert.clone().into_bytes()),
        );
        data.insert(
            "ca.key".to_string(),
            k8s_openapi::ByteString(ca.key.clone().into_bytes()),
        );
        store.0.insert(
            "my-ca".to_string(),
            Secret {
                data: Some(data),
                ..Secret::default()
            },
        );
    };
    let mut store = Store::default();
    let first = user_ca(T0);
    provide(&mut store, &first);
    store.pass(&vc, 3, T0);
    assert_eq!(store.text("orders-cluster-ca", "ca.crt"), first.cert);
    assert_eq!(store.bundle().trim(), first.cert.trim());

    // Leaves (30 days) renew on their own under a long-lived user CA.
    let before = store.clone();
    let certs = store.pass(&vc, 3, T0 + 26 * DAY);
    assert_eq!(certs.cluster_plan.step, CaStep::Keep);
    assert_eq!(certs.cluster_plan.issue.len(), 4);
    assert_trust_across(&before, &store);

    // The user replaces the CA: staged, promoted, dropped.
    let second = user_ca(T0 + 27 * DAY);
    provide(&mut store, &second);
    let mut now = T0 + 27 * DAY;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let before = store.clone();
        let certs = store.pass(&vc, 3, now);
        if !matches!(certs.cluster_plan.step, CaStep::Keep | CaStep::Wait { .. }) {
            seen.push(certs.cluster_plan.step.clone());
            assert_trust_across(&before, &store);
        }
        now += 60;
    }
    assert_eq!(seen, [CaStep::Stage, CaStep::Promote, CaStep::Drop]);
    assert_eq!(store.bundle().trim(), second.cert.trim());
}

fn facts(id: &str, not_after: i64) -> CaFacts {
    CaFacts {
        id: id.to_string(),
        not_after,
    }
}

#[test]
fn the_planner_republishes_a_tampered_bundle_and_reissues_foreign_leaves() {
    let wanted = CaWanted {
        leaves: BTreeMap::from([("c-0".to_string(), BTreeSet::from(["uri:x".to_string()]))]),
        managed: true,
        renewal_secs: 10 * DAY,
        propagation_secs: PROPAGATION,
    };
    let leaf = |issuer: &str| LeafFacts {
        issuer: issuer.to_string(),
        not_after: T0 + 100 * DAY,
        sans: BTreeSet::from(["uri:x".to_string()]),
    };
    let observed = CaObserved {
        current: Some(facts("A", T0 + 100 * DAY)),
        bundle: BTreeSet::from(["A".to_string(), "Z".to_string()]),
        leaves: BTreeMap::from([("c-0".to_string(), leaf("A"))]),
        ..CaObserved::default()
    };
    assert_eq!(plan_ca(&observed, &wanted, T0).step, CaStep::Publish);

    let foreign = CaObserved {
        bundle: BTreeSet::from(["A".to_string()]),
        leaves: BTreeMap::from([("c-0".to_string(), leaf("Z"))]),
        ..observed.clone()
    };
    let plan = plan_ca(&foreign, &wanted, T0);
    assert_eq!(plan.step, CaStep::Keep);
    assert_eq!(plan.issue, BTreeSet::from(["c-0".to_string()]));

    // A step written moments ago: the next one waits.
    let staged = CaObserved {
        next: Some(facts("B", T0 + 200 * DAY)),
        bundle: BTreeSet::from(["A".to_string(), "B".to_string()]),
        step_at: Some(T0 - 10),
        ..foreign
    };
    assert_eq!(
        plan_ca(&staged, &wanted, T0).step,
        CaStep::Wait {
            until: T0 - 10 + PROPAGATION,
            next: "promote the new CA"
        }
    );
}

#[test]
fn with_cert_manager_the_operator_asks_for_certificates_and_copies_what_is_issued() {
    use chronik_operator::certs::pem::issue_leaf;
    let vc = cluster(
        json!({"replicas": 3, "tls": {"ca": {"validityDays": 90, "renewalDays": 15,
        "certManager": {"issuerRef": {"name": "corp", "kind": "ClusterIssuer"}}}}}),
    );
    let mut store = Store::default();
    let certs = store.pass(&vc, 3, T0);
    let names: Vec<_> = certs
        .certificates
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "orders-operator-cert",
            "orders-0-cert",
            "orders-1-cert",
            "orders-2-cert"
        ]
    );
    let spec = &certs.certificates[2].spec;
    assert_eq!(spec.secret_name, "orders-1-cert");
    assert_eq!(
        (spec.duration.as_str(), spec.renew_before.as_str()),
        ("2160h", "360h")
    );
    assert_eq!(spec.uris, ["urn:chronik:node:2"]);
    assert!(spec
        .dns_names
        .contains(&"orders-1.orders-headless.streams.svc.cluster.local".to_string()));
    assert_eq!(
        (spec.issuer_ref.name.as_str(), spec.issuer_ref.kind.as_str()),
        ("corp", "ClusterIssuer")
    );
    assert_eq!(certs.certificates[0].spec.uris, ["urn:chronik:operator"]);
    // Nothing issued yet: no leaves, no identity, and no CA key of the operator's.
    assert!(certs.operator_tls.is_none());
    assert!(!store.0.contains_key("orders-cluster-ca"));
    assert!(store.keys("orders-brokers").is_empty());
    assert!(
        store.0.contains_key("orders-clients-ca"),
        "the clients CA stays the operator's"
    );

    // cert-manager issues (here: a CA standing in for the issuer).
    let issuer = new_ca("corp issuer", T0, 3650 * DAY).unwrap();
    for (leaf, certificate) in ["operator", "orders-0", "orders-1", "orders-2"]
        .iter()
        .zip(&certs.certificates)
    {
        let sans: BTreeSet<String> = certificate
            .spec
            .uris
            .iter()
            .map(|u| format!("uri:{u}"))
            .collect();
        let issued = issue_leaf(&issuer, leaf, &sans, T0, 90 * DAY, T0 + 3650 * DAY).unwrap();
        let data = [
            ("tls.crt", issued.cert),
            ("tls.key", issued.key),
            ("ca.crt", issuer.cert.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), k8s_openapi::ByteString(v.into_bytes())))
        .collect();
        store.0.insert(
            certificate.spec.secret_name.clone(),
            Secret {
                data: Some(data),
                ..Secret::default()
            },
        );
    }
    let certs = store.pass(&vc, 3, T0 + 60);
    assert_eq!(store.bundle().trim(), issuer.cert.trim());
    assert_eq!(store.keys("orders-brokers").len(), 6);
    for leaf in store.leaves() {
        assert!(trusted(&leaf, &store.bundle()));
    }
    let tls = certs
        .operator_tls
        .expect("the operator's identity from cert-manager");
    assert_eq!(tls.ca_pem, store.bundle());
}
