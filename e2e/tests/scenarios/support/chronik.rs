//! ChronikCluster manifests (from `examples/`) and their status as the
//! operator reports it.

use std::time::Duration;

use serde_json::{json, Value};

use chronik_testkit::kubectl::{wait_for, Kubectl};

/// A ChronikCluster to apply: an example file with a name, the image under
/// test and small resource requests (so that it also fits a kind node).
pub struct ClusterManifest {
    /// File under `examples/`.
    pub example: &'static str,
    /// `metadata.name`.
    pub name: &'static str,
    /// `spec.image`.
    pub image: String,
    /// `spec.replicas` when it differs from the example's.
    pub replicas: Option<i64>,
    /// `spec.storage.deleteClaimsOnDelete` when set.
    pub delete_claims_on_delete: Option<bool>,
}

impl ClusterManifest {
    /// The manifest as JSON.
    pub fn to_value(&self) -> Value {
        let path = chronik_testkit::workspace::root()
            .join("examples")
            .join(self.example);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let mut cr: Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        cr["metadata"] = json!({"name": self.name});
        cr["spec"]["image"] = json!(self.image);
        cr["spec"]["resources"] = json!({"requests": {"cpu": "50m", "memory": "64Mi"}});
        if let Some(n) = self.replicas {
            cr["spec"]["replicas"] = json!(n);
        }
        if let Some(delete) = self.delete_claims_on_delete {
            cr["spec"]["storage"]["deleteClaimsOnDelete"] = json!(delete);
        }
        cr
    }
}

/// One condition.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

/// One member of `status.members`.
#[derive(Debug, Clone)]
pub struct Member {
    /// Pod name.
    pub pod: String,
    /// The operator sees it healthy.
    pub ready: bool,
}

/// `status` of a ChronikCluster.
#[derive(Debug, Clone)]
pub struct Status(pub Value);

impl Status {
    /// The condition of `type_`.
    pub fn condition(&self, type_: &str) -> Option<Condition> {
        let c = self
            .0
            .get("conditions")?
            .as_array()?
            .iter()
            .find(|c| c["type"] == json!(type_))?;
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        Some(Condition {
            status: s("status"),
            reason: s("reason"),
            message: s("message"),
        })
    }

    /// The condition of `type_` has status `True`.
    pub fn is_true(&self, type_: &str) -> bool {
        self.condition(type_).is_some_and(|c| c.status == "True")
    }

    /// Pod of the metadata group's leader.
    pub fn leader_pod(&self) -> Option<String> {
        self.0
            .pointer("/leader/pod")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// Raft term the status was computed at.
    pub fn term(&self) -> u64 {
        self.0.get("term").and_then(Value::as_u64).unwrap_or(0)
    }

    /// `status.members`.
    pub fn members(&self) -> Vec<Member> {
        self.0
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|m| Member {
                pod: m["pod"].as_str().unwrap_or_default().to_string(),
                ready: m["ready"].as_bool().unwrap_or(false),
            })
            .collect()
    }

    /// `status.readyReplicas`: pods whose readiness probe passes.
    pub fn ready_replicas(&self) -> u64 {
        self.0
            .get("readyReplicas")
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Available, a leader, `replicas` ready members (brokers in the Raft
    /// group and pods Ready) and not Degraded.
    pub fn healthy(&self, replicas: usize) -> bool {
        let members = self.members();
        self.is_true("Available")
            && usize::try_from(self.ready_replicas()) == Ok(replicas)
            && self.leader_pod().is_some()
            && members.len() == replicas
            && members.iter().all(|m| m.ready)
            && self
                .condition("Degraded")
                .is_some_and(|c| c.status == "False")
    }

    /// One line for progress and failure messages.
    pub fn summary(&self) -> String {
        let cond = |t: &str| {
            self.condition(t)
                .map(|c| format!("{t}={} ({}: {})", c.status, c.reason, c.message))
                .unwrap_or_else(|| format!("{t}=?"))
        };
        let members: Vec<String> = self
            .members()
            .iter()
            .map(|m| format!("{}:{}", m.pod, if m.ready { "ready" } else { "NOT ready" }))
            .collect();
        format!(
            "phase {}, {} pods ready, leader {:?}, term {}, members [{}], {}, {}, {}",
            self.0["phase"].as_str().unwrap_or("?"),
            self.ready_replicas(),
            self.leader_pod(),
            self.term(),
            members.join(" "),
            cond("Available"),
            cond("Progressing"),
            cond("Degraded"),
        )
    }
}

/// The status of ChronikCluster `name`, when it has one.
pub fn status(kubectl: &Kubectl, ns: &str, name: &str) -> Option<Status> {
    kubectl
        .get(&["-n", ns, "chronikcluster", name])
        .and_then(|cr| cr.get("status").cloned())
        .map(Status)
}

/// Wait until `check` holds for the cluster's status.
pub fn wait_status(
    kubectl: &Kubectl,
    ns: &str,
    name: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&Status) -> bool,
) -> Status {
    wait_for(what, timeout, || match status(kubectl, ns, name) {
        Some(st) if check(&st) => Ok(st),
        Some(st) => Err(st.summary()),
        None => Err(format!("ChronikCluster {ns}/{name} has no status")),
    })
}

/// Wait until the cluster is healthy with `replicas` members.
pub fn wait_healthy(
    kubectl: &Kubectl,
    ns: &str,
    name: &str,
    replicas: usize,
    timeout: Duration,
) -> Status {
    wait_status(
        kubectl,
        ns,
        name,
        &format!("{name}: Available, a leader, {replicas} ready members and pods, not Degraded"),
        timeout,
        |st| st.healthy(replicas),
    )
}
