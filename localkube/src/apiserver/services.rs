//! What the API server (and a cloud's load balancer controller) assigns to
//! Services besides the ClusterIP: node ports for `NodePort` and
//! `LoadBalancer` Services, and a load balancer address.
//!
//! Node ports come from 30000–32767, as Kubernetes' default
//! `--service-node-port-range`: a requested port is checked (range, taken by
//! another Service, twice in one Service), a missing one is allocated, and an
//! update that leaves it out keeps the one the same port had before, as the
//! API server does. Load balancer addresses are loopback addresses from
//! [`LB_POOL`], one per Service (at random, so that two emulators on one
//! host rarely collide), kept while the Service stays a
//! `LoadBalancer`; the workload runner forwards them to the Service's pods.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use serde_json::{json, Value};

use crate::apiserver::cluster::Cluster;
use crate::apiserver::error::{ApiError, ApiResult, FieldCause};
use crate::apiserver::store::ObjKey;

/// Kubernetes' default node port range.
pub const NODE_PORT_RANGE: RangeInclusive<u64> = 30000..=32767;

/// Load balancer addresses: `127.0.1.0` to `127.0.255.255` (loopback, so only
/// the host reaches them), without `.0` and `.255` hosts, picked at random.
pub const LB_POOL: Ipv4Addr = Ipv4Addr::new(127, 0, 1, 0);

/// Addresses in [`LB_POOL`].
const LB_POOL_SIZE: u32 = 255 * 256;

/// The node ports of a Service: `(port index, nodePort)`.
pub fn node_ports(svc: &Value) -> Vec<(usize, u64)> {
    svc.pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, p)| p.get("nodePort").and_then(Value::as_u64).map(|n| (i, n)))
        .collect()
}

/// The load balancer address the emulator gave a Service, if any.
pub fn lb_address(svc: &Value) -> Option<Ipv4Addr> {
    svc.pointer("/status/loadBalancer/ingress/0/ip")
        .and_then(Value::as_str)
        .and_then(|ip| ip.parse().ok())
}

fn service_type(svc: &Value) -> &str {
    svc.pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

/// The nodePort the same port (by `port` and `protocol`) had in the old object.
fn previous_node_port(old: Option<&Value>, port: &Value) -> Option<u64> {
    let protocol = |p: &Value| {
        p.get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string()
    };
    old?.pointer("/spec/ports")?
        .as_array()?
        .iter()
        .find(|o| o.get("port") == port.get("port") && protocol(o) == protocol(port))?
        .get("nodePort")?
        .as_u64()
}

fn invalid(field: String, message: String) -> FieldCause {
    FieldCause { field, message }
}

impl Cluster {
    /// Node ports and load balancer addresses held by every Service but `key`.
    fn taken(&self, key: &ObjKey) -> (BTreeSet<u64>, BTreeSet<Ipv4Addr>) {
        let mut ports = BTreeSet::new();
        let mut lbs = BTreeSet::new();
        for (k, svc) in self.store.list("services", None) {
            if k == key {
                continue;
            }
            ports.extend(node_ports(svc).into_iter().map(|(_, n)| n));
            lbs.extend(lb_address(svc));
        }
        (ports, lbs)
    }

    /// Check, keep and allocate the node ports of a Service being written
    /// (`old` is the stored object on updates), and give a `LoadBalancer`
    /// Service its address. Errors read like the API server's.
    pub(crate) fn assign_service_addresses(
        &mut self,
        kind: &str,
        key: &ObjKey,
        svc: &mut Value,
        old: Option<&Value>,
    ) -> ApiResult<()> {
        let (mut used, lbs) = self.taken(key);
        let ty = service_type(svc).to_string();
        let wants = ty == "NodePort"
            || (ty == "LoadBalancer"
                && svc.pointer("/spec/allocateLoadBalancerNodePorts") != Some(&json!(false)));
        let mut causes = Vec::new();
        let mut missing = Vec::new();
        let ports = svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut);
        for (i, p) in ports.into_iter().flatten().enumerate() {
            let field = format!("spec.ports[{i}].nodePort");
            let requested = p
                .get("nodePort")
                .and_then(Value::as_u64)
                .filter(|n| *n != 0);
            let previous = previous_node_port(old, p);
            if !wants {
                // A type change away from NodePort drops the allocated ports.
                if requested.is_some() && requested == previous {
                    if let Some(m) = p.as_object_mut() {
                        m.remove("nodePort");
                    }
                } else if requested.is_some() {
                    causes.push(invalid(
                        field,
                        format!("Forbidden: may not be used when `type` is '{ty}'"),
                    ));
                }
                continue;
            }
            let Some(n) = requested.or(previous) else {
                missing.push(i);
                continue;
            };
            if !NODE_PORT_RANGE.contains(&n) {
                causes.push(invalid(field, format!(
                    "Invalid value: {n}: provided port is not in the valid range. The range of valid ports is {}-{}",
                    NODE_PORT_RANGE.start(), NODE_PORT_RANGE.end()
                )));
            } else if !used.insert(n) {
                causes.push(invalid(
                    field,
                    format!("Invalid value: {n}: provided port is already allocated"),
                ));
            }
            p["nodePort"] = json!(n);
        }
        if !causes.is_empty() {
            return Err(ApiError::Invalid {
                kind: kind.to_string(),
                name: key.name.clone(),
                causes,
            });
        }
        for i in missing {
            let n = self.alloc.node_port(&used).ok_or_else(|| {
                ApiError::Internal("no free node port in 30000-32767".to_string())
            })?;
            used.insert(n);
            svc["spec"]["ports"][i]["nodePort"] = json!(n);
        }
        Self::assign_lb_address(svc, &ty, &lbs)
    }

    fn assign_lb_address(svc: &mut Value, ty: &str, taken: &BTreeSet<Ipv4Addr>) -> ApiResult<()> {
        if ty != "LoadBalancer" {
            svc["status"]["loadBalancer"] = json!({});
            return Ok(());
        }
        if lb_address(svc).is_some_and(|ip| !taken.contains(&ip)) {
            return Ok(());
        }
        let base = u32::from(LB_POOL);
        let start = crate::apiserver::defaults::random_below(u64::from(LB_POOL_SIZE)) as u32;
        let ip = (0..LB_POOL_SIZE)
            .map(|i| Ipv4Addr::from(base + (start + i) % LB_POOL_SIZE))
            .find(|ip| !taken.contains(ip) && ip.octets()[3] != 0 && ip.octets()[3] != 255)
            .ok_or_else(|| ApiError::Internal("no free load balancer address".to_string()))?;
        svc["status"]["loadBalancer"] =
            json!({"ingress": [{"ip": ip.to_string(), "ipMode": "VIP"}]});
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_port_is_found_by_port_and_protocol() {
        let old = json!({"spec": {"ports": [{"port": 9094, "nodePort": 31000}, {"port": 53, "protocol": "UDP", "nodePort": 31001}]}});
        assert_eq!(
            previous_node_port(Some(&old), &json!({"port": 9094})),
            Some(31000)
        );
        assert_eq!(previous_node_port(Some(&old), &json!({"port": 53})), None);
        assert_eq!(node_ports(&old), vec![(0, 31000), (1, 31001)]);
    }
}
