//! Authorization with real brokers and real clients: with `--authorizer
//! simple` and no ACLs nothing is written; ACLs created with kafka-python's
//! `KafkaAdminClient` and confluent-kafka's `AdminClient` (through a broker
//! that does not lead the metadata group) open exactly what they name; a
//! principal with Read only consumes but cannot produce; group ACLs gate
//! consumer groups; Metadata hides undescribable topics; ACLs replicate to
//! every broker, survive a restart of the whole cluster, and the HTTP
//! endpoints round-trip. Every connection here is `User:ANONYMOUS`.

mod support;

use chronik_api::security::{
    AclBinding, AclList, AclOperation, AclPermission, PatternType, Principal, ResourceType,
};
use chronik_testkit::python::run_script;
use std::time::{Duration, Instant};
use support::TestCluster;

const WAIT: Duration = Duration::from_secs(30);

fn step(bootstrap: &str, args: &[&str]) -> String {
    let mut all = vec![args[0], "--bootstrap", bootstrap];
    all.extend_from_slice(&args[1..]);
    run_script("acls.py", &all)
}

fn cluster_acl(operation: AclOperation) -> AclBinding {
    AclBinding {
        resource_type: ResourceType::Cluster,
        resource_name: "kafka-cluster".into(),
        pattern_type: PatternType::Literal,
        principal: Principal::anonymous(),
        host: "*".into(),
        operation,
        permission: AclPermission::Allow,
    }
}

async fn http_acls(c: &TestCluster, id: u64) -> Vec<AclBinding> {
    let url = format!("{}/v1/acls", c.specs[&id].http());
    match c.client.get(url).send().await {
        Ok(r) => r
            .json::<AclList>()
            .await
            .map(|l| l.acls)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

async fn wait_acls(c: &TestCluster, ids: &[u64], expected: usize) -> Vec<AclBinding> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut all = Vec::new();
        for id in ids {
            all.push(http_acls(c, *id).await);
        }
        if all.iter().all(|a| a.len() == expected && *a == all[0]) {
            return all.swap_remove(0);
        }
        assert!(
            Instant::now() < deadline,
            "ACLs did not converge to {expected}: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(
    c: &TestCluster,
    id: u64,
    path: &str,
    body: serde_json::Value,
) -> reqwest::StatusCode {
    let url = format!("{}{path}", c.specs[&id].http());
    c.client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("post")
        .status()
}

async fn ready(c: &TestCluster) -> (u64, u64) {
    let leader = c.wait_leader(&[1, 2, 3], WAIT).await;
    let deadline = Instant::now() + WAIT;
    for id in 1..=3 {
        while !c.ready(id).await {
            assert!(Instant::now() < deadline, "broker {id} not ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let follower = (1..=3).find(|id| *id != leader).expect("a follower");
    (leader, follower)
}

#[tokio::test(flavor = "multi_thread")]
async fn acls_gate_real_clients_replicate_and_survive_a_restart() {
    let mut c = TestCluster::plan(3);
    c.extra_args = vec!["--authorizer".into(), "simple".into()];
    c.start_all();
    let (leader, follower) = ready(&c).await;
    for topic in ["t", "hidden"] {
        let body = serde_json::json!({"name": topic, "partitions": 1});
        assert_eq!(post(&c, leader, "/v1/topics", body).await, 201);
    }
    let kafka = c.kafka(follower);
    let k = kafka.as_str();

    // No ACL: the produce is refused (and, as the consume below shows, writes nothing).
    assert!(
        step(k, &["produce", "--topic", "t", "--expect", "denied"]).contains("OK produce denied")
    );

    // HTTP: the admin APIs need Alter and Describe on the cluster.
    let admin = AclList {
        acls: vec![
            cluster_acl(AclOperation::Alter),
            cluster_acl(AclOperation::Describe),
        ],
    };
    let body = serde_json::to_value(&admin).expect("json");
    assert_eq!(post(&c, leader, "/v1/acls", body).await, 201);
    assert_eq!(wait_acls(&c, &[1, 2, 3], 2).await.len(), 2);

    // kafka-python creates Write; the producer may write.
    let create = |client, resource, name, op| {
        let out = step(
            k,
            &[
                "create",
                "--client",
                client,
                "--resource",
                resource,
                "--name",
                name,
                "--op",
                op,
            ],
        );
        assert!(out.contains("OK created"), "{out}");
    };
    create("kp", "topic", "t", "write");
    assert!(step(k, &["produce", "--topic", "t", "--expect", "ok"]).contains("OK produce ok"));
    // confluent-kafka creates Read on the topic and on group g.
    create("ck", "topic", "t", "read");
    create("ck", "group", "g", "read");
    for client in ["kp", "ck"] {
        let out = step(k, &["describe", "--client", client]);
        for line in [
            "TOPIC:t:WRITE",
            "TOPIC:t:READ",
            "GROUP:g:READ",
            "CLUSTER:kafka-cluster:ALTER",
        ] {
            assert!(
                out.contains(&format!("ACL {line}:User:ANONYMOUS")),
                "{client}: {line} missing: {out}"
            );
        }
    }

    // Read only: consumes (exactly the one allowed record) but cannot produce.
    let out = step(
        k,
        &[
            "delete",
            "--client",
            "ck",
            "--resource",
            "topic",
            "--name",
            "t",
            "--op",
            "write",
        ],
    );
    assert!(out.contains("OK deleted 1"), "{out}");
    wait_acls(&c, &[1, 2, 3], 4).await;
    assert!(
        step(k, &["produce", "--topic", "t", "--expect", "denied"]).contains("OK produce denied")
    );
    let out = step(
        k,
        &["consume", "--topic", "t", "--group", "g", "--expect", "1"],
    );
    assert!(out.contains("OK consume 1"), "{out}");
    // A group without an ACL is refused.
    let out = step(
        k,
        &[
            "consume", "--topic", "t", "--group", "other", "--expect", "denied",
        ],
    );
    assert!(out.contains("OK consume denied"), "{out}");
    // Metadata leaves out the topic no ACL lets us describe.
    let out = step(k, &["topics"]);
    assert!(
        out.contains("TOPIC t\n") && !out.contains("TOPIC hidden"),
        "{out}"
    );

    // The whole cluster restarts: every broker still holds and enforces the ACLs.
    for id in 1..=3 {
        c.kill9(id);
    }
    c.start_all();
    let (_, follower) = ready(&c).await;
    let acls = wait_acls(&c, &[1, 2, 3], 4).await;
    assert!(acls.contains(&cluster_acl(AclOperation::Alter)), "{acls:?}");
    let kafka = c.kafka(follower);
    let k = kafka.as_str();
    assert!(
        step(k, &["produce", "--topic", "t", "--expect", "denied"]).contains("OK produce denied")
    );
    let out = step(k, &["describe", "--client", "kp"]);
    assert!(out.contains("ACL TOPIC:t:READ:User:ANONYMOUS"), "{out}");

    // kafka-python deletes the group ACL: the group is refused again.
    let out = step(
        k,
        &[
            "delete",
            "--client",
            "kp",
            "--resource",
            "group",
            "--name",
            "g",
            "--op",
            "read",
        ],
    );
    assert!(out.contains("OK deleted 1"), "{out}");
    let out = step(
        k,
        &[
            "consume", "--topic", "t", "--group", "g", "--expect", "denied",
        ],
    );
    assert!(out.contains("OK consume denied"), "{out}");

    // HTTP delete by filter, then everything.
    let leader = c.wait_leader(&[1, 2, 3], WAIT).await;
    let body = serde_json::json!({"resource_type": "topic"});
    assert_eq!(post(&c, leader, "/v1/acls/delete", body).await, 200);
    assert_eq!(wait_acls(&c, &[1, 2, 3], 2).await, admin.acls);
    assert_eq!(
        post(&c, leader, "/v1/acls/delete", serde_json::json!({})).await,
        200
    );
    wait_acls(&c, &[1, 2, 3], 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn super_users_bypass_and_the_http_api_refuses_invalid_acls() {
    let mut c = TestCluster::plan(1);
    c.extra_args = vec![
        "--authorizer".into(),
        "simple".into(),
        "--super-users".into(),
        "User:admin;User:ANONYMOUS".into(),
    ];
    c.start_all();
    let deadline = Instant::now() + WAIT;
    while !c.ready(1).await {
        assert!(Instant::now() < deadline, "not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = serde_json::json!({"name": "s", "partitions": 1});
    assert_eq!(post(&c, 1, "/v1/topics", body).await, 201);
    let k = c.kafka(1);
    assert!(step(&k, &["produce", "--topic", "s", "--expect", "ok"]).contains("OK produce ok"));
    // An invalid ACL is refused by the HTTP API as CreateAcls refuses it.
    let mut bad = cluster_acl(AclOperation::Alter);
    bad.resource_name = "other".into();
    let body = serde_json::to_value(AclList { acls: vec![bad] }).expect("json");
    assert_eq!(post(&c, 1, "/v1/acls", body).await, 400);
}
