//! The user's Secret, built from its credential material (pure): named
//! after the user, owned by the ChronikUser (deleted with it), holding what
//! a client needs, and (SCRAM) the digest of the password the brokers have. SCRAM: `password`, `sasl.jaas.config`; tls: `user.crt`,
//! `user.key`; both: `ca.crt` (the cluster CA, when the cluster has one) and
//! `client.properties` (Kafka client settings, certificates inline as PEM).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::ByteString;

use super::credentials::{keys, Material};
use super::plan::{password_digest, Connection};
use super::validate::ValidatedUser;
use crate::build::{APP_NAME, MANAGED_BY};
use crate::crd::{GROUP, VERSION};

/// Label naming the ChronikUser a Secret belongs to.
pub const USER_LABEL: &str = "chronik.io/user";
/// Annotation recording the digest of the password whose SCRAM credential
/// the brokers were given (written only after they took it).
pub const SCRAM_SENT_ANNOTATION: &str = "chronik.io/scram-password-sha256";

/// Kafka's JAAS line for SCRAM.
pub fn jaas_config(user: &str, password: &str) -> String {
    format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";"
    )
}

/// A PEM text as one Java-properties value: every line continued with `\`
/// (Kafka's PEM stores read it back, KIP-651).
fn pem_value(pem: &str) -> String {
    let lines: Vec<&str> = pem.lines().filter(|l| !l.trim().is_empty()).collect();
    lines.join(" \\\n  ")
}

/// The `client.properties` text for `material` over `connection`.
pub fn client_properties(
    user: &str,
    material: &Material,
    connection: &Connection,
    cluster_ca: Option<&str>,
) -> String {
    let mut lines = Vec::new();
    if let Some(bootstrap) = &connection.bootstrap {
        lines.push(format!("bootstrap.servers={bootstrap}"));
    }
    match material {
        Material::Scram { password, .. } => {
            let protocol = if connection.tls {
                "SASL_SSL"
            } else {
                "SASL_PLAINTEXT"
            };
            lines.push(format!("security.protocol={protocol}"));
            lines.push("sasl.mechanism=SCRAM-SHA-512".to_string());
            lines.push(format!("sasl.jaas.config={}", jaas_config(user, password)));
        }
        Material::Tls { cert, key, .. } => {
            lines.push("security.protocol=SSL".to_string());
            lines.push("ssl.keystore.type=PEM".to_string());
            lines.push(format!(
                "ssl.keystore.certificate.chain={}",
                pem_value(cert)
            ));
            lines.push(format!("ssl.keystore.key={}", pem_value(key)));
        }
    }
    let tls = connection.tls || matches!(material, Material::Tls { .. });
    if let Some(ca) = cluster_ca.filter(|_| tls) {
        lines.push("ssl.truststore.type=PEM".to_string());
        lines.push(format!("ssl.truststore.certificates={}", pem_value(ca)));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The Secret's keys for `material`.
pub fn secret_data(
    user: &ValidatedUser,
    material: &Material,
    connection: &Connection,
    cluster_ca: Option<&str>,
) -> BTreeMap<String, String> {
    let mut data = BTreeMap::new();
    match material {
        Material::Scram { password, .. } => {
            data.insert(keys::PASSWORD.to_string(), password.clone());
            data.insert(keys::JAAS.to_string(), jaas_config(&user.name, password));
        }
        Material::Tls { cert, key, .. } => {
            data.insert(keys::USER_CRT.to_string(), cert.clone());
            data.insert(keys::USER_KEY.to_string(), key.clone());
        }
    }
    if let Some(ca) = cluster_ca {
        data.insert(keys::CA_CRT.to_string(), ca.to_string());
    }
    data.insert(
        keys::CLIENT_PROPERTIES.to_string(),
        client_properties(&user.name, material, connection, cluster_ca),
    );
    data
}

/// The user's Secret.
pub fn build_secret(
    user: &ValidatedUser,
    material: &Material,
    connection: &Connection,
    cluster_ca: Option<&str>,
) -> Secret {
    let labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), APP_NAME.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            user.cluster.clone(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            "user".to_string(),
        ),
        (
            "app.kubernetes.io/managed-by".to_string(),
            MANAGED_BY.to_string(),
        ),
        (USER_LABEL.to_string(), user.name.clone()),
    ]);
    let annotations = match material {
        Material::Scram { password, .. } => Some(BTreeMap::from([(
            SCRAM_SENT_ANNOTATION.to_string(),
            password_digest(password),
        )])),
        Material::Tls { .. } => None,
    };
    let data = secret_data(user, material, connection, cluster_ca)
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.into_bytes())))
        .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some(user.name.clone()),
            namespace: Some(user.namespace.clone()),
            labels: Some(labels),
            annotations,
            owner_references: Some(vec![OwnerReference {
                api_version: format!("{GROUP}/{VERSION}"),
                kind: "ChronikUser".to_string(),
                name: user.name.clone(),
                uid: user.uid.clone(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(data),
        ..Secret::default()
    }
}

/// The password digest a Secret records as sent to the brokers.
pub fn sent_digest(secret: Option<&Secret>) -> Option<&str> {
    secret?
        .metadata
        .annotations
        .as_ref()?
        .get(SCRAM_SENT_ANNOTATION)
        .map(String::as_str)
}

/// A Secret's keys as text (keys whose value is not UTF-8 are left out).
pub fn secret_text(secret: Option<&Secret>) -> BTreeMap<String, String> {
    secret
        .and_then(|s| s.data.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
        .collect()
}
