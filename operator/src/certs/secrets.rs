//! Between Secrets and the planner: read a CA's Secrets into
//! [`CaObserved`], carry out a [`CertPlan`] (signing only what it names) and
//! build the Secrets to apply. What the plan does not touch is written back
//! byte for byte, so a quiet pass writes nothing.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::pem::{ca_facts, issue_leaf, leaf_facts, new_ca, CaPem, CertError, LeafPem};
use super::plan::{CaObserved, CaStep, CertPlan};
use super::STEP_AT_ANNOTATION;
use crate::build::owned_meta;
use crate::validate::ValidatedCluster;

/// Keys of a CA Secret.
pub const CA_CRT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
const NEXT_CRT: &str = "next.crt";
const NEXT_KEY: &str = "next.key";
const OLD_CRT: &str = "old.crt";

/// One CA's key material as its Secrets hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaState {
    pub current: Option<CaPem>,
    pub next: Option<CaPem>,
    /// The replaced CA's certificate, trusted until dropped.
    pub old: Option<String>,
    pub step_at: Option<i64>,
    /// Leaves by name.
    pub leaves: BTreeMap<String, LeafPem>,
}

/// A Secret's value as text (absent or not UTF-8: `None`).
pub fn text(secret: Option<&Secret>, key: &str) -> Option<String> {
    let bytes = secret?.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone()).ok()
}

fn pair(secret: Option<&Secret>, cert: &str, key: &str) -> Option<CaPem> {
    Some(CaPem {
        cert: text(secret, cert)?,
        key: text(secret, key)?,
    })
}

impl CaState {
    /// Read a CA Secret and the leaves found in `leaves` (name → PEM pair).
    pub fn read(ca_secret: Option<&Secret>, leaves: BTreeMap<String, LeafPem>) -> Self {
        Self {
            current: pair(ca_secret, CA_CRT, CA_KEY),
            next: pair(ca_secret, NEXT_CRT, NEXT_KEY),
            old: text(ca_secret, OLD_CRT),
            step_at: ca_secret
                .and_then(|s| s.metadata.annotations.as_ref())
                .and_then(|a| a.get(STEP_AT_ANNOTATION))
                .and_then(|v| v.parse().ok()),
            leaves,
        }
    }

    /// The trust bundle: current, next and old CA certificates.
    pub fn bundle(&self) -> String {
        let mut bundle = String::new();
        let certs = [
            self.current.as_ref().map(|c| c.cert.as_str()),
            self.next.as_ref().map(|c| c.cert.as_str()),
            self.old.as_deref(),
        ];
        for cert in certs.into_iter().flatten() {
            bundle.push_str(cert.trim_end());
            bundle.push('\n');
        }
        bundle
    }

    /// The planner's view of this state; `bundle` is the published bundle
    /// and `provided` the user's CA, if any. Unreadable certificates count
    /// as absent (and are replaced).
    pub fn observe(&self, bundle: Option<&str>, provided: Option<&CaPem>) -> CaObserved {
        let first = |what: &str, pem: &str| {
            ca_facts(what, pem)
                .ok()
                .and_then(|mut f| (!f.is_empty()).then(|| f.remove(0)))
        };
        CaObserved {
            current: self.current.as_ref().and_then(|c| first("ca.crt", &c.cert)),
            next: self.next.as_ref().and_then(|c| first("next.crt", &c.cert)),
            old: self.old.as_deref().and_then(|c| first("old.crt", c)),
            bundle: bundle
                .and_then(|b| ca_facts("bundle", b).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.id)
                .collect(),
            step_at: self.step_at,
            provided: provided.and_then(|p| first("provided CA", &p.cert)),
            leaves: self
                .leaves
                .iter()
                .filter_map(|(name, leaf)| Some((name.clone(), leaf_facts(name, &leaf.cert).ok()?)))
                .collect(),
        }
    }
}

/// How to sign: the CA's name and lifetimes, the user's CA, the time.
pub struct Signing<'a> {
    /// Common name prefix of a new CA, e.g. `orders cluster CA`.
    pub ca_name: &'a str,
    pub validity_secs: i64,
    pub provided: Option<&'a CaPem>,
    pub now: i64,
}

/// Carry out `plan` on `state`: the CA step, then the leaves it names
/// (common name = leaf name; SANs from `wanted`).
pub fn carry_out(
    state: &mut CaState,
    plan: &CertPlan,
    wanted: &BTreeMap<String, BTreeSet<String>>,
    signing: &Signing<'_>,
) -> Result<(), CertError> {
    let fresh = || match signing.provided {
        Some(p) => Ok(p.clone()),
        None => new_ca(signing.ca_name, signing.now, signing.validity_secs),
    };
    match plan.step {
        CaStep::Keep | CaStep::Wait { .. } => {}
        CaStep::Create => {
            *state = CaState {
                current: Some(fresh()?),
                ..CaState::default()
            };
        }
        CaStep::Stage => state.next = Some(fresh()?),
        CaStep::Promote => {
            if let Some(next) = state.next.take() {
                state.old = state.current.replace(next).map(|c| c.cert);
            }
        }
        CaStep::Drop => state.old = None,
        CaStep::Publish => {}
    }
    if !matches!(plan.step, CaStep::Keep | CaStep::Wait { .. }) {
        state.step_at = Some(signing.now);
    }
    for name in &plan.remove {
        state.leaves.remove(name);
    }
    if let Some(ca) = state.current.clone() {
        let ca_not_after = ca_facts("ca.crt", &ca.cert)?
            .first()
            .map_or(signing.now, |f| f.not_after);
        for name in &plan.issue {
            let sans = wanted.get(name).cloned().unwrap_or_default();
            let leaf = issue_leaf(
                &ca,
                name,
                &sans,
                signing.now,
                signing.validity_secs,
                ca_not_after,
            )?;
            state.leaves.insert(name.clone(), leaf);
        }
    }
    Ok(())
}

fn bytes(s: &str) -> ByteString {
    ByteString(s.as_bytes().to_vec())
}

/// An owned Opaque Secret with `data`.
pub fn secret(cluster: &ValidatedCluster, name: &str, data: BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: owned_meta(cluster, name.to_string()),
        type_: Some("Opaque".to_string()),
        data: Some(data.iter().map(|(k, v)| (k.clone(), bytes(v))).collect()),
        ..Secret::default()
    }
}

/// The CA Secret (`ca.crt`, `ca.key`, and during a renewal `next.*` or
/// `old.crt`) and its bundle Secret (`ca.crt` only).
pub fn ca_secrets(
    cluster: &ValidatedCluster,
    state: &CaState,
    ca_name: &str,
    bundle_name: &str,
) -> (Secret, Secret) {
    let mut data = BTreeMap::new();
    if let Some(ca) = &state.current {
        data.insert(CA_CRT.to_string(), ca.cert.clone());
        data.insert(CA_KEY.to_string(), ca.key.clone());
    }
    if let Some(next) = &state.next {
        data.insert(NEXT_CRT.to_string(), next.cert.clone());
        data.insert(NEXT_KEY.to_string(), next.key.clone());
    }
    if let Some(old) = &state.old {
        data.insert(OLD_CRT.to_string(), old.clone());
    }
    let mut ca = secret(cluster, ca_name, data);
    if let Some(at) = state.step_at {
        ca.metadata.annotations = Some(BTreeMap::from([(
            STEP_AT_ANNOTATION.to_string(),
            at.to_string(),
        )]));
    }
    let bundle = secret(
        cluster,
        bundle_name,
        BTreeMap::from([(CA_CRT.to_string(), state.bundle())]),
    );
    (ca, bundle)
}
