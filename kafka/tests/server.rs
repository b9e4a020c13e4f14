//! The listener through the library API: connection limit, idle timeout and
//! shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use chronik_kafka::{FrontendConfig, Handlers, MemoryBackend, MemoryBackendConfig, ServerConfig};

/// ApiVersions v0 request frame.
fn api_versions_frame(correlation_id: i32) -> Vec<u8> {
    let mut body = BytesMut::new();
    body.put_i16(18);
    body.put_i16(0);
    body.put_i32(correlation_id);
    body.put_i16(-1);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

async fn read_correlation_id(stream: &mut TcpStream) -> i32 {
    let len = stream
        .read_i32()
        .await
        .unwrap_or_else(|e| panic!("read: {e}"));
    let mut body = vec![0u8; len as usize];
    stream
        .read_exact(&mut body)
        .await
        .unwrap_or_else(|e| panic!("read: {e}"));
    (&body[..]).get_i32()
}

async fn start(
    max_connections: usize,
) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    start_with(ServerConfig {
        max_connections,
        ..ServerConfig::default()
    })
    .await
}

async fn start_with(
    config: ServerConfig,
) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: 1,
        advertised_host: addr.ip().to_string(),
        advertised_port: i32::from(addr.port()),
        cluster_id: "test".to_owned(),
    }));
    let broker = Arc::new(Handlers::new(backend, FrontendConfig::default()));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(chronik_kafka::serve(listener, broker, config, async {
        let _ = rx.await;
    }));
    (addr.to_string(), tx, task)
}

/// True once the server closed `stream` (EOF or reset) within 5 s.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

/// `max.connections`: a connection over the limit is closed at once instead of
/// holding a task and buffers; once a slot frees, new clients are served.
#[tokio::test]
async fn connections_beyond_the_limit_are_refused_until_a_slot_frees() {
    let (addr, _shutdown, _task) = start(1).await;
    let mut first = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    first
        .write_all(&api_versions_frame(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_correlation_id(&mut first).await, 1);

    let mut second = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = second.write_all(&api_versions_frame(2)).await;
    assert!(
        closed_by_server(&mut second).await,
        "a connection over max.connections was kept open"
    );

    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut third = TcpStream::connect(&addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = third.write_all(&api_versions_frame(3)).await;
        let mut len = [0u8; 4];
        if third.read_exact(&mut len).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no slot freed after the first client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `connections.max.idle.ms`: a client that sends nothing (or only part of a
/// frame) is disconnected; an active one is not.
#[tokio::test]
async fn idle_connections_are_closed() {
    let (addr, _shutdown, _task) = start_with(ServerConfig {
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .await;
    let mut silent = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut partial = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    partial
        .write_all(&api_versions_frame(1)[..6])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut active = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for id in 0..5 {
        active
            .write_all(&api_versions_frame(id))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_correlation_id(&mut active).await, id);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed_by_server(&mut silent).await, "silent client kept");
    assert!(
        closed_by_server(&mut partial).await,
        "half-frame client kept"
    );
}

#[tokio::test]
async fn shutdown_stops_the_listener_and_closes_connections() {
    let (addr, shutdown, task) = start(8).await;
    let mut client = TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    client
        .write_all(&api_versions_frame(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read_correlation_id(&mut client).await, 5);

    let _ = shutdown.send(());
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap_or_else(|_| panic!("serve did not return after shutdown"))
        .unwrap_or_else(|e| panic!("serve task: {e}"));
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "connection still open: {read:?}"
    );
    assert!(
        TcpStream::connect(&addr).await.is_err(),
        "listener still accepting"
    );
}
