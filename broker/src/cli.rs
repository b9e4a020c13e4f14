//! Command line: every flag is also read from `CHRONIK_<FLAG>`.

use chronik_api::identity::{self as peers, Peer, PeerError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Chronik broker: a Raft-replicated, Kafka-compatible streaming broker.
#[derive(Debug, Parser)]
#[command(name = "chronik-broker", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Subcommands; without one the broker runs a node.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local cluster of N nodes on 127.0.0.1 with data in a temporary directory.
    Dev(DevArgs),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Flags of a broker node.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Raft node id (pod ordinal + 1); derived from --pod-name when absent.
    #[arg(long, env = "CHRONIK_NODE_ID")]
    pub node_id: Option<u64>,
    /// Pod name ending in -<ordinal>; defaults to $HOSTNAME.
    #[arg(long, env = "CHRONIK_POD_NAME")]
    pub pod_name: Option<String>,
    /// Initial voters as id@url,... (e.g. 1@http://c-0.c-headless.ns.svc.cluster.local:5001).
    /// A node not listed starts empty and waits to be added.
    #[arg(long, env = "CHRONIK_PEERS", default_value = "")]
    pub peers: String,
    /// Cluster id; a data directory of another cluster is refused. Defaults to a
    /// hash of --peers, which every pod of one cluster shares.
    #[arg(long, env = "CHRONIK_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// Raft gRPC listen address.
    #[arg(long, env = "CHRONIK_RAFT_ADDR", default_value = "0.0.0.0:5001")]
    pub raft_addr: SocketAddr,
    /// HTTP listen address (health, metrics, status, membership, metadata).
    #[arg(long, env = "CHRONIK_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Kafka protocol listen address.
    #[arg(long, env = "CHRONIK_KAFKA_ADDR", default_value = "0.0.0.0:9092")]
    pub kafka_addr: SocketAddr,
    /// Data directory (Raft log and identity file).
    #[arg(long, env = "CHRONIK_DATA_DIR", default_value = "/var/lib/chronik")]
    pub data_dir: PathBuf,
    /// Host name peers and clients use to reach this broker; defaults to the
    /// host of this node's own --peers URL, else the hostname.
    #[arg(long, env = "CHRONIK_ADVERTISED_HOST")]
    pub advertised_host: Option<String>,
    /// Broker configuration file of key=value lines (optional).
    #[arg(long, env = "CHRONIK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "CHRONIK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Raft tick interval in milliseconds (election timeout is 10-20 ticks).
    #[arg(long, env = "CHRONIK_TICK_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(5..=1000))]
    pub tick_ms: u64,
    /// Applied entries between two snapshots of the metadata store.
    #[arg(long, env = "CHRONIK_SNAPSHOT_INTERVAL", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_interval: u64,
    /// `new`: an initial voter with an empty data directory bootstraps the
    /// cluster. `existing`: an empty data directory never bootstraps; the
    /// broker waits for the leader to catch it up. A data directory that
    /// holds a log restarts from it either way.
    #[arg(
        long,
        env = "CHRONIK_INITIAL_CLUSTER_STATE",
        value_enum,
        default_value = "new"
    )]
    pub initial_cluster_state: crate::bootstrap::InitialClusterState,
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
    #[command(flatten)]
    pub peer_tls: crate::peer_security::PeerTlsArgs,
    #[command(flatten)]
    pub authz: crate::kafka::AuthzArgs,
    #[command(flatten)]
    pub listeners: crate::listeners::ListenerArgs,
    /// Most partitions one topic may have (CreateTopics, CreatePartitions and
    /// POST /v1/topics beyond it are refused; at most 10000).
    #[arg(long, env = "CHRONIK_MAX_PARTITIONS_PER_TOPIC", default_value_t = crate::topic_limits::DEFAULT_MAX_PARTITIONS_PER_TOPIC, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::topic_limits::HARD_MAX_PARTITIONS_PER_TOPIC)))]
    pub max_partitions_per_topic: u32,
    /// Most partitions of all topics together (at most 100000).
    #[arg(long, env = "CHRONIK_MAX_PARTITIONS", default_value_t = crate::topic_limits::DEFAULT_MAX_PARTITIONS, value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::topic_limits::HARD_MAX_PARTITIONS)))]
    pub max_partitions: u32,
    /// TEST ONLY, never in production: run the Raft log on a filesystem that
    /// loses every write not covered by a completed fsync when the process
    /// dies, as a power loss would. Refused unless CHRONIK_ENABLE_TEST_FS=1;
    /// CHRONIK_TEST_FS_SEED seeds the torn writes.
    #[arg(long, env = "CHRONIK_TEST_FS", value_enum, hide = true)]
    pub test_fs: Option<crate::storage::TestFs>,
}

/// Flags of `chronik-broker dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// First port; node i uses base+10i (raft), +1 (http), +2 (kafka).
    #[arg(long, default_value_t = 15000)]
    pub base_port: u16,
    /// Keep data here instead of a temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// Why the flags do not describe a runnable node.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Peers(#[from] PeerError),
    #[error("cannot read --config {path}: {source}")]
    ConfigFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--config {path} line {line}: expected key=value")]
    ConfigLine { path: PathBuf, line: usize },
    #[error("--config {path}: {source}")]
    ConfigKey {
        path: PathBuf,
        #[source]
        source: chronik_api::config::ConfigError,
    },
    #[error(transparent)]
    Listeners(#[from] crate::listeners::ListenerError),
    #[error("--test-fs is for tests only (it loses data on a crash); set CHRONIK_ENABLE_TEST_FS=1 to use it")]
    TestFsNotEnabled,
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub node_id: u64,
    pub cluster_id: String,
    pub initial_peers: Vec<Peer>,
    pub raft_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub kafka_addr: SocketAddr,
    pub data_dir: PathBuf,
    pub advertised_host: String,
    /// URL at which peers reach this node's Raft service.
    pub self_url: String,
    /// The `--config` file's broker configs, checked against the table.
    pub settings: crate::broker_config::StaticConfig,
    pub tick: Duration,
    pub snapshot_interval: u64,
    /// Whether an empty data directory may bootstrap the cluster.
    pub initial_cluster_state: crate::bootstrap::InitialClusterState,
    /// Bounds on what remote input can grow.
    pub limits: crate::limits::Limits,
    /// Partition limits of topic creation.
    pub topic_limits: crate::topic_limits::TopicLimits,
    /// Kafka listeners.
    pub listeners: crate::listeners::ListenerConfig,
    /// Mutual TLS between brokers and the admin API.
    pub peer_tls: crate::peer_security::PeerTlsConfig,
    /// Authorizer of Kafka requests.
    pub authz: chronik_kafka::authz::AuthzConfig,
}

impl NodeArgs {
    /// Checks the flags and derives what is not given.
    pub fn validate(&self) -> Result<NodeConfig, ConfigError> {
        let pod_name = self
            .pod_name
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok());
        let node_id = peers::derive_node_id(self.node_id, pod_name.as_deref())?;
        let peer_tls = self.peer_tls.config(pod_name.as_deref());
        let initial_peers = peers::parse_peers(&self.peers)?;
        let own_url = initial_peers
            .iter()
            .find(|p| p.id == node_id)
            .map(|p| p.url.clone());
        let listeners = self
            .listeners
            .validate(self.kafka_addr, pod_name.as_deref())?;
        let advertised_host = self
            .advertised_host
            .clone()
            .or_else(|| own_url.as_deref().and_then(url_host))
            .or(pod_name)
            .unwrap_or_else(|| "localhost".to_string());
        let self_url = own_url
            .unwrap_or_else(|| format!("http://{advertised_host}:{}", self.raft_addr.port()));
        let cluster_id = self
            .cluster_id
            .clone()
            .unwrap_or_else(|| default_cluster_id(&initial_peers));
        let settings = match &self.config {
            Some(path) => crate::broker_config::StaticConfig::validate(read_settings(path)?)
                .map_err(|source| ConfigError::ConfigKey {
                    path: path.clone(),
                    source,
                })?,
            None => Default::default(),
        };
        if let Some(mode) = self.test_fs {
            select_test_fs(mode)?;
        }
        Ok(NodeConfig {
            node_id,
            cluster_id,
            initial_peers,
            raft_addr: self.raft_addr,
            http_addr: self.http_addr,
            kafka_addr: self.kafka_addr,
            data_dir: self.data_dir.clone(),
            advertised_host,
            self_url,
            tick: Duration::from_millis(self.tick_ms),
            snapshot_interval: self.snapshot_interval,
            initial_cluster_state: self.initial_cluster_state,
            limits: self.limits.limits(),
            authz: self.authz.config(),
            listeners,
            topic_limits: crate::topic_limits::TopicLimits {
                max_partitions_per_topic: self.max_partitions_per_topic,
                max_partitions: self.max_partitions,
            },
            settings,
            peer_tls,
        })
    }
}

/// Puts this process's Raft log on the test filesystem, if explicitly enabled.
fn select_test_fs(mode: crate::storage::TestFs) -> Result<(), ConfigError> {
    if std::env::var("CHRONIK_ENABLE_TEST_FS").as_deref() != Ok("1") {
        return Err(ConfigError::TestFsNotEnabled);
    }
    let seed = std::env::var("CHRONIK_TEST_FS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    crate::storage::select_test_fs(mode, seed);
    Ok(())
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let (host, _port) = rest.trim_end_matches('/').rsplit_once(':')?;
    Some(host.to_string())
}

/// A stable id every node with the same `--peers` computes alike (FNV-1a).
fn default_cluster_id(peers: &[Peer]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in peers {
        for b in format!("{}@{};", p.id, p.url).bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("chronik-{h:016x}")
}

fn read_settings(
    path: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = std::collections::BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| ConfigError::ConfigLine {
                path: path.to_path_buf(),
                line: i + 1,
            })?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Result<Cli, clap::Error> {
        let mut v = vec!["chronik-broker"];
        v.extend_from_slice(extra);
        Cli::try_parse_from(v)
    }

    #[test]
    fn derives_identity_and_urls_from_pod_name_and_peers() {
        let cli = args(&[
            "--pod-name",
            "c-1",
            "--peers",
            "1@http://c-0.h.ns.svc.cluster.local:5001,2@http://c-1.h.ns.svc.cluster.local:5001",
        ])
        .unwrap();
        let cfg = cli.node.validate().unwrap();
        assert_eq!(cfg.node_id, 2);
        assert_eq!(cfg.self_url, "http://c-1.h.ns.svc.cluster.local:5001");
        assert_eq!(cfg.advertised_host, "c-1.h.ns.svc.cluster.local");
        let again = args(&[
            "--pod-name",
            "c-0",
            "--peers",
            "1@http://c-0.h.ns.svc.cluster.local:5001,2@http://c-1.h.ns.svc.cluster.local:5001",
        ])
        .unwrap()
        .node
        .validate()
        .unwrap();
        assert_eq!(
            cfg.cluster_id, again.cluster_id,
            "pods of one cluster agree on its id"
        );
    }

    #[test]
    fn a_node_missing_from_peers_uses_its_advertised_host() {
        let cfg = args(&[
            "--node-id",
            "4",
            "--advertised-host",
            "c-3.h",
            "--peers",
            "1@http://c-0.h:5001",
        ])
        .unwrap()
        .node
        .validate()
        .unwrap();
        assert_eq!(cfg.self_url, "http://c-3.h:5001");
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(args(&["--tick-ms", "0"]).is_err());
        assert!(args(&["--max-partitions-per-topic", "0"]).is_err());
        assert!(args(&["--max-partitions-per-topic", "10001"]).is_err());
        assert!(args(&["--max-partitions", "100001"]).is_err());
        assert!(args(&["--raft-addr", "nope"]).is_err());
        let cli = args(&["--node-id", "1", "--peers", "1@http://a:1,1@http://b:1"]).unwrap();
        assert!(matches!(
            cli.node.validate(),
            Err(ConfigError::Peers(PeerError::DuplicateId(1)))
        ));
    }

    #[test]
    fn the_test_filesystem_is_refused_unless_enabled() {
        let cli = args(&["--node-id", "1", "--test-fs", "drop-unsynced"]).unwrap();
        assert!(matches!(
            cli.node.validate(),
            Err(ConfigError::TestFsNotEnabled)
        ));
    }
}
