//! Side-by-side output of a benchmark run.

use crate::load::LoadResult;
use crate::RaftArgs;
use std::time::Duration;

pub struct Row {
    pub system: &'static str,
    pub load: LoadResult,
    pub failover: Duration,
    pub idle_rss_kib: u64,
}

pub fn print(args: &RaftArgs, rows: &[Row]) {
    println!(
        "\n3 members on loopback, fsync on, {} B values, {} concurrent writers, {} s each\n",
        args.payload, args.concurrency, args.seconds
    );
    println!(
        "{:<8} {:>12} {:>8} {:>10} {:>10} {:>14} {:>14}",
        "system", "commits/s", "errors", "p50 ms", "p99 ms", "failover ms", "idle RSS MiB"
    );
    for r in rows {
        println!(
            "{:<8} {:>12.0} {:>8} {:>10.2} {:>10.2} {:>14.0} {:>14.1}",
            r.system,
            r.load.per_second(),
            r.load.errors,
            r.load.percentile_ms(0.5),
            r.load.percentile_ms(0.99),
            r.failover.as_secs_f64() * 1000.0,
            r.idle_rss_kib as f64 / 1024.0
        );
    }
    if let [a, b] = rows {
        println!(
            "\n{} / {}: throughput x{:.2}, p99 latency x{:.2}, failover x{:.2}",
            a.system,
            b.system,
            a.load.per_second() / b.load.per_second(),
            a.load.percentile_ms(0.99) / b.load.percentile_ms(0.99),
            a.failover.as_secs_f64() / b.failover.as_secs_f64()
        );
    }
}
