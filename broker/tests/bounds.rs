//! The resource bounds of the Kafka listener on a real broker process, over
//! raw TCP: a hostile length prefix, idle connections and too many of them
//! cost the broker nothing lasting, and it keeps serving.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::TestCluster;

const SEC: Duration = Duration::from_secs(1);
/// What the broker's peak resident memory may reach in these tests.
const MAX_HWM_KIB: u64 = 200 * 1024;

/// An ApiVersions v0 request frame.
fn api_versions_frame(correlation_id: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(5 * SEC))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    s
}

/// Sends ApiVersions and reads the answer's correlation id.
fn api_versions(stream: &mut TcpStream, correlation_id: i32) -> std::io::Result<i32> {
    stream.write_all(&api_versions_frame(correlation_id))?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body)?;
    Ok(i32::from_be_bytes([body[0], body[1], body[2], body[3]]))
}

/// True once the broker closed `stream` (EOF or reset) within `within`.
fn closed_by_broker(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 64];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            Err(_) => return true,
        }
    }
    false
}

/// A process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}

/// `socket.request.max.bytes`: a frame claiming 2 GiB is refused from its
/// length prefix (the connection closes, nothing is allocated for it), and a
/// frame just under the limit that never completes reserves only what
/// arrived. Catches a reader that trusts the prefix (2 GiB allocated per
/// connection: an out-of-memory kill of the broker).
#[tokio::test(flavor = "multi_thread")]
async fn a_2_gib_length_prefix_closes_the_connection_and_costs_no_memory() {
    let c = TestCluster::start(1);
    c.wait_ready(&[1], 20 * SEC).await;
    let pid = c.pid(1).expect("broker runs");
    let addr = c.kafka(1);
    let mut hostile = Vec::new();
    for _ in 0..8 {
        let mut s = connect(&addr);
        s.write_all(&0x7fff_ffffu32.to_be_bytes())
            .unwrap_or_else(|e| panic!("write: {e}"));
        // Some of the claimed body: a reader trusting the prefix allocates now.
        let _ = s.write_all(&[0u8; 64 * 1024]);
        hostile.push(s);
    }
    for s in &mut hostile {
        assert!(
            closed_by_broker(s, 5 * SEC),
            "a 2 GiB frame did not close its connection"
        );
    }
    // Just under the limit, never completed: only the bytes sent are held.
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut s = connect(&addr);
        s.write_all(&(100u32 * 1024 * 1024 - 1).to_be_bytes())
            .unwrap_or_else(|e| panic!("write: {e}"));
        s.write_all(&[0u8; 256 * 1024])
            .unwrap_or_else(|e| panic!("write: {e}"));
        slow.push(s);
    }
    let mut good = connect(&addr);
    assert_eq!(
        api_versions(&mut good, 7).ok(),
        Some(7),
        "broker stopped serving"
    );
    let hwm = peak_rss_kib(pid);
    assert!(
        hwm < MAX_HWM_KIB,
        "broker peak RSS {hwm} KiB after hostile frames (limit {MAX_HWM_KIB} KiB)"
    );
    assert!(c.ready(1).await, "broker not ready after hostile frames");
}

/// `max.connections` and `connections.max.idle.ms` as flags: a connection
/// over the limit is closed at once; idle ones are closed after the timeout,
/// which frees their slots for new clients. Catches a listener that parks
/// extra clients in the backlog or keeps dead connections forever (each one
/// holds a task and its buffers until the broker runs out of them).
#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_extra_ones_refused() {
    let mut c = TestCluster::plan(1);
    c.extra_args = [
        "--max-connections",
        "3",
        "--connections-max-idle-ms",
        "1500",
    ]
    .map(String::from)
    .to_vec();
    c.start_all();
    c.wait_leader(&[1], 10 * SEC).await;
    let addr = c.kafka(1);
    let mut held: Vec<TcpStream> = (0..3)
        .map(|i| {
            let mut s = connect(&addr);
            assert_eq!(api_versions(&mut s, i).ok(), Some(i));
            s
        })
        .collect();
    let mut extra = connect(&addr);
    let _ = extra.write_all(&api_versions_frame(9));
    assert!(
        closed_by_broker(&mut extra, 5 * SEC),
        "a fourth connection was served with max.connections=3"
    );
    for s in &mut held {
        assert!(
            closed_by_broker(s, 10 * SEC),
            "an idle connection outlived connections.max.idle.ms"
        );
    }
    let deadline = Instant::now() + 10 * SEC;
    loop {
        let mut s = connect(&addr);
        if api_versions(&mut s, 11).ok() == Some(11) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no connection served after idle ones were closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
