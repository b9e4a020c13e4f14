//! The ChronikUser status (pure): one `Ready` condition, stamped through
//! [`crate::status::conditions`] (transition time kept while it does not
//! flip), and the user's principal, Secret and ACL count.

use k8s_openapi::jiff::Timestamp;

use super::crd::ChronikUserStatus;
use super::validate::ValidatedUser;
use crate::status::conditions::{condition, ConditionStatus, ConditionType, Verdict};

/// Why a user is not ready (the `Ready` condition's reason and the
/// failure metric's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// `spec.cluster` names no ChronikCluster in the namespace.
    ClusterNotFound,
    /// The cluster has no leader yet, or lacks its CA Secrets.
    ClusterNotReady,
    /// The spec is invalid; nothing was changed.
    InvalidSpec,
    /// A broker call failed; retried.
    BrokerError,
    /// Reading or writing the user's Secret, or issuing its credentials, failed.
    SecretError,
}

impl NotReady {
    /// The condition reason.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterNotFound => "ClusterNotFound",
            Self::ClusterNotReady => "ClusterNotReady",
            Self::InvalidSpec => "InvalidSpec",
            Self::BrokerError => "BrokerError",
            Self::SecretError => "SecretError",
        }
    }
}

/// The status of a user whose credentials, ACLs and Secret match its spec.
pub fn ready_status(
    user: &ValidatedUser,
    previous: Option<&ChronikUserStatus>,
    now: Timestamp,
) -> ChronikUserStatus {
    let verdict = Verdict {
        status: ConditionStatus::True,
        reason: "Ready".to_string(),
        message: format!(
            "{} credentials and {} ACL bindings of {} are on cluster {}; Secret {}",
            user.authentication.as_str(),
            user.acls.len(),
            user.principal,
            user.cluster,
            user.name
        ),
    };
    with_ready(previous, verdict, user.generation, now, |status| {
        status.username = Some(user.name.clone());
        status.principal = Some(user.principal.to_string());
        status.secret = Some(user.name.clone());
        status.acls = u32::try_from(user.acls.len()).ok();
    })
}

/// The status after a problem: `Ready=False` with its reason; the other
/// fields as they were.
pub fn not_ready_status(
    previous: Option<&ChronikUserStatus>,
    generation: Option<i64>,
    reason: NotReady,
    message: String,
    now: Timestamp,
) -> ChronikUserStatus {
    let verdict = Verdict {
        status: ConditionStatus::False,
        reason: reason.as_str().to_string(),
        message,
    };
    with_ready(previous, verdict, generation, now, |_| {})
}

fn with_ready(
    previous: Option<&ChronikUserStatus>,
    verdict: Verdict,
    generation: Option<i64>,
    now: Timestamp,
    fill: impl FnOnce(&mut ChronikUserStatus),
) -> ChronikUserStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let ready = condition(
        ConditionType::Ready,
        verdict,
        &status.conditions,
        generation,
        now,
    );
    status.conditions = vec![ready];
    status.observed_generation = generation;
    fill(&mut status);
    status
}
