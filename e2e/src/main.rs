//! `chronik-localkube`: run the Kubernetes API emulator in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Command line of `chronik-localkube`.
#[derive(Parser, Debug)]
#[command(
    name = "chronik-localkube",
    about = "A local in-memory Kubernetes API server emulator"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig pointing at the server to this file.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let server = chronik_e2e::start(args.listen).await?;
    if let Some(path) = &args.kubeconfig {
        server.write_kubeconfig(path)?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    println!("{}", server.url());
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                term.recv().await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {}
    }
    server.shutdown().await;
    Ok(())
}
