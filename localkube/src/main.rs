//! `chronik-localkube`: run the Kubernetes API emulator (and optionally the
//! podman workload runner) in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chronik_localkube::runner::podman::Podman;
use chronik_localkube::runner::{Runner, RunnerConfig};
use clap::{Parser, Subcommand, ValueEnum};

/// How long open connections (watches) may delay the exit.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

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
    /// Run StatefulSet pods as containers with this engine.
    #[arg(long, value_enum, default_value = "none")]
    runner: RunnerKind,
    /// Name prefix of the runner's containers, volumes and network.
    #[arg(long, default_value = "localkube")]
    runner_prefix: String,
    /// containers.conf exported to podman as CONTAINERS_CONF.
    #[arg(long, env = "CONTAINERS_CONF")]
    containers_conf: Option<PathBuf>,
    /// Directory for ConfigMap/Secret volume files.
    #[arg(long, default_value = "/tmp/chronik-localkube")]
    work_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// HTTP GET a URL and exit 0 on a 2xx/3xx answer (a probe usable from a
    /// FROM-scratch image on the pod network).
    CheckUrl {
        /// `http://host:port/path`.
        url: String,
    },
    /// Print a file (reads a mounted volume inside a FROM-scratch image).
    Cat {
        /// The file.
        path: PathBuf,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum RunnerKind {
    /// API server only.
    None,
    /// Run pods with podman.
    Podman,
}

fn check_url(url: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("resolving {hostport}: {e}"))?
        .next()
        .ok_or(format!("{hostport} has no address"))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("connecting {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).map_err(|e| e.to_string())?;
    let code: u16 = String::from_utf8_lossy(&head[9..12]).parse().unwrap_or(0);
    if (200..400).contains(&code) {
        println!("{code} from {addr}");
        Ok(())
    } else {
        Err(format!("HTTP {code} from {addr}"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(Command::CheckUrl { url }) = &args.command {
        if let Err(e) = check_url(url) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return Ok(());
    }
    if let Some(Command::Cat { path }) = &args.command {
        match std::fs::read(path) {
            Ok(bytes) => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                std::process::exit(1);
            }
        }
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = chronik_localkube::start(args.listen).await?;
    if let Some(path) = &args.kubeconfig {
        server.write_kubeconfig(path)?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    let mut extra = None;
    let runner = match args.runner {
        RunnerKind::None => None,
        RunnerKind::Podman => {
            let engine = Podman::new(&args.runner_prefix, args.containers_conf.as_deref())?;
            // Pods reach the API server on the network's gateway, same port. The
            // bridge only exists once a container runs: bind in the background.
            let gateway: std::net::IpAddr = engine.gateway()?.parse()?;
            let gw_addr = SocketAddr::new(gateway, server.addr.port());
            std::fs::create_dir_all(&args.work_dir)?;
            let pod_kubeconfig = args.work_dir.join("pod-kubeconfig");
            std::fs::write(
                &pod_kubeconfig,
                chronik_localkube::kubeconfig(&format!("http://{gw_addr}")),
            )?;
            let state = server.state.clone();
            extra = Some(tokio::spawn(async move {
                loop {
                    match chronik_localkube::apiserver::server::start_with_state(
                        gw_addr,
                        state.clone(),
                    )
                    .await
                    {
                        Ok(s) => return s,
                        Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
            }));
            let config = RunnerConfig {
                interval: Duration::from_millis(500),
                work_dir: args.work_dir.clone(),
                pod_kubeconfig: Some(pod_kubeconfig),
                node_ip: match gateway {
                    std::net::IpAddr::V4(v4) => Some(v4),
                    std::net::IpAddr::V6(_) => None,
                },
            };
            let runner = Runner::new(server.state.clone(), Arc::new(engine.clone()), config);
            Some((runner.spawn_serving_logs(), engine))
        }
    };
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
    if let Some((handle, engine)) = runner {
        tokio::task::spawn_blocking(move || {
            handle.stop(true);
            let _ = engine.remove_network();
        })
        .await?;
    }
    // Graceful shutdown waits for open connections, and watches stay open
    // until their clients (or their timeouts) end them: give them a moment,
    // then exit anyway.
    if let Some(task) = extra {
        if task.is_finished() {
            if let Ok(inner) = task.await {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, inner.shutdown()).await;
            }
        } else {
            task.abort();
        }
    }
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown()).await;
    Ok(())
}
