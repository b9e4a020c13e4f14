//! The bounds on what remote input can make the broker hold, as flags under
//! Kafka's config names and with Kafka's defaults where Kafka has them
//! (`--socket-request-max-bytes` is `socket.request.max.bytes`, and so on).
//! The internal bounds Kafka has no config for (gRPC message size, peer
//! queues, bytes per Raft loop turn) are constants beside the code they bound;
//! docs/broker.md lists them all.

use crate::offset_retention::{
    OffsetRetention, DEFAULT_CHECK_INTERVAL_MS, DEFAULT_RETENTION_MINUTES,
};
use clap::Args;
use std::time::Duration;

/// Largest `--socket-request-max-bytes`: half the gRPC message limit, so one
/// request's entry plus a bounded batch of others always reaches a peer.
const MAX_SOCKET_REQUEST_MAX_BYTES: i64 = (crate::transport::MAX_GRPC_MESSAGE / 2) as i64;

/// The resource-bound flags of a broker node.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest Kafka request frame (`socket.request.max.bytes`); a larger
    /// length prefix closes the connection before anything is allocated. At
    /// most 128 MiB: a produce request becomes one Raft entry, which must fit
    /// one gRPC message to a peer.
    #[arg(long, env = "CHRONIK_SOCKET_REQUEST_MAX_BYTES", default_value_t = chronik_kafka::server::DEFAULT_MAX_REQUEST_BYTES as u32, value_parser = clap::value_parser!(u32).range(1024..=MAX_SOCKET_REQUEST_MAX_BYTES))]
    pub socket_request_max_bytes: u32,
    /// Kafka connections at once (`max.connections`); more are closed at once.
    #[arg(long, env = "CHRONIK_MAX_CONNECTIONS", default_value_t = chronik_kafka::server::DEFAULT_MAX_CONNECTIONS as u32, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// A Kafka connection without a complete request for this long is closed
    /// (`connections.max.idle.ms`).
    #[arg(long, env = "CHRONIK_CONNECTIONS_MAX_IDLE_MS", default_value_t = 600_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub connections_max_idle_ms: u64,
    /// Most record bytes in one Fetch response (`fetch.max.bytes`); the
    /// client's max_bytes is capped by it, one batch still goes through.
    #[arg(long, env = "CHRONIK_FETCH_MAX_BYTES", default_value_t = chronik_kafka::handlers::DEFAULT_FETCH_MAX_BYTES as u32, value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub fetch_max_bytes: u32,
    /// An idempotent producer whose last batch in a partition is older than
    /// this, by the time carried in that partition's log, is forgotten there
    /// (`producer.id.expiration.ms`). Must be equal on every broker.
    #[arg(long, env = "CHRONIK_PRODUCER_ID_EXPIRATION_MS", default_value_t = chronik_kafka::idempotence::DEFAULT_PRODUCER_ID_EXPIRATION_MS as u64, value_parser = clap::value_parser!(u64).range(1..=i64::MAX as u64))]
    pub producer_id_expiration_ms: u64,
    /// Committed offsets of a group without members whose newest commit is
    /// older than this are dropped (`offsets.retention.minutes`).
    #[arg(long, env = "CHRONIK_OFFSETS_RETENTION_MINUTES", default_value_t = crate::offset_retention::DEFAULT_RETENTION_MINUTES, value_parser = clap::value_parser!(u64).range(1..=(i64::MAX / 60_000) as u64))]
    pub offsets_retention_minutes: u64,
    /// How often the metadata leader looks for offsets to expire
    /// (`offsets.retention.check.interval.ms`).
    #[arg(long, env = "CHRONIK_OFFSETS_RETENTION_CHECK_INTERVAL_MS", default_value_t = crate::offset_retention::DEFAULT_CHECK_INTERVAL_MS, value_parser = clap::value_parser!(u64).range(100..))]
    pub offsets_retention_check_interval_ms: u64,
}

/// The validated bounds of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `socket.request.max.bytes`.
    pub socket_request_max_bytes: usize,
    /// `max.connections`.
    pub max_connections: usize,
    /// `connections.max.idle.ms`.
    pub connections_max_idle: Duration,
    /// `fetch.max.bytes`.
    pub fetch_max_bytes: usize,
    /// `producer.id.expiration.ms`.
    pub producer_id_expiration_ms: i64,
    /// `offsets.retention.minutes` and `offsets.retention.check.interval.ms`.
    pub offset_retention: OffsetRetention,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            socket_request_max_bytes: chronik_kafka::server::DEFAULT_MAX_REQUEST_BYTES,
            max_connections: chronik_kafka::server::DEFAULT_MAX_CONNECTIONS,
            connections_max_idle: chronik_kafka::server::DEFAULT_IDLE_TIMEOUT,
            fetch_max_bytes: chronik_kafka::handlers::DEFAULT_FETCH_MAX_BYTES,
            producer_id_expiration_ms:
                chronik_kafka::idempotence::DEFAULT_PRODUCER_ID_EXPIRATION_MS,
            offset_retention: OffsetRetention {
                retention_ms: (DEFAULT_RETENTION_MINUTES * 60_000) as i64,
                check_interval: Duration::from_millis(DEFAULT_CHECK_INTERVAL_MS),
            },
        }
    }
}

impl LimitArgs {
    /// The bounds these flags describe (clap checked their ranges).
    pub fn limits(&self) -> Limits {
        Limits {
            socket_request_max_bytes: self.socket_request_max_bytes as usize,
            max_connections: self.max_connections as usize,
            connections_max_idle: Duration::from_millis(self.connections_max_idle_ms),
            fetch_max_bytes: self.fetch_max_bytes as usize,
            producer_id_expiration_ms: i64::try_from(self.producer_id_expiration_ms)
                .unwrap_or(i64::MAX),
            offset_retention: OffsetRetention {
                retention_ms: i64::try_from(self.offsets_retention_minutes.saturating_mul(60_000))
                    .unwrap_or(i64::MAX),
                check_interval: Duration::from_millis(self.offsets_retention_check_interval_ms),
            },
        }
    }
}

impl Limits {
    /// The Kafka listener's settings.
    pub fn kafka_server(&self) -> chronik_kafka::ServerConfig {
        chronik_kafka::ServerConfig {
            max_connections: self.max_connections,
            max_request_bytes: self.socket_request_max_bytes,
            idle_timeout: self.connections_max_idle,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;

    #[test]
    fn defaults_are_kafkas_and_flags_override_them() {
        let cli = Cli::try_parse_from(["chronik-broker"]).expect("parses");
        let limits = cli.node.limits.limits();
        assert_eq!(limits, super::Limits::default());
        assert_eq!(limits.socket_request_max_bytes, 100 * 1024 * 1024);
        assert_eq!(limits.fetch_max_bytes, 55 * 1024 * 1024);
        assert_eq!(limits.connections_max_idle.as_millis(), 600_000);
        let cli = Cli::try_parse_from([
            "chronik-broker",
            "--max-connections",
            "3",
            "--connections-max-idle-ms",
            "500",
        ])
        .expect("parses");
        let limits = cli.node.limits.limits();
        assert_eq!(limits.max_connections, 3);
        assert_eq!(limits.connections_max_idle.as_millis(), 500);
        assert!(Cli::try_parse_from(["chronik-broker", "--max-connections", "0"]).is_err());
        assert!(
            Cli::try_parse_from(["chronik-broker", "--socket-request-max-bytes", "200000000"])
                .is_err()
        );
    }
}
