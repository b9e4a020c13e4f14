//! Closed-loop load: N writers, each waiting for its commit before the next.

use crate::cluster::Cluster;
use crate::RaftArgs;
use std::time::{Duration, Instant};

/// What one load run measured.
pub struct LoadResult {
    pub committed: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latencies_us: Vec<u64>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

pub async fn run(c: &Cluster, leader: usize, args: &RaftArgs, duration: Duration) -> LoadResult {
    let value = vec![b'v'; args.payload];
    let start = Instant::now();
    let deadline = start + duration;
    let results = futures_join(c, leader, args.concurrency, &value, deadline).await;
    let elapsed = start.elapsed();
    let mut latencies_us: Vec<u64> = results
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .collect();
    latencies_us.sort_unstable();
    LoadResult {
        committed: latencies_us.len() as u64,
        errors: results.iter().map(|(_, e)| e).sum(),
        elapsed,
        latencies_us,
    }
}

async fn futures_join(
    c: &Cluster,
    leader: usize,
    writers: usize,
    value: &[u8],
    deadline: Instant,
) -> Vec<(Vec<u64>, u64)> {
    let mut set = Vec::new();
    for w in 0..writers {
        set.push(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut n = 0u64;
            while Instant::now() < deadline {
                let key = format!("bench-{w}-{n}");
                n += 1;
                let t = Instant::now();
                match c.put(leader, &key, value).await {
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(_) => errors += 1,
                }
            }
            (lat, errors)
        });
    }
    join_all(set).await
}

/// Polls all futures concurrently on this task (no spawn needed: they borrow the cluster).
async fn join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}
