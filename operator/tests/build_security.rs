//! Pure tests of the security settings: validation, the broker flags and
//! TLS volumes, Services of external listeners, the advertised addresses
//! and the NetworkPolicy.

mod support;

use chronik_operator::build::{
    advertised_addresses, build_advertised_config_map, build_all, build_external_services,
    build_network_policy, OperatorPods, ADVERTISED_KEY, POD_NAME_LABEL,
};
use chronik_operator::validate::{validate, ValidatedCluster, ValidationError};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, Service};
use serde_json::json;

fn cluster(spec: serde_json::Value) -> ValidatedCluster {
    validate(&support::cluster_with("orders", spec)).expect("valid cluster")
}

fn invalid(spec: serde_json::Value) -> ValidationError {
    validate(&support::cluster_with("orders", spec)).expect_err("invalid spec")
}

/// A TLS+SCRAM internal listener, a NodePort listener, authorization.
fn secured() -> ValidatedCluster {
    cluster(json!({
        "replicas": 3,
        "listeners": [
            {"name": "tls", "port": 9093, "tls": true,
             "authentication": {"type": "scram-sha-512"}},
            {"name": "mtls", "port": 9094, "tls": true, "authentication": {"type": "tls"}},
            {"name": "external", "port": 9095, "type": "nodeport"}
        ],
        "authorization": {"type": "simple", "superUsers": ["admin", "CN=ops", "User:root"]}
    }))
}

fn broker(vc: &ValidatedCluster) -> (PodSpec, Container) {
    let pod = build_all(vc).statefulset.spec.template.spec.unwrap();
    let container = pod.containers[0].clone();
    (pod, container)
}

#[test]
fn the_default_cluster_runs_peer_mtls_and_keeps_its_single_plain_listener() {
    let vc = cluster(json!({"replicas": 3}));
    let (pod, container) = broker(&vc);
    let args = container.args.unwrap();
    assert!(args.contains(&"--peer-tls-dir=/etc/chronik-tls/peer".to_string()));
    assert!(args.contains(&"--admin-addr=0.0.0.0:8443".to_string()));
    assert!(args.contains(&"--kafka-addr=0.0.0.0:9092".to_string()));
    for absent in [
        "--listener",
        "--kafka-tls-dir",
        "--authorizer",
        "--advertised-listeners-file",
    ] {
        assert!(
            !args.iter().any(|a| a.starts_with(absent)),
            "{absent} in {args:?}"
        );
    }
    let ports: Vec<_> = container
        .ports
        .unwrap()
        .iter()
        .map(|p| (p.name.clone().unwrap(), p.container_port))
        .collect();
    assert_eq!(
        ports,
        [
            ("kafka".into(), 9092),
            ("raft".into(), 5001),
            ("http".into(), 8080),
            ("admin".into(), 8443)
        ]
    );
    // The probes stay on the plain HTTP port.
    let probe = container.readiness_probe.unwrap().http_get.unwrap();
    assert_eq!(
        probe.port,
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("http".into())
    );

    // The peer TLS directory: every broker's pair plus the cluster CA bundle.
    let volume = pod
        .volumes
        .unwrap()
        .into_iter()
        .find(|v| v.name == "peer-tls")
        .unwrap();
    let sources = volume.projected.unwrap().sources.unwrap();
    assert_eq!(sources[0].secret.as_ref().unwrap().name, "orders-brokers");
    assert!(sources[0].secret.as_ref().unwrap().items.is_none());
    let ca = sources[1].secret.as_ref().unwrap();
    assert_eq!(ca.name, "orders-cluster-ca-cert");
    assert_eq!(ca.items.as_ref().unwrap()[0].path, "ca.crt");
    let mounts = container.volume_mounts.unwrap();
    let mount = mounts.iter().find(|m| m.name == "peer-tls").unwrap();
    assert_eq!(
        (mount.mount_path.as_str(), mount.read_only),
        ("/etc/chronik-tls/peer", Some(true))
    );
}

#[test]
fn peer_mtls_off_drops_the_tls_directory_and_the_admin_port() {
    let vc = cluster(json!({"replicas": 3, "tls": {"peerMtls": false}}));
    let (pod, container) = broker(&vc);
    let args = container.args.unwrap();
    assert!(!args
        .iter()
        .any(|a| a.starts_with("--peer-tls-dir") || a.starts_with("--admin-addr")));
    assert!(!pod.volumes.unwrap().iter().any(|v| v.name == "peer-tls"));
    assert!(!container
        .ports
        .unwrap()
        .iter()
        .any(|p| p.name.as_deref() == Some("admin")));
    let addresses = vc.broker_api_addresses();
    use chronik_operator::addresses::MemberAddresses;
    assert_eq!(
        addresses.http_url_of(chronik_api::NodeId(1)),
        "http://orders-0.orders-headless.streams.svc.cluster.local:8080"
    );
    assert_eq!(
        cluster(json!({"replicas": 3}))
            .broker_api_addresses()
            .http_url_of(chronik_api::NodeId(1)),
        "https://orders-0.orders-headless.streams.svc.cluster.local:8443"
    );
}

#[test]
fn listeners_authorization_and_tls_become_broker_flags_and_ports() {
    let vc = secured();
    let (pod, container) = broker(&vc);
    let args = container.args.unwrap();
    for expected in [
        "--listener=name=tls,port=9093,tls=true,auth=scram-sha-512",
        "--listener=name=mtls,port=9094,tls=true,auth=mtls",
        "--listener=name=external,port=9095,tls=false,auth=none",
        "--kafka-tls-dir=/etc/chronik-tls/kafka",
        "--advertised-listeners-file=/etc/chronik-advertised/advertised-listeners",
        "--authorizer=simple",
        "--super-users=User:admin;User:CN=ops;User:root",
    ] {
        assert!(
            args.contains(&expected.to_string()),
            "{expected} missing in {args:?}"
        );
    }
    let names: Vec<_> = container
        .ports
        .unwrap()
        .iter()
        .map(|p| p.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["tls", "mtls", "external", "raft", "http", "admin"]);
    let volumes = pod.volumes.unwrap();
    let kafka = volumes.iter().find(|v| v.name == "kafka-tls").unwrap();
    let sources = kafka.projected.as_ref().unwrap().sources.clone().unwrap();
    assert_eq!(
        sources[1].secret.as_ref().unwrap().name,
        "orders-clients-ca-cert"
    );
    let advertised = volumes.iter().find(|v| v.name == "advertised").unwrap();
    assert_eq!(
        advertised.config_map.as_ref().unwrap().name,
        "orders-advertised"
    );
    assert_eq!(
        vc.bootstrap_servers(),
        "orders.streams.svc.cluster.local:9093"
    );

    // Certificates are not in the template: renewing them rolls nothing.
    let template = serde_json::to_string(&build_all(&vc).statefulset.spec.template).unwrap();
    assert!(!template.contains("BEGIN"));
}

#[test]
fn bad_listeners_and_settings_are_refused_with_the_field_named() {
    let listener = |extra: serde_json::Value| {
        let mut l = json!({"name": "tls", "port": 9093});
        l.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"replicas": 3, "listeners": [l]})
    };
    assert!(matches!(
        invalid(listener(json!({"authentication": {"type": "tls"}}))),
        ValidationError::MutualTlsWithoutTls { .. }
    ));
    assert!(matches!(
        invalid(listener(json!({"port": 5001}))),
        ValidationError::ListenerPortTaken {
            other: "ports.raft",
            ..
        }
    ));
    assert!(matches!(
        invalid(listener(json!({"name": "admin"}))),
        ValidationError::InvalidListenerName { .. }
    ));
    assert!(matches!(
        invalid(json!({"replicas": 3, "listeners": [
            {"name": "a", "port": 9093}, {"name": "a", "port": 9094}]})),
        ValidationError::DuplicateListener { .. }
    ));
    assert!(matches!(
        invalid(json!({"replicas": 3, "authorization": {"type": "simple", "superUsers": ["a;b"]}})),
        ValidationError::InvalidSuperUser { .. }
    ));
    assert!(matches!(
        invalid(json!({"replicas": 3, "tls": {"ca": {"validityDays": 30, "renewalDays": 30}}})),
        ValidationError::InvalidCaDays { .. }
    ));
    assert!(matches!(
        invalid(json!({"replicas": 3, "tls": {"ca": {"secretName": "x",
            "certManager": {"issuerRef": {"name": "corp"}}}}})),
        ValidationError::ConflictingCaSources
    ));
    let long = "a".repeat(50);
    let err = validate(&support::cluster_with(
        &long,
        json!({"replicas": 1,
        "listeners": [{"name": "external", "port": 9095, "type": "nodeport"}]}),
    ))
    .unwrap_err();
    assert!(
        matches!(err, ValidationError::ExternalNameTooLong { .. }),
        "{err}"
    );
}

#[test]
fn external_listeners_get_a_service_per_broker_and_a_bootstrap_service() {
    let vc = secured();
    let services = build_external_services(&vc, 3);
    let names: Vec<_> = services
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "orders-external-bootstrap",
            "orders-0-external",
            "orders-1-external",
            "orders-2-external"
        ]
    );
    for service in &services {
        let spec = service.spec.as_ref().unwrap();
        assert_eq!(spec.type_.as_deref(), Some("NodePort"));
        assert_eq!(spec.ports.as_ref().unwrap()[0].port, 9095);
    }
    let selector = services[2].spec.as_ref().unwrap().selector.clone().unwrap();
    assert_eq!(selector[POD_NAME_LABEL], "orders-1");
    assert!(!services[0]
        .spec
        .as_ref()
        .unwrap()
        .selector
        .as_ref()
        .unwrap()
        .contains_key(POD_NAME_LABEL));

    let lb = cluster(json!({"replicas": 1,
        "listeners": [{"name": "lb", "port": 9094, "type": "loadbalancer", "tls": true}]}));
    let lb_services = build_external_services(&lb, 1);
    assert_eq!(
        lb_services[1].spec.as_ref().unwrap().type_.as_deref(),
        Some("LoadBalancer")
    );
    assert!(build_external_services(&cluster(json!({"replicas": 3})), 3).is_empty());
}

fn service_with(value: serde_json::Value) -> Service {
    serde_json::from_value(value).unwrap()
}

fn pod(name: &str, host_ip: Option<&str>) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name},
        "status": {"hostIP": host_ip}}))
    .unwrap()
}

#[test]
fn advertised_addresses_come_from_node_ports_host_ips_and_load_balancers() {
    let vc = cluster(json!({"replicas": 3, "listeners": [
        {"name": "np", "port": 9095, "type": "nodeport"},
        {"name": "lb", "port": 9096, "type": "loadbalancer"}]}));
    let services = vec![
        service_with(json!({"metadata": {"name": "orders-0-np"},
            "spec": {"ports": [{"port": 9095, "nodePort": 31000}]}})),
        service_with(json!({"metadata": {"name": "orders-1-np"},
            "spec": {"ports": [{"port": 9095, "nodePort": 31001}]}})),
        service_with(
            json!({"metadata": {"name": "orders-0-lb"}, "spec": {"ports": [{"port": 9096}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}}),
        ),
        service_with(
            json!({"metadata": {"name": "orders-1-lb"}, "spec": {"ports": [{"port": 9096}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "b1.example.com"}]}}}),
        ),
        service_with(
            json!({"metadata": {"name": "orders-2-lb"}, "spec": {"ports": [{"port": 9096}]}}),
        ),
    ];
    let pods = vec![
        pod("orders-0", Some("10.0.0.5")),
        pod("orders-1", Some("fd00::7")),
        pod("orders-2", None),
    ];
    let advertised = advertised_addresses(&vc, &services, &pods);
    let cm = build_advertised_config_map(&vc, &advertised);
    assert_eq!(cm.metadata.name.as_deref(), Some("orders-advertised"));
    assert_eq!(
        cm.data.unwrap()[ADVERTISED_KEY],
        "1 lb 203.0.113.7:9096\n1 np 10.0.0.5:31000\n2 lb b1.example.com:9096\n2 np [fd00::7]:31001\n"
    );
    let hosts = chronik_operator::build::external_hosts(&advertised);
    assert!(hosts[&0].contains("10.0.0.5") && hosts[&0].contains("203.0.113.7"));
    assert!(!hosts.contains_key(&2), "no address known for orders-2 yet");
}

#[test]
fn the_network_policy_keeps_peer_ports_to_brokers_and_the_operator() {
    let vc = secured();
    let operator = OperatorPods {
        namespace: Some("chronik-system".to_string()),
        ..OperatorPods::default()
    };
    let policy = build_network_policy(&vc, &operator);
    let spec = policy.spec.unwrap();
    assert_eq!(spec.policy_types.unwrap(), ["Ingress"]);
    let rules = spec.ingress.unwrap();
    let ports = |i: usize| -> Vec<String> {
        rules[i]
            .ports
            .clone()
            .unwrap()
            .iter()
            .map(|p| format!("{:?}", p.port.clone().unwrap()))
            .collect()
    };
    // Raft and admin: the cluster's brokers and the operator's pods only.
    assert_eq!(ports(0), ["Int(5001)", "Int(8443)"]);
    let from = rules[0].from.clone().unwrap();
    assert_eq!(
        from[0]
            .pod_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["app.kubernetes.io/instance"],
        "orders"
    );
    assert!(
        from[0].namespace_selector.is_none(),
        "brokers of this namespace only"
    );
    let ns = from[1]
        .namespace_selector
        .as_ref()
        .unwrap()
        .match_labels
        .clone()
        .unwrap();
    assert_eq!(ns["kubernetes.io/metadata.name"], "chronik-system");
    assert_eq!(
        from[1]
            .pod_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap()["app.kubernetes.io/name"],
        "chronik-operator"
    );
    // Probes: open. Internal listeners: pods of any namespace. External: anyone.
    assert_eq!(ports(1), ["Int(8080)"]);
    assert!(rules[1].from.is_none());
    assert_eq!(ports(2), ["Int(9093)", "Int(9094)"]);
    assert!(rules[2].from.as_ref().unwrap()[0]
        .namespace_selector
        .is_some());
    assert_eq!(ports(3), ["Int(9095)"]);
    assert!(rules[3].from.is_none());
}

#[test]
fn render_prints_the_external_services_and_the_network_policy_but_no_keys() {
    let yaml = r#"
apiVersion: chronik.io/v1alpha1
kind: ChronikCluster
metadata:
  name: demo
spec:
  replicas: 3
  listeners:
    - {name: tls, port: 9093, tls: true, authentication: {type: scram-sha-512}}
    - {name: ext, port: 9094, type: nodeport}
  authorization: {type: simple, superUsers: [admin]}
"#;
    let out = chronik_operator::render::render(yaml, "default").unwrap();
    for name in [
        "name: demo-advertised",
        "name: demo-ext-bootstrap",
        "name: demo-0-ext",
        "name: demo-2-ext",
        "kind: NetworkPolicy",
        "--listener=name=tls,port=9093,tls=true,auth=scram-sha-512",
        "--super-users=User:admin",
    ] {
        assert!(out.contains(name), "{name} missing in\n{out}");
    }
    assert!(!out.contains("kind: Secret") && !out.contains("BEGIN"));
}
