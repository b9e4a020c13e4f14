//! `chronik-operator`: `run` the controller, print the `crd`, or `render` a cluster.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chronik_operator::brokers::HttpBrokerClients;
use chronik_operator::build::OperatorPods;
use chronik_operator::controller::{self, Context};
use chronik_operator::leader::{LeaderElector, LeaseConfig};
use chronik_operator::metrics::Metrics;
use chronik_operator::user::crd::user_crd_yaml;
use chronik_operator::{crd, render, server};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "chronik-operator",
    version,
    about = "Kubernetes operator for Chronik clusters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the ChronikCluster CustomResourceDefinition as YAML.
    Crd,
    /// Print the ChronikUser CustomResourceDefinition as YAML.
    UserCrd,
    /// Print every object the operator would apply for the ChronikCluster(s) in a file.
    Render {
        /// YAML file with one or more ChronikClusters (`-` for standard input).
        #[arg(short = 'f', long = "filename")]
        file: PathBuf,
        /// Namespace of clusters whose metadata has none.
        #[arg(long, default_value = "default")]
        namespace: String,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Json,
    Text,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Watch only this namespace (all namespaces when unset).
    #[arg(long, env = "CHRONIK_OPERATOR_NAMESPACE")]
    namespace: Option<String>,
    /// Log format.
    #[arg(
        long,
        value_enum,
        default_value = "json",
        env = "CHRONIK_OPERATOR_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "CHRONIK_OPERATOR_LISTEN")]
    listen: SocketAddr,
    /// Disable Lease-based leader election (only for a single replica).
    #[arg(long)]
    no_leader_election: bool,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "chronik-operator-leader")]
    lease_name: String,
    /// Namespace of the Lease (defaults to the pod's namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Identity in the Lease (defaults to the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Timeout of each broker status request, in seconds.
    #[arg(long, default_value_t = 2)]
    broker_timeout_secs: u64,
    /// Labels of the operator's pods (`key=value,…`): each cluster's
    /// NetworkPolicy lets them reach the brokers' Raft and admin ports.
    #[arg(
        long,
        default_value = "app.kubernetes.io/name=chronik-operator",
        env = "CHRONIK_OPERATOR_POD_SELECTOR"
    )]
    pod_selector: String,
    /// Seconds a Secret change needs to reach every pod (the kubelet's
    /// sync period and cache): the wait between the steps of a CA renewal.
    #[arg(long, default_value_t = 120)]
    cert_propagation_secs: u64,
}

/// `key=value,…` into labels.
fn parse_labels(text: &str) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .with_context(|| format!("--pod-selector entry {pair:?} is not key=value"))?;
            Ok((key.trim().to_string(), value.trim().to_string()))
        })
        .collect()
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (kubeconfig or in-cluster)")?;
    let metrics = Arc::new(Metrics::new());
    let listener = server::bind(args.listen).await?;
    let http = tokio::spawn(server::serve(listener, metrics.clone()));

    let elector = if args.no_leader_election {
        None
    } else {
        let namespace = args
            .lease_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let identity = args
            .identity
            .clone()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .context("no identity for leader election: set --identity or POD_NAME")?;
        Some(LeaderElector::new(
            client.clone(),
            LeaseConfig {
                name: args.lease_name.clone(),
                namespace,
                identity,
                lease_duration: Duration::from_secs(15),
                renew_interval: Duration::from_secs(4),
            },
        ))
    };
    if let Some(elector) = &elector {
        tracing::info!("waiting for the leader Lease");
        tokio::select! {
            _ = elector.acquire() => {},
            _ = shutdown_signal() => return Ok(()),
        }
        tracing::info!("acquired the leader Lease");
    }
    metrics.leader.set(1);

    // Membership changes are answered once committed: allow a few seconds.
    let brokers = HttpBrokerClients::new(
        Duration::from_secs(args.broker_timeout_secs),
        Duration::from_secs(10),
    )
    .context("building the broker HTTP client")?;
    let mut ctx = Context::with_clients(client, Arc::new(brokers), metrics.clone());
    ctx.operator_pods = OperatorPods {
        namespace: std::env::var("POD_NAMESPACE").ok(),
        labels: parse_labels(&args.pod_selector)?,
    };
    ctx.cert_propagation = Duration::from_secs(args.cert_propagation_secs);
    let ctx = Arc::new(ctx);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = futures::FutureExt::shared(async move {
        let _ = stop_rx.await;
    });
    let controller = tokio::spawn(futures::future::join(
        controller::run(ctx.clone(), args.namespace.clone(), stop.clone()),
        chronik_operator::user::run(ctx, args.namespace.clone(), stop),
    ));
    let lost = async {
        match &elector {
            Some(e) => e.hold().await,
            None => std::future::pending::<()>().await,
        }
    };
    let outcome = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        _ = lost => Err(anyhow::anyhow!("lost the leader Lease; exiting so a standby takes over")),
        result = http => match result {
            Ok(Ok(())) => Err(anyhow::anyhow!("HTTP server stopped")),
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(anyhow::anyhow!("HTTP server task: {e}")),
        },
    };
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), controller).await;
    metrics.leader.set(0);
    if let (Some(elector), Ok(())) = (&elector, &outcome) {
        elector.release().await;
    }
    outcome
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Crd => {
            print!("{}", crd::crd_yaml().context("serializing the CRD")?);
            Ok(())
        }
        Command::UserCrd => {
            print!("{}", user_crd_yaml().context("serializing the CRD")?);
            Ok(())
        }
        Command::Render { file, namespace } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).context("reading standard input")?
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            match render::render(&text, &namespace) {
                Ok(yaml) => {
                    print!("{yaml}");
                    Ok(())
                }
                Err(error) => {
                    eprintln!("error: {error}");
                    std::process::exit(1);
                }
            }
        }
    }
}
