//! Listener flags: valid specs, and a clear error for each bad one.

use super::*;

fn config(specs: &[&str], tls_dir: bool) -> Result<ListenerConfig, ListenerError> {
    let args = ListenerArgs {
        listeners: specs.iter().map(|s| s.to_string()).collect(),
        kafka_tls_dir: tls_dir.then(|| PathBuf::from("/tls")),
        advertised_listeners_file: None,
    };
    args.validate(
        "127.0.0.1:9092".parse().unwrap_or_else(|e| panic!("{e}")),
        Some("c-0"),
    )
}

#[test]
fn without_listeners_there_is_one_plaintext_listener_on_kafka_addr() {
    let cfg = config(&[], false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.listeners.len(), 1);
    assert_eq!(cfg.listeners[0].name, "plain");
    assert_eq!(cfg.listeners[0].port, 9092);
    assert_eq!(cfg.listeners[0].auth, ListenerAuth::None);
}

#[test]
fn listeners_parse() {
    let cfg = config(
        &[
            "name=internal,port=9092",
            "name=external,port=9094,tls=true,auth=scram-sha-512,advertised=node1.example:31094",
            "name=certs,port=9095,tls=true,auth=mtls",
        ],
        true,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let external = &cfg.listeners[1];
    assert!(external.tls);
    assert_eq!(
        external.auth,
        ListenerAuth::Scram(chronik_api::security::ScramMechanism::ScramSha512)
    );
    assert_eq!(external.advertised.as_deref(), Some("node1.example:31094"));
    assert_eq!(cfg.listeners[2].auth, ListenerAuth::Mtls);
}

#[test]
fn bad_listeners_are_clear_errors() {
    let err = |specs: &[&str], tls| {
        config(specs, tls)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(
        err(&["name=a,port=1", "name=a,port=2"], false).contains("two listeners are named \"a\"")
    );
    assert!(err(&["name=a,port=1", "name=b,port=1"], false).contains("two listeners use port 1"));
    assert!(err(&["name=a,port=1,auth=kerberos"], false).contains("unknown auth \"kerberos\""));
    assert!(err(&["name=a,port=1,auth=mtls"], false).contains("auth=mtls needs tls=true"));
    assert!(err(&["name=a,port=1,tls=true"], false).contains("TLS needs --kafka-tls-dir"));
    assert!(err(&["name=a"], false).contains("port= (1-65535) is required"));
    assert!(err(&["port=1"], false).contains("name="));
    assert!(err(&["name=a,port=1,colour=red"], false).contains("unknown key"));
    assert!(err(&["name=a,port=1,advertised=nohost"], false).contains("HOST:PORT"));
}

#[test]
fn the_advertised_file_overrides_this_nodes_lines() {
    let text =
        "# node listener address\n1 external 10.0.0.1:31094\n2 external 10.0.0.2:31094\nbad line\n";
    let o = overrides(text, 2);
    assert_eq!(
        o.get("external").map(String::as_str),
        Some("10.0.0.2:31094")
    );
    assert_eq!(o.len(), 1);
}
