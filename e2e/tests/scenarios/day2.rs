//! Day-2 operations under load (the lifecycle issue): while an idempotent
//! producer writes with acks=all, the cluster is scaled 3 → 5 → 3, its image
//! changed, a static configuration key changed (a roll), and the operator
//! pod is killed in the middle of each operation; then a dynamic key is
//! changed, which restarts no pod. Afterwards every acknowledged record is read
//! back exactly once and in order, no voter quorum was ever lost (watched
//! from the brokers' own status throughout) and the status matches the spec.

use std::time::Duration;

use chronik_testkit::kubectl::{wait_for, Kubectl};
use serde_json::{json, Value};

use super::support::chronik::{self, wait_status, Status};
use super::support::kafka::{consume_all, KafkaClient, Produced};
use super::support::quorum::QuorumWatch;
use super::support::settings::FaultMode;
use super::{Scenario, START};

const NAME: &str = "day2";
/// Records per second each phase's producer writes.
const RATE: u64 = 50;
/// How long one operation may take.
const OPERATION: Duration = Duration::from_secs(300);
/// Label of the operator's pods (the chart's name).
const OPERATOR_SELECTOR: &str = "app.kubernetes.io/name=chronik-operator";

/// One operation: a merge patch of the spec and what the result must show.
struct Change {
    label: &'static str,
    patch: Value,
    replicas: usize,
    /// Seconds of producer traffic started before the change.
    traffic_secs: u64,
}

#[test]
#[ignore = "needs a cluster with the operator installed: run by `cargo xtask e2e`"]
fn scale_roll_and_reconfigure_under_load_while_the_operator_crashes() {
    let s = Scenario::start("day2");
    s.step("apply a 3-node ChronikCluster");
    s.apply(&s.cluster("chronikcluster-3-node.yaml", NAME));
    chronik::wait_healthy(&s.kubectl, &s.ns, NAME, 3, START);
    let client = s.client(NAME);
    let watch = QuorumWatch::start(&s.settings, &s.ns, NAME);

    let mut changes = vec![
        Change {
            label: "scale-up",
            patch: json!({"spec": {"replicas": 5}}),
            replicas: 5,
            traffic_secs: 30,
        },
        Change {
            label: "scale-down",
            patch: json!({"spec": {"replicas": 3}}),
            replicas: 3,
            traffic_secs: 30,
        },
    ];
    match second_broker_image(&s) {
        Some(image) => changes.push(Change {
            label: "image",
            patch: json!({"spec": {"image": image}}),
            replicas: 3,
            traffic_secs: 30,
        }),
        None => println!(
            "SKIPPED image roll: no second broker image (set CHRONIK_E2E_BROKER_IMAGE_2, \
             or run on the local cluster where it is tagged with podman)"
        ),
    }
    // A static key: written to broker.conf, so the pods roll.
    changes.push(Change {
        label: "config",
        patch: json!({"spec": {"config": {"offsets.retention.minutes": "20160"}}}),
        replicas: 3,
        traffic_secs: 30,
    });

    let mut topics = Vec::new();
    for change in &changes {
        let acked = run_change(&s, &client, change);
        topics.push((change.label, acked));
    }
    dynamic_config_restarts_no_pod(&s);

    let report = watch.stop();
    s.step(&format!(
        "quorum watch: {} samples, up to {} voters, smallest margin over quorum {:?}",
        report.samples, report.max_voters, report.min_margin
    ));
    assert!(report.samples > 0, "the quorum watch never saw a leader");
    let breaches: Vec<String> = report.breaches.iter().map(ToString::to_string).collect();
    assert!(
        breaches.is_empty(),
        "fewer than a quorum of voters were up: {}",
        breaches.join("; ")
    );
    for (topic, acked) in topics {
        s.step(&format!(
            "read back the {acked} acknowledged records of {topic}"
        ));
        consume_all(&client, topic, acked);
    }
    final_state_matches_spec(&s);
}

/// Applies one change with a producer running, kills the operator while
/// the change is in flight, waits for the change to complete and returns
/// how many records the producer had acknowledged.
fn run_change(s: &Scenario, client: &KafkaClient<'_>, change: &Change) -> u64 {
    s.step(&format!(
        "{}: producer starts, then {}",
        change.label, change.patch
    ));
    let producer = client.start_paced_produce(change.label, RATE * change.traffic_secs, RATE);
    std::thread::sleep(Duration::from_secs(3));
    let r = s.kubectl.run(
        &[
            "-n",
            &s.ns,
            "patch",
            "chronikcluster",
            NAME,
            "--type",
            "merge",
            "-p",
            &change.patch.to_string(),
        ],
        None,
    );
    assert!(r.ok, "patching {NAME}: {}", r.stderr);
    let st = wait_status(
        &s.kubectl,
        &s.ns,
        NAME,
        &format!("{}: an operation in flight", change.label),
        Duration::from_secs(90),
        |st| st.0["operation"].is_object(),
    );
    s.step(&format!(
        "{}: killing the operator during {:?}",
        change.label, st.0["operation"]["message"]
    ));
    kill_operator(&s.kubectl);
    let generation = generation(&s.kubectl, &s.ns);
    let st = wait_status(
        &s.kubectl,
        &s.ns,
        NAME,
        &format!("{}: done, {} healthy voters", change.label, change.replicas),
        OPERATION,
        |st| {
            st.healthy(change.replicas)
                && st.0["operation"].is_null()
                && st.0["observedGeneration"].as_i64() == Some(generation)
                && voters(st) == change.replicas
        },
    );
    s.step(&format!("{}: {}", change.label, st.summary()));
    let out = client.finish::<Produced>(producer);
    let p = &out.summary;
    if !(out.succeeded && p.failed == 0 && p.acked > 0) {
        print_broker_logs(s);
        panic!(
            "{}: the producer lost records or saw a fatal error: {} acked, {} failed, \
             errors {:?}, per partition {}\n{}",
            change.label, p.acked, p.failed, p.errors, p.partitions, out.logs
        );
    }
    s.step(&format!(
        "{}: producer acknowledged {} records; per partition {}",
        change.label, p.acked, p.partitions
    ));
    p.acked
}

/// A dynamic key (`log.retention.ms`) is applied through the brokers'
/// admin API: the status settles on the new generation, not `Degraded`
/// with `InvalidConfig`, with no operation, and every pod is the one that
/// ran before.
fn dynamic_config_restarts_no_pod(s: &Scenario) {
    let uids = || -> Vec<(String, String)> {
        let pods = s
            .kubectl
            .items(&["-n", &s.ns, "pods", "-l", &broker_selector()]);
        let mut uids: Vec<(String, String)> = pods
            .iter()
            .map(|p| {
                let field = |f: &str| p["metadata"][f].as_str().unwrap_or_default().to_string();
                (field("name"), field("uid"))
            })
            .collect();
        uids.sort();
        uids
    };
    let before = uids();
    let patch = json!({"spec": {"config": {"log.retention.ms": "7200000"}}});
    s.step(&format!("dynamic config: {patch}, no pod restarts"));
    s.kubectl.ok(&[
        "-n",
        &s.ns,
        "patch",
        "chronikcluster",
        NAME,
        "--type",
        "merge",
        "-p",
        &patch.to_string(),
    ]);
    let generation = generation(&s.kubectl, &s.ns);
    let st = wait_status(
        &s.kubectl,
        &s.ns,
        NAME,
        "dynamic config: the new generation observed, healthy",
        Duration::from_secs(120),
        |st| {
            st.0["observedGeneration"].as_i64() == Some(generation)
                && st.healthy(3)
                && st.0["operation"].is_null()
                && st
                    .condition("Degraded")
                    .is_some_and(|c| c.status == "False")
        },
    );
    s.step(&format!("dynamic config: {}", st.summary()));
    std::thread::sleep(Duration::from_secs(10));
    assert_eq!(uids(), before, "a dynamic config change restarted pods");
}

/// Prints the end of every broker pod's log (what they did while the
/// producer stalled).
fn print_broker_logs(s: &Scenario) {
    // Best effort: a failing kubectl must not hide the failure being reported.
    let pods = s
        .kubectl
        .try_items(&["-n", &s.ns, "pods", "-l", &broker_selector()]);
    for pod in pods.unwrap_or_default() {
        let pod = pod["metadata"]["name"].as_str().unwrap_or_default();
        let r = s
            .kubectl
            .run(&["-n", &s.ns, "logs", pod, "--tail=300"], None);
        println!(
            "----- last log lines of {pod} -----\n{}{}",
            r.stdout, r.stderr
        );
    }
}

/// Selects the cluster's broker pods.
fn broker_selector() -> String {
    format!("app.kubernetes.io/instance={NAME}")
}

fn voters(st: &Status) -> usize {
    st.0["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "voter")
        .count()
}

fn generation(kubectl: &Kubectl, ns: &str) -> i64 {
    kubectl
        .get(&["-n", ns, "chronikcluster", NAME])
        .and_then(|cr| cr.pointer("/metadata/generation").and_then(Value::as_i64))
        .expect("the ChronikCluster has a generation")
}

/// Force-deletes every operator pod and waits for its replacement to be
/// Ready (the Deployment recreates it; the Lease passes to the new one).
fn kill_operator(kubectl: &Kubectl) {
    let pods = kubectl.items(&["pods", "-A", "-l", OPERATOR_SELECTOR]);
    assert!(!pods.is_empty(), "no operator pod ({OPERATOR_SELECTOR})");
    let mut namespace = String::new();
    for pod in &pods {
        let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        kubectl.ok(&[
            "-n",
            ns,
            "delete",
            "pod",
            name,
            "--grace-period=0",
            "--force",
        ]);
        namespace = ns.to_string();
    }
    let old: Vec<String> = pods
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    wait_for(
        "a new operator pod to be Ready",
        Duration::from_secs(120),
        || {
            let list = kubectl.items(&["-n", &namespace, "pods", "-l", OPERATOR_SELECTOR]);
            let ready = list.iter().any(|p| {
                let name = p["metadata"]["name"].as_str().unwrap_or_default();
                !old.iter().any(|o| o == name)
                    && p["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            if ready {
                Ok(())
            } else {
                Err(format!("{} operator pods, none new and Ready", list.len()))
            }
        },
    );
}

/// A second tag of the broker image under test: on the local cluster it is
/// made with `podman tag`; elsewhere it must be given.
fn second_broker_image(s: &Scenario) -> Option<String> {
    if let Ok(image) = std::env::var("CHRONIK_E2E_BROKER_IMAGE_2") {
        return Some(image);
    }
    let FaultMode::Podman { conf, .. } = &s.settings.faults else {
        return None;
    };
    let base = &s.settings.broker_image;
    let repo = base.rsplit_once(':').map_or(base.as_str(), |(r, _)| r);
    let second = format!("{repo}:e2e-second");
    let out = std::process::Command::new("podman")
        .args(["tag", base, &second])
        .env("CONTAINERS_CONF", conf)
        .output()
        .expect("podman runs");
    assert!(
        out.status.success(),
        "podman tag {base} {second}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(second)
}

/// The StatefulSet and every pod carry the spec's image, and there are as
/// many pods as replicas.
fn final_state_matches_spec(s: &Scenario) {
    let cr = s
        .kubectl
        .get(&["-n", &s.ns, "chronikcluster", NAME])
        .expect("the ChronikCluster");
    let image = cr["spec"]["image"].as_str().unwrap_or_default().to_string();
    let replicas = cr["spec"]["replicas"].as_u64().unwrap_or_default() as usize;
    let pods = s
        .kubectl
        .items(&["-n", &s.ns, "pods", "-l", &broker_selector()]);
    assert_eq!(pods.len(), replicas, "pods of {NAME}");
    for pod in &pods {
        assert_eq!(
            pod["spec"]["containers"][0]["image"].as_str(),
            Some(image.as_str()),
            "pod {} runs another image",
            pod["metadata"]["name"]
        );
    }
    let st = chronik::status(&s.kubectl, &s.ns, NAME).expect("status");
    assert!(st.healthy(replicas), "final status: {}", st.summary());
    assert_eq!(voters(&st), replicas, "final voters: {}", st.summary());
}
