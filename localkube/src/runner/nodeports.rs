//! Node ports and load balancer addresses on the host: a TCP forwarder per
//! `NodePort`/`LoadBalancer` Service port, listening on `127.0.0.1:<nodePort>`
//! and `<node address>:<nodePort>` (the podman network's gateway, so pods
//! reach node ports too), and on `<load balancer address>:<port>`, each
//! connection going to one of the Service's endpoint pods (round robin) at
//! its target port. Endpoints follow the pods' readiness every runner tick.
//!
//! Only TCP; a connection arriving while the Service has no ready endpoint is
//! closed at once (kube-proxy would refuse it).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::apiserver::services::lb_address;

/// Listening address → endpoint addresses.
pub type Routes = BTreeMap<SocketAddr, Vec<SocketAddr>>;

fn s<'a>(o: &'a Value, ptr: &str) -> &'a str {
    o.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

fn selects(svc: &Value, pod: &Value) -> bool {
    let Some(sel) = svc.pointer("/spec/selector").and_then(Value::as_object) else {
        return false;
    };
    let labels = pod.pointer("/metadata/labels").and_then(Value::as_object);
    !sel.is_empty()
        && s(svc, "/metadata/namespace") == s(pod, "/metadata/namespace")
        && sel
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The port a Service port reaches on one pod: `targetPort` by number or by
/// the container port's name, else `port`.
fn target_port(port: &Value, pod: &Value) -> Option<u16> {
    let number = |v: &Value| v.as_u64().and_then(|n| u16::try_from(n).ok());
    match port.get("targetPort") {
        Some(Value::String(name)) => pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|c| {
                c.get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|p| p.get("containerPort"))
            .and_then(number),
        Some(v) if v.is_u64() => number(v),
        _ => port.get("port").and_then(number),
    }
}

/// Where each node port and load balancer address should forward to, from
/// the Services and the pods' status (`podIP`, `Ready`).
pub fn routes(services: &[Value], pods: &[Value], host_ip: Option<Ipv4Addr>) -> Routes {
    let mut out = Routes::new();
    for svc in services {
        let ty = s(svc, "/spec/type");
        if !(ty == "NodePort" || ty == "LoadBalancer")
            || svc.pointer("/metadata/deletionTimestamp").is_some()
        {
            continue;
        }
        let not_ready_too =
            svc.pointer("/spec/publishNotReadyAddresses") == Some(&Value::Bool(true));
        let backends: Vec<(&Value, IpAddr)> = pods
            .iter()
            .filter(|p| selects(svc, p) && p.pointer("/metadata/deletionTimestamp").is_none())
            .filter(|p| not_ready_too || ready(p))
            .filter_map(|p| s(p, "/status/podIP").parse().ok().map(|ip| (p, ip)))
            .collect();
        let lb = lb_address(svc);
        for port in svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if port
                .get("protocol")
                .and_then(Value::as_str)
                .is_some_and(|p| p != "TCP")
            {
                continue;
            }
            let targets: Vec<SocketAddr> = backends
                .iter()
                .filter_map(|(p, ip)| target_port(port, p).map(|tp| SocketAddr::new(*ip, tp)))
                .collect();
            let node_port = port
                .get("nodePort")
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok());
            if let Some(np) = node_port {
                out.insert(SocketAddr::from((Ipv4Addr::LOCALHOST, np)), targets.clone());
                if let Some(h) = host_ip.filter(|h| !h.is_loopback()) {
                    out.insert(SocketAddr::from((h, np)), targets.clone());
                }
            }
            let svc_port = port
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|n| u16::try_from(n).ok());
            if let (Some(ip), Some(p)) = (lb, svc_port) {
                out.insert(SocketAddr::from((ip, p)), targets);
            }
        }
    }
    out
}

struct Listener {
    targets: Arc<Mutex<Vec<SocketAddr>>>,
    stop: Arc<AtomicBool>,
}

/// The running forwarders.
#[derive(Default)]
pub struct Forwarder {
    listeners: BTreeMap<SocketAddr, Listener>,
    /// Addresses that could not be bound (logged once each).
    failed: BTreeSet<SocketAddr>,
}

impl Forwarder {
    /// Listen on every address of `routes` (stop listening on the others)
    /// and point each at its current endpoints.
    pub fn sync(&mut self, routes: Routes) {
        self.listeners.retain(|addr, l| {
            let keep = routes.contains_key(addr);
            if !keep {
                l.stop.store(true, Ordering::SeqCst);
            }
            keep
        });
        for (addr, targets) in routes {
            if let Some(l) = self.listeners.get(&addr) {
                *l.targets.lock().unwrap_or_else(|p| p.into_inner()) = targets;
                continue;
            }
            match listen(addr, targets) {
                Ok(l) => {
                    self.failed.remove(&addr);
                    tracing::info!(%addr, "forwarding a node port");
                    self.listeners.insert(addr, l);
                }
                Err(e) => {
                    if self.failed.insert(addr) {
                        tracing::warn!(%addr, error = %e, "cannot listen for a node port (retrying)");
                    }
                }
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for l in self.listeners.values() {
            l.stop.store(true, Ordering::SeqCst);
        }
    }
}

fn listen(addr: SocketAddr, targets: Vec<SocketAddr>) -> io::Result<Listener> {
    let socket = TcpListener::bind(addr)?;
    socket.set_nonblocking(true)?;
    let l = Listener {
        targets: Arc::new(Mutex::new(targets)),
        stop: Arc::new(AtomicBool::new(false)),
    };
    let (targets, stop) = (l.targets.clone(), l.stop.clone());
    std::thread::spawn(move || {
        let next = AtomicUsize::new(0);
        while !stop.load(Ordering::SeqCst) {
            match socket.accept() {
                Ok((conn, _)) => {
                    let list = targets.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if list.is_empty() {
                        continue;
                    }
                    let target = list[next.fetch_add(1, Ordering::Relaxed) % list.len()];
                    std::thread::spawn(move || forward(conn, target));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    });
    Ok(l)
}

/// Copy bytes both ways until each side has closed.
fn forward(client: TcpStream, target: SocketAddr) {
    let Ok(upstream) = TcpStream::connect_timeout(&target, Duration::from_secs(3)) else {
        return;
    };
    let _ = client.set_nonblocking(false);
    let (Ok(mut client_r), Ok(mut upstream_w)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut client_r, &mut upstream_w);
        let _ = upstream_w.shutdown(Shutdown::Write);
    });
    let (mut upstream_r, mut client_w) = (upstream, client);
    let _ = io::copy(&mut upstream_r, &mut client_w);
    let _ = client_w.shutdown(Shutdown::Write);
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_follow_ready_endpoints_and_target_ports() {
        let svc = json!({"metadata": {"name": "b-0", "namespace": "ns"},
            "spec": {"type": "LoadBalancer", "selector": {"pod": "b-0"},
                     "ports": [{"port": 9094, "targetPort": "external", "nodePort": 31000}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "127.0.1.1"}]}}});
        let pod = |ready: &str| {
            json!({"metadata": {"name": "b-0", "namespace": "ns", "labels": {"pod": "b-0"}},
            "spec": {"containers": [{"ports": [{"name": "external", "containerPort": 9095}]}]},
            "status": {"podIP": "10.89.0.5", "conditions": [{"type": "Ready", "status": ready}]}})
        };
        let r = routes(
            std::slice::from_ref(&svc),
            &[pod("True")],
            Some(Ipv4Addr::new(10, 89, 0, 1)),
        );
        let target: SocketAddr = "10.89.0.5:9095".parse().unwrap();
        for addr in ["127.0.0.1:31000", "10.89.0.1:31000", "127.0.1.1:9094"] {
            assert_eq!(
                r[&addr.parse::<SocketAddr>().unwrap()],
                vec![target],
                "{addr}"
            );
        }
        let r = routes(&[svc], &[pod("False")], None);
        assert_eq!(r.len(), 2);
        assert!(r.values().all(Vec::is_empty));
    }

    #[test]
    fn forwards_a_connection() {
        use std::io::{Read, Write};
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = echo.accept().unwrap();
            let mut buf = [0u8; 5];
            c.read_exact(&mut buf).unwrap();
            c.write_all(&buf).unwrap();
        });
        let front = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = front.local_addr().unwrap();
        drop(front);
        let mut f = Forwarder::default();
        f.sync(Routes::from([(addr, vec![target])]));
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"hello").unwrap();
        let mut back = String::new();
        c.read_to_string(&mut back).unwrap();
        assert_eq!(back, "hello");
    }
}
