//! cert-manager as the source of the cluster's leaf certificates
//! (`spec.tls.ca.certManager`): a cert-manager `Certificate` per broker pod
//! and one for the operator, and the copy of what cert-manager issued into
//! the Secrets the pods mount (`<c>-brokers`, `<c>-cluster-ca-cert`) and the
//! operator uses (`<c>-operator`). The pod template is the same as with the
//! operator's own CA; cert-manager renews, the next pass copies, the
//! brokers reload.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use super::secrets::{secret, text, CA_CRT};
use super::{SecretNames, OPERATOR_LEAF};
use crate::brokers::ClientTls;
use crate::build::owned_meta;
use crate::crd::IssuerRef;
use crate::validate::ValidatedCluster;

/// cert-manager's `Certificate` (`cert-manager.io/v1`), the fields the operator sets.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "Certificate",
    namespaced,
    derive = "PartialEq",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSpec {
    /// The Secret cert-manager writes (`tls.crt`, `tls.key`, `ca.crt`).
    pub secret_name: String,
    pub common_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Lifetime, a Go duration (`8760h`).
    pub duration: String,
    /// Renew this long before expiry.
    pub renew_before: String,
    pub usages: Vec<String>,
    pub private_key: PrivateKey,
    pub issuer_ref: CertIssuerRef,
}

/// The key cert-manager generates.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PrivateKey {
    pub algorithm: String,
    pub size: i32,
    /// `Always`: a new key with every renewal.
    pub rotation_policy: String,
}

/// The issuer of a `Certificate`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CertIssuerRef {
    pub name: String,
    pub kind: String,
    pub group: String,
}

/// The Secret cert-manager writes for leaf `name` (a pod, or `operator`).
pub fn issued_secret_name(cluster: &ValidatedCluster, leaf: &str) -> String {
    if leaf == OPERATOR_LEAF {
        format!("{}-operator-cert", cluster.name)
    } else {
        format!("{leaf}-cert")
    }
}

/// One `Certificate` per wanted leaf, with the leaf's SANs.
pub fn build_certificates(
    cluster: &ValidatedCluster,
    issuer: &IssuerRef,
    leaves: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Certificate> {
    let hours = |days: u32| format!("{}h", u64::from(days) * 24);
    leaves
        .iter()
        .map(|(leaf, sans)| {
            let pick = |prefix: &str| -> Vec<String> {
                sans.iter()
                    .filter_map(|s| s.strip_prefix(prefix).map(str::to_string))
                    .collect()
            };
            let name = issued_secret_name(cluster, leaf);
            Certificate {
                metadata: owned_meta(cluster, name.clone()),
                spec: CertificateSpec {
                    secret_name: name,
                    common_name: leaf.clone(),
                    dns_names: pick("dns:"),
                    ip_addresses: pick("ip:"),
                    uris: pick("uri:"),
                    duration: hours(cluster.security.ca.validity_days),
                    renew_before: hours(cluster.security.ca.renewal_days),
                    usages: [
                        "digital signature",
                        "key encipherment",
                        "server auth",
                        "client auth",
                    ]
                    .map(str::to_string)
                    .to_vec(),
                    private_key: PrivateKey {
                        algorithm: "ECDSA".to_string(),
                        size: 256,
                        rotation_policy: "Always".to_string(),
                    },
                    issuer_ref: CertIssuerRef {
                        name: issuer.name.clone(),
                        kind: issuer.kind.clone(),
                        group: issuer.group.clone(),
                    },
                },
            }
        })
        .collect()
}

/// The copies of what cert-manager issued: `<c>-cluster-ca-cert` (every
/// distinct `ca.crt` of the issued Secrets: two while the issuer's CA
/// changes), `<c>-brokers` and `<c>-operator`; and the operator's identity.
/// Leaves cert-manager has not issued yet are left out.
pub fn copy_issued(
    cluster: &ValidatedCluster,
    issued: &BTreeMap<String, Secret>,
    leaves: &BTreeMap<String, BTreeSet<String>>,
) -> (Vec<Secret>, Option<ClientTls>) {
    let names = SecretNames::of(&cluster.name);
    let mut bundle: Vec<String> = Vec::new();
    let mut brokers = BTreeMap::new();
    let mut operator = None;
    for leaf in leaves.keys() {
        let source = issued.get(&issued_secret_name(cluster, leaf));
        let (Some(cert), Some(key)) = (text(source, "tls.crt"), text(source, "tls.key")) else {
            continue;
        };
        if let Some(ca) = text(source, CA_CRT) {
            let ca = format!("{}\n", ca.trim_end());
            if !bundle.contains(&ca) {
                bundle.push(ca);
            }
        }
        if leaf == OPERATOR_LEAF {
            operator = Some((cert, key));
        } else {
            brokers.insert(format!("{leaf}.crt"), cert);
            brokers.insert(format!("{leaf}.key"), key);
        }
    }
    let bundle = bundle.concat();
    let tls = operator.map(|(cert_pem, key_pem)| ClientTls {
        ca_pem: bundle.clone(),
        cert_pem,
        key_pem,
    });
    let operator_data = tls.as_ref().map_or_else(BTreeMap::new, |tls| {
        BTreeMap::from([
            ("tls.crt".to_string(), tls.cert_pem.clone()),
            ("tls.key".to_string(), tls.key_pem.clone()),
            (CA_CRT.to_string(), tls.ca_pem.clone()),
        ])
    });
    let secrets = vec![
        secret(
            cluster,
            &names.cluster_ca_cert,
            BTreeMap::from([(CA_CRT.to_string(), bundle)]),
        ),
        secret(cluster, &names.brokers, brokers),
        secret(cluster, &names.operator, operator_data),
    ];
    (secrets, tls)
}
