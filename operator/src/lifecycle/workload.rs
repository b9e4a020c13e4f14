//! The planner's [`WorkloadView`] from the live StatefulSet and pods.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::input::{PodView, WorkloadView};

/// Label the StatefulSet controller puts on each pod: its template revision.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// Container waiting reasons that do not heal by themselves.
const FAILURES: [&str; 6] = [
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Build the view of cluster `name` from its StatefulSet and pods; pods whose
/// name is not `<name>-<ordinal>` are ignored.
pub fn workload_view(name: &str, statefulset: Option<&StatefulSet>, pods: &[Pod]) -> WorkloadView {
    let prefix = format!("{name}-");
    WorkloadView {
        statefulset_replicas: statefulset.and_then(|s| s.spec.replicas),
        update_revision: statefulset
            .and_then(|s| s.status.as_ref())
            .and_then(|s| s.update_revision.clone()),
        pods: pods
            .iter()
            .filter_map(|pod| {
                let ordinal = pod
                    .metadata
                    .name
                    .as_deref()?
                    .strip_prefix(&prefix)?
                    .parse::<u32>()
                    .ok()?;
                Some(pod_view(ordinal, pod))
            })
            .collect(),
    }
}

fn pod_view(ordinal: u32, pod: &Pod) -> PodView {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let failure = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
        .filter_map(|w| Some((w.reason.as_deref()?, w.message.as_deref())))
        .find(|(reason, _)| FAILURES.contains(reason))
        .map(|(reason, message)| match message {
            Some(m) if !m.is_empty() => format!("{reason}: {m}"),
            _ => reason.to_string(),
        });
    PodView {
        ordinal,
        ready,
        terminating: pod.metadata.deletion_timestamp.is_some(),
        revision: pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(REVISION_LABEL).cloned()),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pods_become_views() {
        let sts: StatefulSet = serde_json::from_value(json!({
            "spec": {"replicas": 3, "selector": {}, "serviceName": "c-headless",
                "template": {}},
            "status": {"replicas": 3, "updateRevision": "c-abc"}
        }))
        .expect("sts");
        let pod = |name: &str, ready: &str, waiting: Option<&str>, deleting: bool| {
            let mut p = json!({"metadata": {"name": name,
                "labels": {REVISION_LABEL: "c-old"}},
                "status": {"conditions": [{"type": "Ready", "status": ready}]}});
            if let Some(reason) = waiting {
                p["status"]["containerStatuses"] = json!([{"name": "broker", "ready": false,
                    "restartCount": 1, "image": "i", "imageID": "",
                    "state": {"waiting": {"reason": reason, "message": format!("about {name}")}}}]);
            }
            if deleting {
                p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            }
            serde_json::from_value::<Pod>(p).expect("pod")
        };
        let pods = [
            pod("c-0", "True", None, false),
            pod("c-2", "False", Some("ImagePullBackOff"), false),
            pod("c-1", "False", Some("ContainerCreating"), true),
            pod("other-0", "True", None, false),
        ];
        let view = workload_view("c", Some(&sts), &pods);
        assert_eq!(view.statefulset_replicas, Some(3));
        assert_eq!(view.update_revision.as_deref(), Some("c-abc"));
        assert_eq!(view.pods.len(), 3);
        assert!(view.pod_ready(1));
        let p2 = view.pod(3).expect("c-2");
        assert_eq!(
            p2.failure.as_deref(),
            Some("ImagePullBackOff: about c-2"),
            "the reason, then the kubelet's message"
        );
        let p1 = view.pod(2).expect("c-1");
        assert!(p1.terminating && p1.failure.is_none() && !p1.ready);
        assert_eq!(p1.revision.as_deref(), Some("c-old"));
    }
}
