//! `cargo xtask demo`: build the images, start the local cluster (or use a
//! kube context), install the operator from the Helm chart, create the
//! example 3-node ChronikCluster, and produce and consume records through the
//! Kafka client image run as pods.

mod local;
mod pods;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cluster::LocalCluster;
use crate::images::{build_images, ImageOptions};
use crate::kube::Kube;
use crate::operator::OperatorInstall;
use crate::run::root;

/// Name of the example cluster (`examples/chronikcluster-3-node.yaml`).
const CLUSTER: &str = "chronik";

/// `cargo xtask demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Use this context of the default kubeconfig instead of the local cluster
    /// (its nodes must be able to run the images built here).
    #[arg(long)]
    context: Option<String>,
    /// Runner prefix of the local cluster.
    #[arg(long, default_value = "demo")]
    prefix: String,
    /// Tag of the images.
    #[arg(long, default_value = "latest")]
    tag: String,
    /// Instead: run `chronik-broker dev` as local processes (no Kubernetes).
    #[arg(long)]
    local_processes: bool,
    #[command(flatten)]
    local: local::LocalArgs,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<()> {
    if args.local_processes {
        return local::run(&args.local);
    }
    crate::deps::ensure_all()?;
    build_images(&ImageOptions {
        tag: args.tag.clone(),
        release: false,
        ..ImageOptions::default()
    })?;
    let (kube, stop) = match &args.context {
        Some(context) => (
            Kube {
                kubeconfig: None,
                context: Some(context.clone()),
            },
            format!("kubectl --context={context} delete chronikcluster {CLUSTER}"),
        ),
        None => {
            let cluster = LocalCluster::new(&args.prefix);
            let kubeconfig = cluster.dir().join("kubeconfig.yaml");
            cluster.up(&kubeconfig)?;
            (
                Kube::file(&kubeconfig),
                format!("cargo xtask cluster down --prefix {}", args.prefix),
            )
        }
    };
    crate::operator::install(
        &kube,
        &OperatorInstall {
            tag: args.tag.clone(),
            ..OperatorInstall::default()
        },
    )?;
    apply_example(&kube, &args.tag)?;
    let bootstrap = bootstrap(&kube)?;
    let client = pods::ClientPods {
        kube: &kube,
        image: format!("chronik-kafka-client:{}", args.tag),
        bootstrap: bootstrap.clone(),
    };
    let run_id = format!(
        "demo{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    );
    let produced = client.run(
        "chronik-demo-produce",
        &[
            "produce", "--topic", "demo", "--count", "10", "--run-id", &run_id,
        ],
    )?;
    println!("produced through {bootstrap} (acks=all): {produced}");
    let consumed = client.run(
        "chronik-demo-consume",
        &[
            "consume", "--topic", "demo", "--expect", "10", "--run-id", &run_id,
        ],
    )?;
    println!("consumed back: {consumed}");
    println!();
    kube.run(&["get", "chronikclusters", "-o", "wide"])?;
    let flags = kube.flags().join(" ");
    println!(
        "\nConnect: kubectl {flags} get ck,pods,svc\n\
         Kafka bootstrap (from pods of the cluster): {bootstrap}\n\
         A client pod: kubectl {flags} run client --rm -i --restart=Never \
         --image=chronik-kafka-client:{tag} -- consume --bootstrap {bootstrap} --topic demo \
         --expect 10 --run-id {run_id}\n\
         Stop: {stop}",
        tag = args.tag
    );
    Ok(())
}

/// Applies `examples/chronikcluster-3-node.yaml` (with the image tag built
/// here) and waits until the cluster reports `Available=True`.
fn apply_example(kube: &Kube, tag: &str) -> Result<()> {
    let path: PathBuf = root().join("examples").join("chronikcluster-3-node.yaml");
    let manifest = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {}", path.display()))?
        .replace("chronik-broker:latest", &format!("chronik-broker:{tag}"));
    kube.apply_stdin(&[], &manifest)?;
    kube.run(&[
        "wait",
        "--for=condition=Available=True",
        &format!("chronikcluster/{CLUSTER}"),
        "--timeout=300s",
    ])
}

/// The bootstrap address the cluster reports in its status.
fn bootstrap(kube: &Kube) -> Result<String> {
    crate::kube::poll(
        "status.bootstrapServers",
        Duration::from_secs(60),
        Duration::from_secs(1),
        || {
            let out = kube.stdout(&[
                "get",
                "chronikcluster",
                CLUSTER,
                "-o",
                "jsonpath={.status.bootstrapServers}",
            ])?;
            let out = out.trim().to_string();
            Ok((!out.is_empty()).then_some(out))
        },
    )
}
