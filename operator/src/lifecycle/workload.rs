//! The planner's [`WorkloadView`] from the live StatefulSet and pods.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::observe::{PodView, WorkloadView};

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
                    .parse::<i32>()
                    .ok()?;
                Some(pod_view(ordinal, pod))
            })
            .collect(),
    }
}

fn pod_view(ordinal: i32, pod: &Pod) -> PodView {
    let status = pod.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let failure = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .find(|reason| FAILURES.contains(&reason.as_str()));
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
