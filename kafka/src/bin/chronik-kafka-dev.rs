//! Serves the in-memory backend on a loopback port, for tests and experiments.
//!
//! Prints `listening on <addr>` once the socket is bound (use `--port 0` for an
//! ephemeral port and read the line).

use std::net::SocketAddr;
use std::sync::Arc;

use clap::Parser;
use tokio::net::TcpListener;

use chronik_kafka::{FrontendConfig, Handlers, MemoryBackend, MemoryBackendConfig, ServerConfig};

/// Command line of the development broker.
#[derive(Debug, Parser)]
#[command(
    name = "chronik-kafka-dev",
    about = "Kafka front end over the in-memory backend"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Node id advertised in Metadata.
    #[arg(long, default_value_t = 1)]
    node_id: i32,
    /// Largest request frame accepted.
    #[arg(long, default_value_t = 100 * 1024 * 1024)]
    max_request_bytes: usize,
    /// Maximum concurrent connections.
    #[arg(long, default_value_t = chronik_kafka::server::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Partitions of topics created without a count.
    #[arg(long, default_value_t = 1)]
    default_partitions: i32,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listener = TcpListener::bind(SocketAddr::new(args.host, args.port)).await?;
    let local = listener.local_addr()?;
    let backend = Arc::new(MemoryBackend::new(MemoryBackendConfig {
        node_id: args.node_id,
        advertised_host: local.ip().to_string(),
        advertised_port: i32::from(local.port()),
        cluster_id: "chronik-dev".to_owned(),
    }));
    let broker = Arc::new(Handlers::new(
        backend,
        FrontendConfig {
            default_partitions: args.default_partitions,
            ..FrontendConfig::default()
        },
    ));
    println!("listening on {local}");
    let config = ServerConfig {
        max_connections: args.max_connections,
        max_request_bytes: args.max_request_bytes,
        ..ServerConfig::default()
    };
    chronik_kafka::serve(listener, broker, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
