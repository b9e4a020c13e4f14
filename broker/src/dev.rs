//! `chronik-broker dev`: a local cluster of N broker processes on 127.0.0.1.

use crate::cli::DevArgs;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Why the dev cluster could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("cannot find this executable: {0}")]
    Exe(#[source] std::io::Error),
    #[error("cannot create the data directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("port {base} + {span} exceeds 65535")]
    Ports { base: u16, span: u64 },
    #[error("cannot start node {id}: {source}")]
    Spawn {
        id: u64,
        #[source]
        source: std::io::Error,
    },
}

/// Ports of dev node `id` (1-based): raft, http, kafka.
pub fn dev_ports(base: u16, id: u64) -> (u16, u16, u16) {
    let b = base as u64 + (id - 1) * 10;
    (b as u16, (b + 1) as u16, (b + 2) as u16)
}

/// Starts the nodes, prints their addresses and waits for Ctrl-C.
pub async fn run(args: DevArgs) -> Result<(), DevError> {
    let span = args.nodes * 10;
    if args.base_port as u64 + span > 65_535 {
        return Err(DevError::Ports {
            base: args.base_port,
            span,
        });
    }
    let exe = std::env::current_exe().map_err(DevError::Exe)?;
    let (_guard, root): (Option<tempfile::TempDir>, PathBuf) = match &args.data_dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::Builder::new()
                .prefix("chronik-dev-")
                .tempdir()
                .map_err(DevError::TempDir)?;
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let peers: Vec<String> = (1..=args.nodes)
        .map(|id| format!("{id}@http://127.0.0.1:{}", dev_ports(args.base_port, id).0))
        .collect();
    let peers = peers.join(",");
    let cluster_id = format!("dev-{}", uuid::Uuid::new_v4());
    let mut children: Vec<Child> = Vec::new();
    println!(
        "chronik dev cluster {cluster_id}, data in {}",
        root.display()
    );
    for id in 1..=args.nodes {
        let (raft, http, kafka) = dev_ports(args.base_port, id);
        let child = Command::new(&exe)
            .arg("--node-id")
            .arg(id.to_string())
            .arg("--peers")
            .arg(&peers)
            .arg("--cluster-id")
            .arg(&cluster_id)
            .arg("--raft-addr")
            .arg(format!("127.0.0.1:{raft}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http}"))
            .arg("--kafka-addr")
            .arg(format!("127.0.0.1:{kafka}"))
            .arg("--advertised-host")
            .arg("127.0.0.1")
            .arg("--data-dir")
            .arg(root.join(format!("node-{id}")))
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| DevError::Spawn { id, source })?;
        println!("node {id}: raft http://127.0.0.1:{raft}  http http://127.0.0.1:{http}  kafka 127.0.0.1:{kafka}");
        children.push(child);
    }
    println!(
        "status: curl http://127.0.0.1:{}/v1/status ; Ctrl-C stops the cluster",
        dev_ports(args.base_port, 1).1
    );
    let _ = tokio::signal::ctrl_c().await;
    for c in &mut children {
        if let Some(pid) = c.id() {
            // SIGTERM lets leaders hand off; kill_on_drop is the fallback.
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
    for c in &mut children {
        let _ = c.wait().await;
    }
    Ok(())
}
