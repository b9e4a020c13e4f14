//! Generated gRPC types for the Chronik Raft transport and admin API.

/// Raft transport between brokers (`chronik.raft.v1`).
pub mod raft {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("chronik.raft.v1");
}

/// Broker administration: status and membership (`chronik.admin.v1`).
pub mod admin {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("chronik.admin.v1");
}

/// Commands and snapshots of the replicated metadata store (`chronik.meta.v1`).
pub mod meta {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("chronik.meta.v1");
}
