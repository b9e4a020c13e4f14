//! Free TCP ports for the processes a test starts.

use std::ops::Range;
use std::sync::atomic::{AtomicU16, Ordering};

/// Ports handed out below the kernel's ephemeral range (32768-60999 by
/// default), so that the outgoing connections of a running cluster can never
/// take a port a node is about to bind (a restarted or added node binds its
/// ports long after they were picked).
pub const PORTS: Range<u16> = 20_000..32_000;

/// A free TCP port on `ip` (the socket is closed again; a small race with
/// other processes is accepted). Never the same port twice in one test
/// process.
pub fn free_port(ip: &str) -> u16 {
    // Start at a per-process pseudo-random offset.
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = PORTS.end - PORTS.start;
    let seed = (std::process::id() as u64 ^ uuid::Uuid::new_v4().as_u64_pair().0) as u16;
    let _ = NEXT.compare_exchange(0, seed % span + 1, Ordering::SeqCst, Ordering::SeqCst);
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = PORTS.start + n % span;
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?} on {ip}");
}
