//! One cluster's certificates in one pass: both CAs planned and carried
//! out, and the six Secrets to apply (in the order that keeps trust: CA,
//! bundle, then the leaves).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;

use super::cert_manager::{build_certificates, copy_issued, issued_secret_name, Certificate};
use super::pem::{ca_facts, CaPem, CertError, LeafPem};
use super::plan::{plan_ca, CaStep, CaWanted, CertPlan};
use super::secrets::{ca_secrets, carry_out, secret, text, CaState, Signing, CA_CRT, CA_KEY};
use super::{cluster_leaves, SecretNames, OPERATOR_LEAF};
use crate::brokers::ClientTls;
use crate::crd::IssuerRef;
use crate::validate::ValidatedCluster;

/// What a pass knows about a cluster's certificates.
pub struct CertInputs<'a> {
    pub cluster: &'a ValidatedCluster,
    /// Live Secrets by name (the six of [`SecretNames`], and the user's CA).
    pub secrets: &'a BTreeMap<String, Secret>,
    /// Broker pods `0..pods` need a certificate.
    pub pods: u32,
    /// External addresses each pod advertises, by ordinal.
    pub external_hosts: &'a BTreeMap<u32, BTreeSet<String>>,
    /// Seconds since the epoch.
    pub now: i64,
    /// Seconds a Secret change needs to reach the pods.
    pub propagation_secs: i64,
}

/// The outcome: Secrets (and with cert-manager, `Certificate`s) to apply,
/// the operator's client identity, and the plans (for logs and tests).
#[derive(Debug)]
pub struct ClusterCerts {
    pub secrets: Vec<Secret>,
    pub certificates: Vec<Certificate>,
    pub operator_tls: Option<ClientTls>,
    pub cluster_plan: CertPlan,
    pub clients_plan: CertPlan,
}

const DAY: i64 = 86_400;

/// Plan and carry out both CAs of a cluster.
pub fn cluster_certs(input: &CertInputs<'_>) -> Result<ClusterCerts, CertError> {
    let cluster = input.cluster;
    let names = SecretNames::of(&cluster.name);
    let get = |name: &str| input.secrets.get(name);
    let settings = &cluster.security.ca;
    let provided = user_ca(input)?;
    let validity_secs = i64::from(settings.validity_days) * DAY;
    let leaves = cluster_leaves(cluster, input.pods, input.external_hosts);
    if let Some(issuer) = &settings.cert_manager {
        return from_cert_manager(input, issuer, &leaves, validity_secs);
    }

    // The cluster CA: brokers and the operator.
    let mut state = CaState::read(get(&names.cluster_ca), read_leaves(input, &names, &leaves));
    let wanted = CaWanted {
        leaves,
        managed: provided.is_none(),
        renewal_secs: i64::from(settings.renewal_days) * DAY,
        propagation_secs: input.propagation_secs,
    };
    let bundle = text(get(&names.cluster_ca_cert), CA_CRT);
    let cluster_plan = plan_ca(
        &state.observe(bundle.as_deref(), provided.as_ref()),
        &wanted,
        input.now,
    );
    let ca_name = format!("{} cluster CA", cluster.name);
    carry_out(
        &mut state,
        &cluster_plan,
        &wanted.leaves,
        &Signing {
            ca_name: &ca_name,
            validity_secs,
            provided: provided.as_ref(),
            now: input.now,
        },
    )?;

    let (clients, clients_plan) = clients_ca(input, &names, validity_secs)?;

    let (cluster_ca, cluster_bundle) =
        ca_secrets(cluster, &state, &names.cluster_ca, &names.cluster_ca_cert);
    let (clients_ca, clients_bundle) =
        ca_secrets(cluster, &clients, &names.clients_ca, &names.clients_ca_cert);
    let brokers = secret(cluster, &names.brokers, broker_data(&state));
    let operator_leaf = state.leaves.get(OPERATOR_LEAF);
    let operator_tls = operator_leaf.map(|leaf| ClientTls {
        ca_pem: state.bundle(),
        cert_pem: leaf.cert.clone(),
        key_pem: leaf.key.clone(),
    });
    let operator_data = operator_tls.as_ref().map_or_else(BTreeMap::new, |tls| {
        BTreeMap::from([
            ("tls.crt".to_string(), tls.cert_pem.clone()),
            ("tls.key".to_string(), tls.key_pem.clone()),
            (CA_CRT.to_string(), tls.ca_pem.clone()),
        ])
    });
    let operator = secret(cluster, &names.operator, operator_data);
    Ok(ClusterCerts {
        secrets: vec![
            cluster_ca,
            cluster_bundle,
            clients_ca,
            clients_bundle,
            brokers,
            operator,
        ],
        certificates: Vec::new(),
        operator_tls,
        cluster_plan,
        clients_plan,
    })
}

/// The CA of the user's Secret (`spec.tls.ca.secretName`). One that cannot
/// be read stops the pass: signing with a CA of the operator's own instead
/// would split the cluster's trust.
fn user_ca(input: &CertInputs<'_>) -> Result<Option<CaPem>, CertError> {
    let Some(name) = input.cluster.security.ca.secret_name.as_deref() else {
        return Ok(None);
    };
    let secret = input.secrets.get(name);
    let (cert, key) = text(secret, CA_CRT)
        .zip(text(secret, CA_KEY))
        .filter(|(cert, _)| ca_facts(name, cert).is_ok())
        .ok_or_else(|| CertError::MissingUserCa {
            secret: name.to_string(),
        })?;
    Ok(Some(CaPem { cert, key }))
}

/// With cert-manager: the `Certificate`s to apply and the copies of what
/// it issued; the clients CA stays the operator's.
fn from_cert_manager(
    input: &CertInputs<'_>,
    issuer: &IssuerRef,
    leaves: &BTreeMap<String, BTreeSet<String>>,
    validity_secs: i64,
) -> Result<ClusterCerts, CertError> {
    let cluster = input.cluster;
    let names = SecretNames::of(&cluster.name);
    let (clients, clients_plan) = clients_ca(input, &names, validity_secs)?;
    let (clients_ca, clients_bundle) =
        ca_secrets(cluster, &clients, &names.clients_ca, &names.clients_ca_cert);
    let (mut secrets, operator_tls) = copy_issued(cluster, input.secrets, leaves);
    // After `<c>-cluster-ca-cert`, before the leaves.
    secrets.insert(1, clients_ca);
    secrets.insert(2, clients_bundle);
    Ok(ClusterCerts {
        secrets,
        certificates: build_certificates(cluster, issuer, leaves),
        operator_tls,
        cluster_plan: CertPlan {
            step: CaStep::Keep,
            issue: BTreeSet::new(),
            remove: BTreeSet::new(),
        },
        clients_plan,
    })
}

/// The clients CA: always the operator's own; it signs ChronikUser
/// certificates, not leaves of this module.
fn clients_ca(
    input: &CertInputs<'_>,
    names: &SecretNames,
    validity_secs: i64,
) -> Result<(CaState, CertPlan), CertError> {
    let get = |name: &str| input.secrets.get(name);
    let settings = &input.cluster.security.ca;
    let mut clients = CaState::read(get(&names.clients_ca), BTreeMap::new());
    let wanted = CaWanted {
        leaves: BTreeMap::new(),
        managed: true,
        renewal_secs: i64::from(settings.renewal_days) * DAY,
        propagation_secs: input.propagation_secs,
    };
    let bundle = text(get(&names.clients_ca_cert), CA_CRT);
    let plan = plan_ca(
        &clients.observe(bundle.as_deref(), None),
        &wanted,
        input.now,
    );
    let ca_name = format!("{} clients CA", input.cluster.name);
    carry_out(
        &mut clients,
        &plan,
        &BTreeMap::new(),
        &Signing {
            ca_name: &ca_name,
            validity_secs,
            provided: None,
            now: input.now,
        },
    )?;
    Ok((clients, plan))
}

/// Every Secret a pass reads: the six of [`SecretNames`], a user CA, and
/// with cert-manager the Secrets it issues (pods `0..pods`, the operator).
pub fn secrets_to_read(cluster: &ValidatedCluster, pods: u32) -> Vec<String> {
    let names = SecretNames::of(&cluster.name);
    let mut read = vec![
        names.cluster_ca,
        names.cluster_ca_cert,
        names.clients_ca,
        names.clients_ca_cert,
        names.brokers,
        names.operator,
    ];
    read.extend(cluster.security.ca.secret_name.clone());
    if cluster.security.ca.cert_manager.is_some() {
        read.extend((0..pods).map(|o| issued_secret_name(cluster, &cluster.addresses.pod_name(o))));
        read.push(issued_secret_name(cluster, OPERATOR_LEAF));
    }
    read
}

/// The leaves the live Secrets hold: `<pod>.crt`/`.key` of `<c>-brokers`
/// (every pod found there, wanted or not) and `tls.*` of `<c>-operator`.
fn read_leaves(
    input: &CertInputs<'_>,
    names: &SecretNames,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeMap<String, LeafPem> {
    let mut leaves = BTreeMap::new();
    let brokers = input.secrets.get(&names.brokers);
    let keys = brokers
        .and_then(|s| s.data.as_ref())
        .map(|d| d.keys().cloned().collect::<Vec<_>>())
        .unwrap_or_default();
    let pods = keys
        .iter()
        .filter_map(|k| k.strip_suffix(".crt"))
        .chain(wanted.keys().map(String::as_str))
        .filter(|name| *name != OPERATOR_LEAF)
        .collect::<BTreeSet<_>>();
    for pod in pods {
        let cert = text(brokers, &format!("{pod}.crt"));
        let key = text(brokers, &format!("{pod}.key"));
        if let (Some(cert), Some(key)) = (cert, key) {
            leaves.insert(pod.to_string(), LeafPem { cert, key });
        }
    }
    let operator = input.secrets.get(&names.operator);
    if let (Some(cert), Some(key)) = (text(operator, "tls.crt"), text(operator, "tls.key")) {
        leaves.insert(OPERATOR_LEAF.to_string(), LeafPem { cert, key });
    }
    leaves
}

fn broker_data(state: &CaState) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    for (name, leaf) in state.leaves.iter().filter(|(n, _)| *n != OPERATOR_LEAF) {
        data.insert(format!("{name}.crt"), leaf.cert.clone());
        data.insert(format!("{name}.key"), leaf.key.clone());
    }
    data
}
