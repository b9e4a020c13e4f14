//! Running `chronik-kafka-client` as a pod (`restartPolicy: Never`) and
//! reading its JSON summary from `kubectl logs`.

use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::{json, Value};

use crate::kube::{poll, Kube};

/// How client pods are run.
pub struct ClientPods<'a> {
    /// The cluster.
    pub kube: &'a Kube,
    /// The client image.
    pub image: String,
    /// `--bootstrap` of every command.
    pub bootstrap: String,
}

impl ClientPods<'_> {
    /// Runs one client command as pod `name`, returns its JSON summary, and
    /// deletes the pod. Fails when the command reports a failure.
    pub fn run(&self, name: &str, args: &[&str]) -> Result<Value> {
        self.kube
            .run(&["delete", "pod", name, "--ignore-not-found", "--wait=true"])?;
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--bootstrap", &self.bootstrap]);
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "chronik-demo-client"}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{
                    "name": "client",
                    "image": self.image,
                    "imagePullPolicy": "IfNotPresent",
                    "args": full,
                }],
            },
        });
        self.kube.apply_stdin(&[], &pod.to_string())?;
        let summary = poll(
            &format!("the summary of pod {name}"),
            Duration::from_secs(180),
            Duration::from_secs(2),
            || self.summary(name),
        )?;
        let phase = self
            .kube
            .stdout(&["get", "pod", name, "-o", "jsonpath={.status.phase}"])
            .unwrap_or_default();
        self.kube
            .run(&["delete", "pod", name, "--ignore-not-found", "--wait=false"])?;
        if phase.trim() == "Failed" || !passed(&summary) {
            bail!("pod {name} reported a failure: {summary}");
        }
        Ok(summary)
    }

    /// The JSON summary line of the pod's log, once it is there.
    fn summary(&self, name: &str) -> Result<Option<Value>> {
        let out = self.kube.output(&["logs", name])?;
        if !out.status.success() {
            return Ok(None);
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
            .filter(Value::is_object))
    }
}

/// Whether a produce or consume summary reports success.
fn passed(summary: &Value) -> bool {
    let zero = |k: &str| summary.get(k).is_none_or(|v| v.as_u64() == Some(0));
    zero("failed") && zero("duplicates") && zero("out_of_order") && zero("missing")
}
