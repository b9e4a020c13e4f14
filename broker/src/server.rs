//! Assembles a broker from its configuration and runs it until SIGTERM.

use crate::bootstrap::{StartMode, WaitReason};
use crate::cli::NodeConfig;
use crate::http::{plain_port, router, serve_admin, HttpState};
use crate::kafka::RaftBackend;
use crate::metrics::Metrics;
use crate::node::{
    mailbox, Advertised, BrokerStatus, FatalError, NodeActor, NodeHandle, NodeParts,
};
use crate::partition::PartitionRegistry;
use crate::peer_security::PeerTls;
use crate::startup::{Recovered, RecoveryError};
use crate::state_machine::MetaStateMachine;
use crate::storage::{MetaError, MetaFile, StorageError};
use crate::tls::{accept_tls, TlsError};
use crate::transport::{PeerConnector, RaftService, Transport};
use chronik_proto::raft::SenderInfo;
use raft::eraftpb::ConfState;
use raft::RawNode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Election timeout in ticks (randomised between this and twice this).
const ELECTION_TICKS: usize = 10;
const HEARTBEAT_TICKS: usize = 2;
/// How long shutdown may take before the process exits anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Why the broker could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error(transparent)]
    Meta(#[from] MetaError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("invalid raft configuration: {0}")]
    Raft(#[from] raft::Error),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("raft node stopped: {0}")]
    Fatal(#[from] FatalError),
    #[error("gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    #[error(transparent)]
    Recovery(#[from] RecoveryError),
    #[error("peer TLS: {0}")]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Listeners(#[from] crate::listeners::ListenerStartError),
}

/// A running broker.
pub struct Broker {
    pub handle: NodeHandle,
    pub raft_addr: SocketAddr,
    pub http_addr: SocketAddr,
    /// The mTLS admin API, when peer TLS is on.
    pub admin_addr: Option<SocketAddr>,
    pub kafka_addr: SocketAddr,
    kafka_stop: watch::Sender<bool>,
    node_task: tokio::task::JoinHandle<Result<(), FatalError>>,
}

impl Broker {
    /// Opens storage, bootstraps if this is a fresh initial voter, and starts
    /// the Raft task, the gRPC server and the HTTP server.
    pub async fn start(cfg: NodeConfig) -> Result<Self, BrokerError> {
        let (meta, fresh) = MetaFile::open_or_create(&cfg.data_dir, &cfg.cluster_id, cfg.node_id)?;
        tracing::info!(node_id = cfg.node_id, cluster_id = %meta.cluster_id, incarnation = %meta.incarnation, fresh, "data directory opened");
        // Health, metrics and status answer before storage recovery, which
        // reads the whole log (see `startup`); the Kafka and Raft listeners
        // open once it is done.
        let metrics = Metrics::new();
        let peer_tls = PeerTls::start(&cfg.peer_tls)?;
        let (senders, rx) = mailbox();
        let mut starting = BrokerStatus::starting(
            cfg.node_id,
            &meta.cluster_id,
            &meta.incarnation,
            crate::node::now_ms(),
        );
        starting.peer_security = crate::peer_security::mode(peer_tls.as_ref());
        let (status_tx, status_rx) = watch::channel(starting);
        let handle = NodeHandle::new(senders.clients, status_rx.clone());
        let app = router(HttpState {
            node: handle.clone(),
            metrics: metrics.clone(),
            topic_limits: cfg.topic_limits,
        });
        let (http_addr, admin_addr) = serve_http(&cfg, app, peer_tls.as_ref()).await?;
        tracing::info!(%http_addr, ?admin_addr, "HTTP server started; recovering storage");
        let Recovered {
            engine,
            meta_store: mut store,
        } = crate::startup::recover(&cfg.data_dir.join("raft"), &status_tx).await?;
        let registry = Arc::new(
            PartitionRegistry::new(cfg.node_id, engine.clone())
                .with_producer_expiration_ms(cfg.limits.producer_id_expiration_ms),
        );
        let initial_members: Vec<(u64, String)> = cfg
            .initial_peers
            .iter()
            .map(|p| (p.id, p.url.clone()))
            .collect();
        let initial_voter = cfg.initial_peers.iter().any(|p| p.id == cfg.node_id);
        match StartMode::decide(store.is_empty(), initial_voter, cfg.initial_cluster_state) {
            StartMode::Bootstrap => {
                let cs = ConfState {
                    voters: cfg.initial_peers.iter().map(|p| p.id).collect(),
                    ..Default::default()
                };
                let data = MetaStateMachine::with_members(initial_members.clone()).snapshot();
                store.bootstrap(cs, data, 1, 1)?;
                tracing::info!(voters = ?cfg.initial_peers.iter().map(|p| p.id).collect::<Vec<_>>(), "bootstrapped initial configuration");
            }
            StartMode::WaitToJoin(WaitReason::NotAnInitialVoter) => {
                tracing::info!("not an initial voter: waiting to be added to the cluster");
            }
            StartMode::WaitToJoin(WaitReason::ClusterExists) => {
                tracing::warn!("empty data directory and --initial-cluster-state existing: not bootstrapping; waiting for the leader to send the configuration");
            }
            StartMode::Resume => {}
        }
        let snap = store.latest_snapshot().clone();
        let mut state = if snap.get_metadata().index > 0 {
            MetaStateMachine::restore(snap.get_data()).map_err(FatalError::from)?
        } else {
            MetaStateMachine::default()
        };
        state.advance(snap.get_metadata().index);

        let raft_cfg = crate::node::raft_config(
            cfg.node_id,
            snap.get_metadata().index,
            ELECTION_TICKS,
            HEARTBEAT_TICKS,
        );
        raft_cfg.validate()?;
        let raw = RawNode::new(&raft_cfg, store, &crate::logging::raft_logger())?;

        let sender = SenderInfo {
            cluster_id: meta.cluster_id.clone(),
            node_id: cfg.node_id,
            url: cfg.self_url.clone(),
            incarnation: meta.incarnation.clone(),
        };
        let connector = match &peer_tls {
            Some(tls) => Some(PeerConnector::new(tls.raft_client()?)),
            None => None,
        };
        let mut transport =
            Transport::new(sender, senders.peers.clone(), metrics.clone()).with_tls(connector);
        // The initial peers are reachable before any membership is applied
        // (a joining node answers the leader through them).
        for (id, url) in &initial_members {
            transport.set_address(*id, url);
        }
        let kafka_listeners = crate::listeners::BoundListeners::bind(
            &cfg.listeners,
            &cfg.advertised_host,
            cfg.node_id,
        )
        .await?;
        let kafka_addr = kafka_listeners.default_addr;
        let advertised = Advertised {
            kafka_addr: kafka_listeners.default_advertised(),
            http_url: match admin_addr {
                Some(admin) => format!("https://{}:{}", cfg.advertised_host, admin.port()),
                None => format!("http://{}:{}", cfg.advertised_host, http_addr.port()),
            },
            listeners: kafka_listeners.advertised.clone(),
        };
        let actor = NodeActor::new(
            NodeParts {
                node_id: cfg.node_id,
                incarnation: meta.incarnation.clone(),
                raw,
                state,
                transport,
                metrics: metrics.clone(),
                tick: cfg.tick,
                snapshot_interval: cfg.snapshot_interval,
                registry: registry.clone(),
                advertised,
                ticks: (ELECTION_TICKS, HEARTBEAT_TICKS),
                static_config: cfg.settings.clone(),
            },
            status_tx,
        );
        let node_task = tokio::spawn(actor.run(rx));

        let service = RaftService::new(
            meta.cluster_id.clone(),
            senders.peers,
            metrics.clone(),
            status_rx,
        );
        let raft_addr = serve_raft(&cfg, service, peer_tls.as_ref(), &metrics).await?;

        let backend = RaftBackend::new(handle.clone(), registry, meta.cluster_id.clone())
            .with_limits(cfg.topic_limits, cfg.settings.clone())
            .with_log_dir(std::path::absolute(&cfg.data_dir).unwrap_or(cfg.data_dir.clone()));
        let frontend = chronik_kafka::Handlers::new(
            Arc::new(backend),
            cfg.settings
                .frontend(cfg.limits.fetch_max_bytes, cfg.authz.clone()),
        );
        let frontend = Arc::new(frontend);
        let coordinator = frontend.clone();
        crate::offset_retention::spawn(
            handle.clone(),
            move || coordinator.active_groups(),
            cfg.limits.offset_retention,
        );
        let (kafka_stop, kafka_stop_rx) = watch::channel(false);
        kafka_listeners.serve(frontend, cfg.limits.kafka_server(), kafka_stop_rx);
        tracing::info!(%raft_addr, %http_addr, %kafka_addr, url = %cfg.self_url, "broker started");
        Ok(Self {
            handle,
            raft_addr,
            http_addr,
            admin_addr,
            kafka_addr,
            node_task,
            kafka_stop,
        })
    }

    /// Runs until SIGTERM/SIGINT (then hands off leadership and stops) or a
    /// fatal error of the Raft task.
    pub async fn run_until_signal(self) -> Result<(), BrokerError> {
        let mut node_task = self.node_task;
        tokio::select! {
            r = &mut node_task => return flatten(r),
            _ = shutdown_signal() => {}
        }
        tracing::info!("shutting down: handing off leadership");
        self.kafka_stop.send_replace(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, self.handle.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("shutdown took too long; exiting anyway");
            return Ok(());
        }
        flatten(node_task.await)
    }
}

/// Serves the HTTP API: all of it on the plain port, or, with peer TLS,
/// all of it on the mTLS admin port and only health, metrics and status on
/// the plain one. Returns the plain and admin addresses.
async fn serve_http(
    cfg: &NodeConfig,
    app: axum::Router,
    tls: Option<&PeerTls>,
) -> Result<(SocketAddr, Option<SocketAddr>), BrokerError> {
    let http_listener = bind("http", cfg.http_addr).await?;
    let http_addr = local_addr("http", cfg.http_addr, &http_listener)?;
    let (plain, admin_addr) = match tls {
        None => (app, None),
        Some(tls) => {
            let listener = bind("admin", tls.admin_addr).await?;
            let admin_addr = local_addr("admin", tls.admin_addr, &listener)?;
            let incoming = accept_tls(listener, tls.admin_server()?, |_| {})
                .map_err(|source| bind_error("admin", admin_addr, source))?;
            let admin = app.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_admin(incoming, admin).await {
                    tracing::error!(error = %e, "admin HTTP server stopped");
                }
            });
            (plain_port(app, admin_addr.port()), Some(admin_addr))
        }
    };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(http_listener, plain).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok((http_addr, admin_addr))
}

/// Serves Raft over gRPC, over mutual TLS when `tls` is set (a failed
/// handshake is counted as a refusal).
async fn serve_raft<M: crate::transport::Inbox>(
    cfg: &NodeConfig,
    service: RaftService<M>,
    tls: Option<&PeerTls>,
    metrics: &Arc<Metrics>,
) -> Result<SocketAddr, BrokerError> {
    let listener = bind("raft", cfg.raft_addr).await?;
    let raft_addr = local_addr("raft", cfg.raft_addr, &listener)?;
    let mut server = tonic::transport::Server::builder();
    type Serving = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), tonic::transport::Error>> + Send>,
    >;
    let grpc: Serving = match tls {
        None => Box::pin(
            server
                .add_service(service.into_server())
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        ),
        Some(tls) => {
            let metrics = metrics.clone();
            let incoming = accept_tls(listener, tls.raft_server()?, move |_| {
                metrics
                    .transport_refusals
                    .get_or_create(&crate::metrics::ReasonLabel {
                        reason: "tls_handshake",
                    })
                    .inc();
            })
            .map_err(|source| bind_error("raft", raft_addr, source))?;
            Box::pin(
                server
                    .add_service(service.with_peer_tls(true).into_server())
                    .serve_with_incoming(incoming),
            )
        }
    };
    tokio::spawn(async move {
        if let Err(e) = grpc.await {
            tracing::error!(error = %e, "gRPC server stopped");
        }
    });
    Ok(raft_addr)
}

fn bind_error(what: &'static str, addr: SocketAddr, source: std::io::Error) -> BrokerError {
    BrokerError::Bind { what, addr, source }
}

fn flatten(r: Result<Result<(), FatalError>, tokio::task::JoinError>) -> Result<(), BrokerError> {
    match r {
        Ok(r) => r.map_err(BrokerError::from),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Ok(()),
    }
}

async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, BrokerError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| BrokerError::Bind { what, addr, source })
}

fn local_addr(
    what: &'static str,
    addr: SocketAddr,
    l: &tokio::net::TcpListener,
) -> Result<SocketAddr, BrokerError> {
    l.local_addr()
        .map_err(|source| BrokerError::Bind { what, addr, source })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
