use super::*;
use chronik_testkit::certs::{write_files, Leaf, TestCa};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn material(ca: &TestCa, leaf: &Leaf, dir: &std::path::Path) -> Arc<TlsMaterial> {
    ca.write_dir(leaf, dir);
    TlsMaterial::load(TlsFiles::in_dir(dir, None)).expect("load")
}

/// One handshake over an in-memory pipe; the server's view of the client's
/// identity, or the error either side saw.
async fn handshake(
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
) -> Result<Option<CertIdentity>, String> {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let accept = async move {
        let mut s = TlsAcceptor::from(server)
            .accept(a)
            .await
            .map_err(|e| e.to_string())?;
        let peer = s
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .and_then(CertIdentity::of);
        let mut buf = [0u8; 2];
        s.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(peer)
    };
    let connect = async move {
        let name = ServerName::try_from("localhost").expect("name");
        let mut c = TlsConnector::from(client)
            .connect(name, b)
            .await
            .map_err(|e| e.to_string())?;
        c.write_all(b"hi").await.map_err(|e| e.to_string())?;
        c.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(c)
    };
    let (server, client) = tokio::join!(accept, connect);
    client?;
    server
}

#[tokio::test]
async fn mutual_tls_names_the_peer_node_and_refuses_other_cas() {
    let dirs = tempfile::tempdir().unwrap();
    let ca = TestCa::new("cluster-a");
    let server = material(&ca, &Leaf::node(1), &dirs.path().join("1"));
    let client = material(&ca, &Leaf::node(2), &dirs.path().join("2"));
    let required = server.server_config(ClientAuth::Required).unwrap();
    let peer = handshake(required.clone(), client.client_config().unwrap())
        .await
        .expect("same CA");
    let peer = peer.expect("client certificate seen");
    assert_eq!(peer.node_id, Some(2));
    assert!(!peer.operator);

    let other = material(
        &TestCa::new("cluster-b"),
        &Leaf::node(2),
        &dirs.path().join("b"),
    );
    assert!(handshake(required.clone(), other.client_config().unwrap())
        .await
        .is_err());

    // No client certificate at all: refused when required, served when optional.
    let roots = (*server.current().roots).clone();
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(server.provider().clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    assert!(handshake(required, anonymous.clone()).await.is_err());
    let optional = server.server_config(ClientAuth::Optional).unwrap();
    assert_eq!(handshake(optional, anonymous).await.unwrap(), None);
}

#[tokio::test]
async fn rotated_files_apply_to_the_next_handshake() {
    let dirs = tempfile::tempdir().unwrap();
    let old_ca = TestCa::new("old");
    let server = material(&old_ca, &Leaf::node(1), &dirs.path().join("1"));
    let old_client = material(&old_ca, &Leaf::node(2), &dirs.path().join("2"));
    let config = server.server_config(ClientAuth::Required).unwrap();
    assert!(!server.reload_if_changed().unwrap());

    let new_ca = TestCa::new("new");
    write_files(
        &dirs.path().join("1"),
        &new_ca.cert_pem(),
        &new_ca.issue(&Leaf::node(1)),
    );
    assert!(server.reload_if_changed().unwrap());
    assert_eq!(server.reloads(), 1);
    // The same ServerConfig now trusts only the new CA and presents the new leaf.
    assert!(
        handshake(config.clone(), old_client.client_config().unwrap())
            .await
            .is_err()
    );
    let new_client = material(&new_ca, &Leaf::node(2), &dirs.path().join("3"));
    assert!(handshake(config, new_client.client_config().unwrap())
        .await
        .is_ok());

    // Broken files are refused and the working material kept.
    std::fs::write(dirs.path().join("1").join("tls.key"), "not a key").unwrap();
    assert!(server.reload_if_changed().is_err());
    assert_eq!(server.reloads(), 1);
}

#[test]
fn missing_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = TlsMaterial::load(TlsFiles::in_dir(dir.path(), None)).unwrap_err();
    assert!(err.to_string().contains("tls.crt"), "{err}");
}
