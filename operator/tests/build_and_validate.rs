//! Pure tests: a ChronikCluster in, objects or validation errors out.

mod support;

use chronik_operator::build::{
    broker_conf, build_all, config_hash, CONFIG_HASH_ANNOTATION, DATA_DIR,
    TERMINATION_GRACE_SECONDS,
};
use chronik_operator::crd::{ChronikClusterStatus, RecordedStorage};
use chronik_operator::render::render;
use chronik_operator::validate::{validate, ValidatedCluster, ValidationError};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn validated(replicas: i32) -> ValidatedCluster {
    validate(&support::cluster("orders", replicas)).expect("valid cluster")
}

fn args(vc: &ValidatedCluster) -> Vec<String> {
    let objects = build_all(vc);
    let pod = objects.statefulset.spec.template.spec.unwrap();
    pod.containers[0].args.clone().unwrap()
}

fn arg<'a>(args: &'a [String], flag: &str) -> &'a str {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{flag}=")))
        .unwrap_or_else(|| panic!("missing --{flag} in {args:?}"))
}

#[test]
fn peers_list_every_initial_voter_by_headless_dns() {
    let vc = validated(3);
    let args = args(&vc);
    assert_eq!(
        arg(&args, "peers"),
        "1@http://orders-0.orders-headless.streams.svc.cluster.local:5001,\
         2@http://orders-1.orders-headless.streams.svc.cluster.local:5001,\
         3@http://orders-2.orders-headless.streams.svc.cluster.local:5001"
    );
    assert_eq!(
        arg(&args, "advertised-host"),
        "$(POD_NAME).orders-headless.streams.svc.cluster.local"
    );
    assert_eq!(
        arg(&args, "cluster-id"),
        "6f1c1c9e-1111-2222-3333-444455556666"
    );
    assert_eq!(arg(&args, "raft-addr"), "0.0.0.0:5001");
    assert_eq!(arg(&args, "http-addr"), "0.0.0.0:8080");
    assert_eq!(arg(&args, "kafka-addr"), "0.0.0.0:9092");
    assert_eq!(arg(&args, "data-dir"), DATA_DIR);
    assert_eq!(arg(&args, "config"), "/etc/chronik/broker.conf");
    assert_eq!(arg(&args, "log-format"), "json");
    assert!(
        !args.iter().any(|a| a.starts_with("--node-id")),
        "node id comes from the pod name"
    );
    assert_eq!(
        vc.bootstrap_servers(),
        "orders.streams.svc.cluster.local:9092"
    );
}

#[test]
fn custom_domain_and_ports_reach_every_address() {
    let mut cluster = support::cluster("orders", 1);
    cluster.spec.cluster_domain = "k8s.example".to_string();
    cluster.spec.ports.raft = 7000;
    let vc = validate(&cluster).unwrap();
    assert_eq!(
        arg(&args(&vc), "peers"),
        "1@http://orders-0.orders-headless.streams.svc.k8s.example:7000"
    );
}

#[test]
fn scaling_does_not_change_the_pod_template() {
    let mut cluster = support::cluster("orders", 3);
    cluster.status = Some(ChronikClusterStatus {
        initial_replicas: Some(3),
        ..ChronikClusterStatus::default()
    });
    let before = build_all(&validate(&cluster).unwrap()).statefulset.spec;
    cluster.spec.replicas = 5;
    let after = build_all(&validate(&cluster).unwrap()).statefulset.spec;
    assert_eq!(before.template, after.template);
    assert_eq!(after.replicas, Some(5));
}

#[test]
fn statefulset_shape() {
    let vc = validated(3);
    let sts = build_all(&vc).statefulset;
    let owner = &sts.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "ChronikCluster");
    assert_eq!(owner.controller, Some(true));
    let spec = sts.spec;
    assert_eq!(spec.service_name.as_deref(), Some("orders-headless"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(spec.replicas, Some(3));
    let claims = spec.volume_claim_templates.unwrap();
    assert_eq!(claims[0].metadata.name.as_deref(), Some("data"));
    let requests = claims[0]
        .spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap();
    assert_eq!(requests["storage"].0, "10Gi");
    let retention = spec.persistent_volume_claim_retention_policy.unwrap();
    assert_eq!(retention.when_scaled.as_deref(), Some("Retain"));
    assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));

    let template = spec.template;
    let annotations = template.metadata.unwrap().annotations.unwrap();
    assert_eq!(
        annotations[CONFIG_HASH_ANNOTATION],
        config_hash(&broker_conf(&vc.config.static_config))
    );
    let pod = template.spec.unwrap();
    assert_eq!(
        pod.termination_grace_period_seconds,
        Some(TERMINATION_GRACE_SECONDS)
    );
    const { assert!(TERMINATION_GRACE_SECONDS >= 20) };
    let anti = pod.affinity.unwrap().pod_anti_affinity.unwrap();
    let term = &anti
        .preferred_during_scheduling_ignored_during_execution
        .unwrap()[0];
    assert_eq!(
        term.pod_affinity_term.topology_key,
        "kubernetes.io/hostname"
    );
    assert!(anti
        .required_during_scheduling_ignored_during_execution
        .is_none());

    let container = &pod.containers[0];
    assert_eq!(
        container.command.as_deref(),
        Some(&["/chronik-broker".to_string()][..])
    );
    let mounts = container.volume_mounts.as_ref().unwrap();
    assert!(mounts
        .iter()
        .any(|m| m.name == "data" && m.mount_path == DATA_DIR));
    assert!(mounts
        .iter()
        .any(|m| m.name == "config" && m.mount_path == "/etc/chronik"));
    let env = container.env.as_ref().unwrap();
    for name in ["POD_NAME", "CHRONIK_POD_NAME"] {
        let var = env.iter().find(|e| e.name == name).expect(name);
        let field = var.value_from.as_ref().unwrap().field_ref.as_ref().unwrap();
        assert_eq!(field.field_path, "metadata.name");
    }
}

#[test]
fn probes_use_the_broker_http_endpoints() {
    let pod = build_all(&validated(3))
        .statefulset
        .spec
        .template
        .spec
        .unwrap();
    let c = &pod.containers[0];
    let path = |p: &Option<k8s_openapi::api::core::v1::Probe>| {
        let get = p.as_ref().unwrap().http_get.as_ref().unwrap();
        assert_eq!(get.port, IntOrString::String("http".to_string()));
        get.path.clone().unwrap()
    };
    assert_eq!(path(&c.readiness_probe), "/readyz");
    assert_eq!(path(&c.liveness_probe), "/livez");
    let http = c
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .unwrap();
    assert_eq!(http.container_port, 8080);
}

#[test]
fn security_context_is_restricted() {
    let pod = build_all(&validated(1))
        .statefulset
        .spec
        .template
        .spec
        .unwrap();
    let psc = pod.security_context.unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(psc.run_as_user, Some(65532));
    assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let sc = pod.containers[0].security_context.clone().unwrap();
    assert_eq!(sc.run_as_non_root, Some(true));
    assert_eq!(sc.read_only_root_filesystem, Some(true));
    assert_eq!(sc.allow_privilege_escalation, Some(false));
    assert_eq!(
        sc.capabilities.unwrap().drop.unwrap(),
        vec!["ALL".to_string()]
    );
    assert_eq!(sc.seccomp_profile.unwrap().type_, "RuntimeDefault");
}

#[test]
fn services_headless_and_client() {
    let objects = build_all(&validated(3));
    let headless = objects.headless_service;
    assert_eq!(headless.metadata.name.as_deref(), Some("orders-headless"));
    let spec = headless.spec.unwrap();
    assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
    assert_eq!(spec.publish_not_ready_addresses, Some(true));
    let names: Vec<_> = spec
        .ports
        .unwrap()
        .iter()
        .map(|p| (p.name.clone().unwrap(), p.port))
        .collect();
    assert!(names.contains(&("raft".to_string(), 5001)));
    assert!(names.contains(&("kafka".to_string(), 9092)));

    let client = objects.client_service;
    assert_eq!(client.metadata.name.as_deref(), Some("orders"));
    let spec = client.spec.unwrap();
    assert_eq!(
        spec.ports
            .unwrap()
            .iter()
            .map(|p| p.port)
            .collect::<Vec<_>>(),
        vec![9092]
    );
    assert_ne!(spec.publish_not_ready_addresses, Some(true));
}

#[test]
fn config_map_and_hash_follow_spec_config() {
    let mut cluster = support::cluster("orders", 3);
    cluster
        .spec
        .config
        .insert("num.partitions".into(), "6".into());
    cluster
        .spec
        .config
        .insert("auto.create.topics.enable".into(), "false".into());
    let objects = build_all(&validate(&cluster).unwrap());
    assert_eq!(
        objects.config_map.metadata.name.as_deref(),
        Some("orders-config")
    );
    let text = &objects.config_map.data.unwrap()["broker.conf"];
    assert!(
        text.ends_with("auto.create.topics.enable=false\nnum.partitions=6\n"),
        "{text}"
    );
    let hash_before = config_hash(text);
    cluster
        .spec
        .config
        .insert("num.partitions".into(), "12".into());
    let objects = build_all(&validate(&cluster).unwrap());
    let after = objects
        .statefulset
        .spec
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap();
    assert_ne!(after[CONFIG_HASH_ANNOTATION], hash_before);
}

#[test]
fn pdb_min_available_is_quorum() {
    for (replicas, quorum) in [(1, 1), (3, 2), (5, 3), (7, 4), (9, 5)] {
        let pdb = build_all(&validated(replicas)).pdb;
        let spec = pdb.spec.unwrap();
        assert_eq!(
            spec.min_available,
            Some(IntOrString::Int(quorum)),
            "replicas {replicas}"
        );
        assert!(spec.max_unavailable.is_none());
        assert_eq!(
            spec.selector.unwrap().match_labels.unwrap()["app.kubernetes.io/instance"],
            "orders"
        );
    }
}

#[test]
fn validation_refuses_even_zero_and_too_many_replicas() {
    for replicas in [2, 4, 8] {
        let err = validate(&support::cluster("orders", replicas)).unwrap_err();
        assert_eq!(err, ValidationError::EvenReplicas { replicas });
        assert!(err.to_string().contains("must be odd"));
    }
    for replicas in [0, -1, 11] {
        let err = validate(&support::cluster("orders", replicas)).unwrap_err();
        assert_eq!(err, ValidationError::ReplicasOutOfRange { replicas });
    }
}

#[test]
fn validation_refuses_storage_changes_after_creation() {
    let mut cluster = support::cluster("orders", 3);
    cluster.status = Some(ChronikClusterStatus {
        storage: Some(RecordedStorage {
            size: "10Gi".into(),
            storage_class_name: None,
        }),
        ..ChronikClusterStatus::default()
    });
    cluster.spec.storage.size = "10240Mi".into();
    assert!(validate(&cluster).is_ok(), "same quantity, other spelling");
    cluster.spec.storage.size = "100Ti".into();
    let err = validate(&cluster).unwrap_err();
    assert!(
        matches!(err, ValidationError::StorageChanged { field: "size", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("immutable"));
    cluster.spec.storage.size = "10Gi".into();
    cluster.spec.storage.storage_class_name = Some("fast".into());
    assert!(matches!(
        validate(&cluster).unwrap_err(),
        ValidationError::StorageChanged {
            field: "storageClassName",
            ..
        }
    ));
}

#[test]
fn validation_refuses_bad_fields() {
    let mut c = support::cluster("orders", 3);
    c.spec.storage.size = "lots".into();
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::InvalidStorageSize { .. }
    ));

    let mut c = support::cluster("orders", 3);
    c.spec.ports.http = c.spec.ports.kafka;
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::DuplicatePort { .. }
    ));

    let mut c = support::cluster("orders", 3);
    c.spec.config.insert("bad key".into(), "x".into());
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::InvalidConfig(_)
    ));

    let mut c = support::cluster("orders", 3);
    c.spec.config.insert("num.partitions".into(), "3\n".into());
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::InvalidConfigValue { .. }
    ));

    let mut c = support::cluster("orders", 3);
    c.spec.image = " ".into();
    assert_eq!(validate(&c).unwrap_err(), ValidationError::EmptyImage);

    let c = support::cluster(&"x".repeat(60), 3);
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::InvalidName { .. }
    ));

    let mut c = support::cluster("orders", 3);
    c.spec.cluster_domain = "Bad_Domain".into();
    assert!(matches!(
        validate(&c).unwrap_err(),
        ValidationError::InvalidClusterDomain { .. }
    ));
}

#[test]
fn render_prints_every_object_and_refuses_invalid_like_the_controller() {
    let yaml = "apiVersion: chronik.io/v1alpha1\nkind: ChronikCluster\nmetadata:\n  name: demo\nspec:\n  replicas: 3\n";
    let out = render(yaml, "default").unwrap();
    for kind in [
        "ConfigMap",
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ] {
        assert!(
            out.contains(&format!("kind: {kind}")),
            "{kind} missing in\n{out}"
        );
    }
    assert_eq!(out.matches("---\n").count(), 6);
    assert!(!out.contains("kind: Secret"), "render never prints keys");
    assert!(out.contains("demo-0.demo-headless.default.svc.cluster.local"));

    let bad = yaml.replace("replicas: 3", "replicas: 4");
    let err = render(&bad, "default").unwrap_err();
    let controller_message = ValidationError::EvenReplicas { replicas: 4 }.to_string();
    assert!(err.to_string().contains(&controller_message), "{err}");
}

mod status {
    use super::validated;
    use chronik_api::{BrokerStatus, MemberRole, MemberStatus, RaftRole};
    use chronik_operator::brokers::{Answers, BrokerError};
    use chronik_operator::crd::{ChronikClusterStatus, ClusterMemberRole, ClusterPhase};
    use chronik_operator::lifecycle::WorkloadView;
    use chronik_operator::status::{build_status, StatusInputs};
    use chronik_operator::validate::ValidatedCluster;
    use k8s_openapi::jiff::Timestamp;

    fn answer(
        id: u64,
        role: RaftRole,
        leader: u64,
        term: u64,
        members: &[(u64, MemberRole)],
    ) -> BrokerStatus {
        let mut status = BrokerStatus::initial(id, "c", "i", 0);
        status.role = role;
        status.leader_id = leader;
        status.term = term;
        status.commit_index = 5;
        status.applied_index = 5;
        status.members = members
            .iter()
            .map(|(m, r)| MemberStatus {
                id: *m,
                url: format!("http://m{m}"),
                role: *r,
                match_index: None,
                incarnation: String::new(),
                rejoining: None,
            })
            .collect();
        status
    }

    fn down() -> Result<BrokerStatus, BrokerError> {
        Err(BrokerError::Unreachable {
            method: "GET",
            url: "x".into(),
            message: "refused".into(),
        })
    }

    /// The status of `answers` with no StatefulSet, pods or plan yet.
    fn status_of(
        vc: &ValidatedCluster,
        answers: Vec<Result<BrokerStatus, BrokerError>>,
        previous: Option<&ChronikClusterStatus>,
        now: Timestamp,
    ) -> ChronikClusterStatus {
        build_status(&StatusInputs {
            cluster: vc,
            statefulset: None,
            answers: &Answers::new(answers),
            workload: &WorkloadView::default(),
            plan: None,
            previous,
            config_refused: None,
            now,
        })
    }

    #[test]
    fn nobody_answers_while_creating() {
        let vc = validated(3);
        let status = status_of(
            &vc,
            vec![down(), down(), down()],
            None,
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(status.phase, Some(ClusterPhase::Creating));
        assert!(status.leader.is_none());
        let available = &status.conditions[0];
        assert_eq!(
            (available.type_.as_str(), available.status.as_str()),
            ("Available", "False")
        );
        assert_eq!(available.reason, "NoLeader");
        assert!(available
            .message
            .contains("0/3 members healthy, quorum needs 2"));
        assert_eq!(status.conditions[1].reason, "Creating");
        assert_eq!(status.initial_replicas, Some(3));
    }

    #[test]
    fn learners_do_not_count_towards_quorum_and_newest_term_wins() {
        let vc = validated(3);
        let members = [
            (1, MemberRole::Voter),
            (2, MemberRole::Voter),
            (3, MemberRole::Voter),
            (4, MemberRole::Learner),
        ];
        let brokers = vec![
            Ok(answer(1, RaftRole::Follower, 1, 4, &members)), // stale view
            Ok(answer(2, RaftRole::Leader, 2, 5, &members)),
            Ok(answer(3, RaftRole::Follower, 2, 5, &members)),
        ];
        let status = status_of(&vc, brokers, None, Timestamp::UNIX_EPOCH);
        assert_eq!(status.leader.as_ref().map(|l| l.id), Some(2));
        assert_eq!(status.term, Some(5));
        assert_eq!(status.members.len(), 4);
        assert_eq!(status.members[3].role, ClusterMemberRole::Learner);
        assert_eq!(status.members[3].pod, "orders-3");
        let available = &status.conditions[0];
        assert_eq!(available.status, "True");
        assert!(
            available
                .message
                .contains("3/3 members healthy, quorum needs 2"),
            "{}",
            available.message
        );
    }

    #[test]
    fn transition_time_is_kept_while_a_condition_does_not_flip() {
        let vc = validated(1);
        let brokers = || {
            vec![Ok(answer(
                1,
                RaftRole::Leader,
                1,
                1,
                &[(1, MemberRole::Voter)],
            ))]
        };
        let first = status_of(&vc, brokers(), None, Timestamp::UNIX_EPOCH);
        let later = Timestamp::from_second(1_000).unwrap();
        let second = status_of(&vc, brokers(), Some(&first), later);
        assert_eq!(first, second, "same answers, same status: no write");
    }
}

#[test]
fn broker_status_json_parses_and_leader_zero_means_unknown() {
    use chronik_api::{BrokerStatus, MemberRole, RaftRole};
    let leader: BrokerStatus = serde_json::from_str(
        r#"{"node_id":1,"cluster_id":"c","incarnation":"i1","role":"leader","leader_id":1,"term":3,
            "commit_index":10,"applied_index":10,"leader_raft_url":"http://a:5001",
            "members":[{"id":1,"url":"http://a:5001","role":"voter","match_index":10,"incarnation":"i1"},
                       {"id":2,"url":"http://b:5001","role":"learner","match_index":4}]}"#,
    )
    .unwrap();
    assert_eq!(leader.role, RaftRole::Leader);
    assert_eq!(leader.leader(), Some(1));
    assert_eq!(leader.members[1].role, MemberRole::Learner);
    assert_eq!(leader.members[1].match_index, Some(4));
    let starting: BrokerStatus = serde_json::from_str(
        r#"{"node_id":2,"cluster_id":"c","incarnation":"i2","role":"follower","leader_id":0,"term":0,
            "commit_index":0,"applied_index":0,"members":[]}"#,
    )
    .unwrap();
    assert_eq!(starting.leader(), None);
}
