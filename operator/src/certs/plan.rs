//! The certificate planner (pure): given what one CA's Secrets hold, the
//! certificates it must sign and the time, decide the next CA step and the
//! leaf certificates to (re)issue.
//!
//! A CA is replaced without ever leaving two brokers unable to trust each
//! other (brokers reload their files, so nothing restarts):
//! 1. **Stage**: a new CA is created (or taken from the user's Secret) and
//!    the trust bundle (`ca.crt` of `<c>-cluster-ca-cert`) becomes old + new.
//!    Signing continues with the old CA.
//! 2. **Promote**, once the bundle had time to reach every pod: the new CA
//!    signs, every leaf is re-issued by it; the bundle stays old + new, so
//!    brokers still holding an old leaf are trusted.
//! 3. **Drop**, once the new leaves had time to reach every pod: the bundle
//!    becomes the new CA alone.
//!
//! Each step waits `propagation` seconds after the previous one (the time
//! the kubelet needs to update a Secret volume).

use std::collections::{BTreeMap, BTreeSet};

/// What a CA certificate says: its identity (subject) and expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFacts {
    /// The subject, unique per CA the operator creates.
    pub id: String,
    /// Expiry, seconds since the Unix epoch.
    pub not_after: i64,
}

/// What a leaf certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFacts {
    /// The issuer's subject ([`CaFacts::id`] of the CA that signed it).
    pub issuer: String,
    pub not_after: i64,
    /// Subject alternative names as `dns:…`, `ip:…`, `uri:…`.
    pub sans: BTreeSet<String>,
}

/// What one CA's Secrets hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaObserved {
    /// The signing CA.
    pub current: Option<CaFacts>,
    /// A CA staged to replace it (step 1 done).
    pub next: Option<CaFacts>,
    /// The replaced CA, still trusted (step 2 done).
    pub old: Option<CaFacts>,
    /// CAs in the published trust bundle, by id.
    pub bundle: BTreeSet<String>,
    /// When the last CA step was written (seconds since the epoch).
    pub step_at: Option<i64>,
    /// A CA the user provides (their Secret), which replaces the current
    /// one through the same steps when it differs.
    pub provided: Option<CaFacts>,
    /// The leaves this CA signed, by name (pod name, or `operator`).
    pub leaves: BTreeMap<String, LeafFacts>,
}

/// What the CA must sign and when to renew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaWanted {
    /// Leaves by name, with the SANs each must carry.
    pub leaves: BTreeMap<String, BTreeSet<String>>,
    /// The operator may create and renew the CA (false with a user CA).
    pub managed: bool,
    /// Renew what expires within this many seconds.
    pub renewal_secs: i64,
    /// Seconds a Secret change needs to reach every pod.
    pub propagation_secs: i64,
}

/// The next step of a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaStep {
    /// Nothing to do for the CA.
    Keep,
    /// No CA yet: create it (or take the provided one), publish it, issue every leaf.
    Create,
    /// Step 1: create (or take the provided) next CA; bundle = current + next.
    Stage,
    /// Step 2: the next CA signs; every leaf is re-issued; bundle unchanged.
    Promote,
    /// Step 3: drop the old CA from the bundle.
    Drop,
    /// The bundle does not hold exactly the CAs it should: publish it.
    Publish,
    /// A step is due once the previous one reached the pods.
    Wait { until: i64, next: &'static str },
}

/// What to do now for one CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPlan {
    pub step: CaStep,
    /// Leaves to (re)issue with the signing CA after the step, by name.
    pub issue: BTreeSet<String>,
    /// Leaves no longer wanted, by name.
    pub remove: BTreeSet<String>,
}

impl CertPlan {
    /// True when nothing is to be written.
    pub fn is_quiet(&self) -> bool {
        matches!(self.step, CaStep::Keep | CaStep::Wait { .. })
            && self.issue.is_empty()
            && self.remove.is_empty()
    }
}

/// Decide the next step of one CA at time `now`.
pub fn plan_ca(observed: &CaObserved, wanted: &CaWanted, now: i64) -> CertPlan {
    let step = ca_step(observed, wanted, now);
    let every_leaf: BTreeSet<String> = wanted.leaves.keys().cloned().collect();
    let issue = match step {
        CaStep::Create | CaStep::Promote => every_leaf,
        _ => {
            let signer = observed.current.as_ref();
            wanted
                .leaves
                .iter()
                .filter(|(name, sans)| {
                    leaf_due(observed.leaves.get(*name), signer, sans, wanted, now)
                })
                .map(|(name, _)| name.clone())
                .collect()
        }
    };
    let remove = observed
        .leaves
        .keys()
        .filter(|name| !wanted.leaves.contains_key(*name))
        .cloned()
        .collect();
    CertPlan {
        step,
        issue,
        remove,
    }
}

fn ca_step(observed: &CaObserved, wanted: &CaWanted, now: i64) -> CaStep {
    let Some(current) = &observed.current else {
        return CaStep::Create;
    };
    let waited = |next| match observed.step_at {
        Some(at) if now < at + wanted.propagation_secs => Some(CaStep::Wait {
            until: at + wanted.propagation_secs,
            next,
        }),
        _ => None,
    };
    let mut expected: BTreeSet<String> = BTreeSet::from([current.id.clone()]);
    expected.extend(observed.next.iter().map(|c| c.id.clone()));
    expected.extend(observed.old.iter().map(|c| c.id.clone()));
    if observed.bundle != expected {
        return CaStep::Publish;
    }
    if observed.next.is_some() {
        return waited("promote the new CA").unwrap_or(CaStep::Promote);
    }
    if observed.old.is_some() {
        return waited("drop the old CA").unwrap_or(CaStep::Drop);
    }
    let replaced_by_user = observed
        .provided
        .as_ref()
        .is_some_and(|p| p.id != current.id);
    let expiring = wanted.managed && current.not_after - now <= wanted.renewal_secs;
    if replaced_by_user || expiring {
        return CaStep::Stage;
    }
    CaStep::Keep
}

fn leaf_due(
    leaf: Option<&LeafFacts>,
    signer: Option<&CaFacts>,
    sans: &BTreeSet<String>,
    wanted: &CaWanted,
    now: i64,
) -> bool {
    let (Some(leaf), Some(signer)) = (leaf, signer) else {
        return true;
    };
    // Renewing helps only when the signer outlives the leaf (a leaf never
    // outlives its CA; an expiring CA is replaced through its own steps).
    let expiring = leaf.not_after - now <= wanted.renewal_secs && leaf.not_after < signer.not_after;
    leaf.issuer != signer.id || &leaf.sans != sans || expiring
}
