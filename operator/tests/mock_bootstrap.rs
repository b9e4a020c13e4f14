//! The `status.bootstrapped` latch against the mocked API server: the
//! brokers' ConfigMap says `--initial-cluster-state new` until the brokers
//! report a formed cluster, `existing` from then on, whatever the brokers
//! answer later or if the status is lost; the pod template never changes
//! with it (a formed cluster is not rolled).

mod support;

use std::sync::Arc;

use chronik_operator::controller::reconcile;
use serde_json::Value;
use support::fake_api::*;

const CONFIG_MAP: &str = "/api/v1/namespaces/streams/configmaps/orders-config";
const STATEFULSET: &str = "/apis/apps/v1/namespaces/streams/statefulsets/orders";

async fn pass(h: &Harness) {
    reconcile(Arc::new(h.api.cluster("orders")), h.ctx.clone())
        .await
        .expect("reconcile");
}

fn state_in_config_map(h: &Harness) -> String {
    let cm = h.api.object(CONFIG_MAP).expect("ConfigMap");
    cm["data"]["initial-cluster-state"]
        .as_str()
        .expect("initial-cluster-state key")
        .to_string()
}

fn latched(h: &Harness) -> bool {
    h.api
        .cluster("orders")
        .status
        .is_some_and(|s| s.bootstrapped)
}

fn pod_template(h: &Harness) -> Value {
    h.api.object(STATEFULSET).expect("StatefulSet")["spec"]["template"].clone()
}

#[tokio::test]
async fn the_latch_is_set_once_formed_and_never_cleared() {
    let h = Harness::new();
    h.api.store_cluster(&support::cluster("orders", 3));

    // Nothing answers yet: the initial voters may bootstrap.
    pass(&h).await;
    assert_eq!(state_in_config_map(&h), "new");
    assert!(!latched(&h));
    let template = pod_template(&h);
    let env = template["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "CHRONIK_INITIAL_CLUSTER_STATE")
        .cloned()
        .expect("CHRONIK_INITIAL_CLUSTER_STATE in the pod template");
    assert_eq!(
        env["valueFrom"]["configMapKeyRef"],
        serde_json::json!({"name": "orders-config", "key": "initial-cluster-state", "optional": false})
    );

    // A leader, but an initial voter has not joined: not formed yet.
    three_node_answers(&h.brokers, 1, &[3]);
    pass(&h).await;
    assert_eq!(state_in_config_map(&h), "new");
    assert!(!latched(&h));

    // Every initial voter follows the leader: formed.
    three_node_answers(&h.brokers, 1, &[]);
    pass(&h).await;
    assert!(latched(&h));
    assert_eq!(state_in_config_map(&h), "existing");
    assert_eq!(
        pod_template(&h),
        template,
        "the flip must not change the pod template (no roll)"
    );
    let sts = h.api.object(STATEFULSET).expect("StatefulSet");
    assert_eq!(
        sts["metadata"]["annotations"]["chronik.io/bootstrapped"],
        "true"
    );

    // The brokers go silent (e.g. every pod restarting): still latched.
    three_node_answers(&h.brokers, 1, &[1, 2, 3]);
    pass(&h).await;
    assert!(latched(&h));
    assert_eq!(state_in_config_map(&h), "existing");

    // The status is lost: the StatefulSet remembers the latch.
    let mut lost = h.api.cluster("orders");
    lost.status = None;
    h.api.store_cluster(&lost);
    pass(&h).await;
    assert!(latched(&h));
    assert_eq!(state_in_config_map(&h), "existing");
    assert_eq!(pod_template(&h), template);
}
