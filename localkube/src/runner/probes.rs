//! Liveness and readiness probes of a running container, every runner tick:
//! `initialDelaySeconds` and `failureThreshold` are honoured (`periodSeconds`
//! is not); a failed liveness probe restarts the container.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::backend::Backend;
use super::{pods, PodRuntime};
use crate::apiserver::time::now_rfc3339;

/// What a pass of probes found.
pub(super) enum Probed {
    /// The liveness probe failed: the container was restarted (not Ready).
    Restarted,
    /// Readiness.
    Ready(bool),
}

/// Probe the container of `pod` at `ip` and update its runtime facts.
pub(super) fn run(
    rt: &mut PodRuntime,
    backend: &dyn Backend,
    pod: &Value,
    ip: &str,
    key: &str,
    name: &str,
) -> Probed {
    let c = pod
        .pointer("/spec/containers/0")
        .cloned()
        .unwrap_or(json!({}));
    let delay = |p: &Value| {
        Duration::from_secs(
            p.get("initialDelaySeconds")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        )
    };
    let threshold = |p: &Value| {
        p.get("failureThreshold")
            .and_then(Value::as_u64)
            .unwrap_or(3)
    };
    if let Some(p) = c.get("livenessProbe") {
        if rt.started.elapsed() >= delay(p) {
            if pods::probe(pod, p, ip) {
                rt.live_failures = 0;
            } else {
                rt.live_failures += 1;
                if rt.live_failures >= threshold(p) {
                    tracing::info!(pod = %key, "liveness probe failed; restarting the container");
                    if backend.restart(name).is_ok() {
                        rt.facts.restarts += 1;
                        rt.facts.started_at = now_rfc3339();
                        rt.last_start = Instant::now();
                        rt.started = Instant::now();
                    }
                    rt.live_failures = 0;
                    rt.facts.ready = false;
                    return Probed::Restarted;
                }
            }
        }
    }
    let ready = match c.get("readinessProbe") {
        None => true,
        Some(p) if rt.started.elapsed() < delay(p) => false,
        Some(p) => {
            if pods::probe(pod, p, ip) {
                rt.ready_failures = 0;
                true
            } else {
                rt.ready_failures += 1;
                rt.facts.ready && rt.ready_failures < threshold(p)
            }
        }
    };
    Probed::Ready(ready)
}
