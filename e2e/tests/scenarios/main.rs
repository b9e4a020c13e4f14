//! The end-to-end scenarios, against whatever cluster
//! `CHRONIK_E2E_KUBECONFIG` names (the operator and CRDs installed): the
//! local cluster (`chronik-localkube --runner podman`) or kind. They drive
//! the real kubectl, run the real broker, operator and Kafka client images,
//! and each works in a namespace of its own that it deletes at the end.
//!
//! Ignored by default; `cargo xtask e2e` runs them:
//! ```sh
//! cargo test -p chronik-e2e --test scenarios -- --ignored --test-threads=1
//! ```
//! with `CHRONIK_E2E_KUBECONFIG`, `CHRONIK_E2E_FAULTS` (`podman` or
//! `kubectl`), `CHRONIK_E2E_PODMAN_PREFIX`, `CHRONIK_E2E_CLIENT_IMAGE` and
//! `CHRONIK_E2E_BROKER_IMAGE` set.

// The lifecycle scenario (day-2 operations under load).
mod day2;
// Security: TLS, SCRAM users, ACLs, NodePort access, certificate renewal.
mod security;
mod support;

use std::time::Duration;

use chronik_testkit::kubectl::{wait_for, Kubectl};
use support::chronik::{self, status, wait_healthy, wait_status, ClusterManifest};
use support::faults::Faults;
use support::kafka::{assert_all_acked, consume_all, produce_all, KafkaClient};
use support::settings::{FaultMode, Settings};

/// How long a new cluster may take to become healthy.
const START: Duration = Duration::from_secs(180);
/// How long the status may take to show a change.
const REACT: Duration = Duration::from_secs(90);
/// Records produced while the leader is killed.
const IN_FLIGHT: u64 = 10_000;

/// A scenario's namespace, kubectl and settings; the namespace (and with it
/// everything the scenario created) is deleted on drop.
struct Scenario {
    settings: Settings,
    kubectl: Kubectl,
    ns: String,
}

impl Scenario {
    fn start(label: &str) -> Scenario {
        let settings = Settings::from_env();
        let kubectl = Kubectl::new(&settings.kubeconfig);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let ns = format!("e2e-{label}-{}", &id[..6]);
        kubectl.ok(&["create", "namespace", &ns]);
        println!("namespace {ns}");
        Scenario {
            settings,
            kubectl,
            ns,
        }
    }

    fn step(&self, text: &str) {
        println!("[{}] {text}", self.ns);
    }

    fn cluster(&self, example: &'static str, name: &'static str) -> ClusterManifest {
        ClusterManifest {
            example,
            name,
            image: self.settings.broker_image.clone(),
            replicas: None,
            delete_claims_on_delete: None,
        }
    }

    fn apply(&self, manifest: &ClusterManifest) {
        let r = self.kubectl.apply(&self.ns, &manifest.to_value());
        assert!(
            r.ok,
            "applying ChronikCluster {}: {}",
            manifest.name, r.stderr
        );
    }

    fn faults(&self) -> Faults {
        Faults::new(&self.settings.faults, &self.ns)
    }

    fn client(&self, cluster: &str) -> KafkaClient<'_> {
        KafkaClient::new(
            &self.kubectl,
            &self.ns,
            &self.settings.client_image,
            cluster,
        )
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let r = self.kubectl.run(
            &[
                "delete",
                "namespace",
                &self.ns,
                "--wait=true",
                "--timeout=180s",
            ],
            None,
        );
        if !r.ok {
            eprintln!("deleting namespace {}: {}", self.ns, r.stderr);
        }
    }
}

/// A member other than the leader and `not`.
fn follower(st: &chronik::Status, not: Option<&str>) -> String {
    let leader = st.leader_pod().unwrap_or_default();
    st.members()
        .into_iter()
        .map(|m| m.pod)
        .find(|p| *p != leader && Some(p.as_str()) != not)
        .unwrap_or_else(|| panic!("no follower in {}", st.summary()))
}

/// Wait until the status shows `pod` unhealthy: Degraded, and the member
/// not ready or named in the Degraded message.
fn wait_unhealthy(s: &Scenario, cluster: &str, pod: &str) {
    wait_status(
        &s.kubectl,
        &s.ns,
        cluster,
        &format!("{cluster}: Degraded with {pod} unhealthy"),
        REACT,
        |st| {
            let degraded = st.condition("Degraded");
            let named = degraded.as_ref().is_some_and(|c| c.message.contains(pod));
            let not_ready = st.members().iter().any(|m| m.pod == pod && !m.ready);
            degraded.is_some_and(|c| c.status == "True") && (named || not_ready)
        },
    );
}

/// Wait until the client Service `service` resolves (`want`) or does not
/// resolve to `pod`; nothing to check off the local cluster.
fn wait_service(faults: &Faults, service: &str, pod: &str, want: bool) {
    if faults.service_resolves_to(service, pod).is_none() {
        return;
    }
    let what = if want {
        "resolving"
    } else {
        "no longer resolving"
    };
    wait_for(
        &format!("the client Service {service} {what} to {pod}"),
        REACT,
        || match faults.service_resolves_to(service, pod) {
            Some(now) if now != want => Err(format!("resolves to {pod}: {now}")),
            _ => Ok(()),
        },
    );
}

#[test]
#[ignore = "needs a cluster with the operator installed: run by `cargo xtask e2e`"]
fn three_node_cluster_serves_fails_over_and_degrades() {
    let s = Scenario::start("s1-4");
    let name = "chronik";

    s.step("scenario 1: apply the 3-node example ChronikCluster");
    s.apply(&s.cluster("chronikcluster-3-node.yaml", name));
    let st = wait_healthy(&s.kubectl, &s.ns, name, 3, START);
    let leader = st.leader_pod().expect("a leader");
    let table = s.kubectl.ok(&["-n", &s.ns, "get", "ck"]);
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("`kubectl get ck` does not list {name}:\n{table}"));
    assert!(
        row.contains(&leader) && row.split_whitespace().nth(1) == Some("3"),
        "`kubectl get ck` row: {row}\n{table}"
    );
    println!("    {row}");

    s.step("scenario 2: produce 1,000 records with acks=all through the client Service, consume them back");
    let client = s.client(name);
    produce_all(&client, "s2-records", 1000);
    consume_all(&client, "s2-records", 1000);

    s.step(&format!(
        "scenario 3: kill {leader}, the metadata group's leader, while a producer writes"
    ));
    let faults = s.faults();
    let term = st.term();
    let inflight = client.start_produce("s3-during-failover", IN_FLIGHT);
    client.wait_output(&inflight, "created topic");
    faults.kill(&s.kubectl, &leader);
    println!(
        "    producer still writing at the kill: {}",
        client.is_running(&inflight)
    );
    let after = wait_status(
        &s.kubectl,
        &s.ns,
        name,
        &format!("a leader elected after term {term}, Available, 3 ready members"),
        REACT,
        |st| st.term() > term && st.healthy(3),
    );
    println!(
        "    new leader {} in term {} (was {leader} in term {term})",
        after.leader_pod().unwrap_or_default(),
        after.term()
    );
    assert_all_acked(client.finish(inflight), "s3-during-failover", IN_FLIGHT);
    // No acknowledged record lost: those of scenario 2 and those written
    // across the failover.
    consume_all(&client, "s2-records", 1000);
    consume_all(&client, "s3-during-failover", IN_FLIGHT);

    s.step("scenario 4: freeze one broker");
    let frozen_pod = follower(&after, None);
    wait_service(&faults, name, &frozen_pod, true);
    if let Some(fault) = faults.freeze(&frozen_pod) {
        wait_unhealthy(&s, name, &frozen_pod);
        // The client Service name resolves to Ready pods only.
        wait_service(&faults, name, &frozen_pod, false);
        produce_all(&client, "s4-frozen", 200);
        consume_all(&client, "s4-frozen", 200);
        fault.heal();
        wait_healthy(&s.kubectl, &s.ns, name, 3, REACT);
        wait_service(&faults, name, &frozen_pod, true);
    }

    s.step("scenario 4: partition one broker from the others");
    let st = status(&s.kubectl, &s.ns, name).expect("status");
    let cut_pod = follower(&st, Some(&frozen_pod));
    if let Some(fault) = faults.partition(&cut_pod) {
        wait_unhealthy(&s, name, &cut_pod);
        produce_all(&client, "s4-partitioned", 200);
        consume_all(&client, "s4-partitioned", 200);
        fault.heal();
        wait_healthy(&s.kubectl, &s.ns, name, 3, REACT);
        wait_service(&faults, name, &cut_pod, true);
    }
}

#[test]
#[ignore = "needs a cluster with the operator installed: run by `cargo xtask e2e`"]
fn invalid_spec_is_rejected_and_bad_image_degrades_alone() {
    let s = Scenario::start("s5");

    s.step("scenario 5: an even replica count is rejected by the schema");
    let mut even = s.cluster("chronikcluster-3-node.yaml", "chronik-even");
    even.replicas = Some(2);
    let r = s.kubectl.apply(&s.ns, &even.to_value());
    assert!(!r.ok, "an even replica count was accepted: {}", r.stdout);
    assert!(
        r.stderr.contains("replicas must be odd"),
        "kubectl apply did not print the schema's message: {}",
        r.stderr
    );
    assert!(s
        .kubectl
        .get(&["-n", &s.ns, "chronikcluster", "chronik-even"])
        .is_none());

    s.step("scenario 5: a cluster with an image that does not exist, next to a healthy one");
    s.apply(&s.cluster("chronikcluster-1-node.yaml", "chronik-ok"));
    let missing = "chronik-broker-does-not-exist:0.0.0";
    let mut bad = s.cluster("chronikcluster-1-node.yaml", "chronik-bad");
    bad.image = missing.to_string();
    s.apply(&bad);
    let st = wait_status(
        &s.kubectl,
        &s.ns,
        "chronik-bad",
        "chronik-bad: Degraded because its image cannot be pulled",
        REACT,
        |st| {
            st.condition("Degraded").is_some_and(|c| {
                c.status == "True" && c.message.contains("ImagePull") && c.message.contains(missing)
            })
        },
    );
    let degraded = st.condition("Degraded").unwrap_or_default();
    println!("    Degraded: {}: {}", degraded.reason, degraded.message);
    assert!(!st.is_true("Available"), "{}", st.summary());
    wait_healthy(&s.kubectl, &s.ns, "chronik-ok", 1, START);
    let bad_again = status(&s.kubectl, &s.ns, "chronik-bad").expect("status");
    assert!(
        bad_again.is_true("Degraded"),
        "chronik-bad healed by itself: {}",
        bad_again.summary()
    );
}

/// Everything in `ns` of `kind` whose name contains the cluster's name.
fn owned(s: &Scenario, kind: &str, cluster: &str) -> Vec<String> {
    s.kubectl
        .names(&s.ns, kind)
        .into_iter()
        .filter(|n| n.contains(cluster))
        .collect()
}

/// Containers of `pod_prefix` in the namespace (local cluster only).
fn containers(s: &Scenario, what: &str, pod_prefix: &str) -> Vec<String> {
    let FaultMode::Podman { prefix, conf } = &s.settings.faults else {
        return Vec::new();
    };
    let args: &[&str] = if what == "volume" {
        &["volume", "ls", "--format", "{{.Name}}"]
    } else {
        &["ps", "-a", "--format", "{{.Names}}"]
    };
    let out = std::process::Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", conf)
        .output()
        .expect("podman runs");
    let start = format!("{prefix}-{}-", s.ns);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&start) && l.contains(pod_prefix))
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "needs a cluster with the operator installed: run by `cargo xtask e2e`"]
fn deleting_a_cluster_removes_what_it_owns() {
    let s = Scenario::start("s6");
    let kinds = [
        "statefulsets",
        "services",
        "configmaps",
        "poddisruptionbudgets",
        "pods",
        "persistentvolumeclaims",
    ];

    s.step("scenario 6: two 1-node clusters, one keeping its claims on delete, one deleting them");
    for (name, delete) in [("chronik-keep", false), ("chronik-drop", true)] {
        let mut m = s.cluster("chronikcluster-1-node.yaml", name);
        m.delete_claims_on_delete = Some(delete);
        s.apply(&m);
    }
    for name in ["chronik-keep", "chronik-drop"] {
        wait_healthy(&s.kubectl, &s.ns, name, 1, START);
        for kind in kinds {
            assert!(
                !owned(&s, kind, name).is_empty(),
                "{name} has no {kind} before deletion"
            );
        }
        if matches!(s.settings.faults, FaultMode::Podman { .. }) {
            assert_eq!(
                containers(&s, "container", name).len(),
                1,
                "{name}'s container"
            );
            assert_eq!(containers(&s, "volume", name).len(), 1, "{name}'s volume");
        }
    }

    s.step("scenario 6: delete both ChronikClusters");
    s.kubectl.ok(&[
        "-n",
        &s.ns,
        "delete",
        "chronikcluster",
        "chronik-keep",
        "chronik-drop",
        "--wait=true",
    ]);
    for name in ["chronik-keep", "chronik-drop"] {
        wait_for(
            &format!("every object and container of {name} gone"),
            REACT,
            || {
                let mut left: Vec<String> = kinds[..5]
                    .iter()
                    .flat_map(|k| {
                        owned(&s, k, name)
                            .into_iter()
                            .map(move |n| format!("{k}/{n}"))
                    })
                    .collect();
                left.extend(containers(&s, "container", name));
                if left.is_empty() {
                    Ok(())
                } else {
                    Err(format!("left: {left:?}"))
                }
            },
        );
    }
    wait_for("chronik-drop's claim (and volume) deleted", REACT, || {
        let left = owned(&s, "persistentvolumeclaims", "chronik-drop");
        let volumes = containers(&s, "volume", "chronik-drop");
        if left.is_empty() && volumes.is_empty() {
            Ok(())
        } else {
            Err(format!("claims {left:?}, volumes {volumes:?}"))
        }
    });
    let kept = owned(&s, "persistentvolumeclaims", "chronik-keep");
    assert_eq!(kept.len(), 1, "chronik-keep's claim is kept: {kept:?}");
    if matches!(s.settings.faults, FaultMode::Podman { .. }) {
        assert_eq!(
            containers(&s, "volume", "chronik-keep").len(),
            1,
            "chronik-keep's volume is kept"
        );
    }
}
