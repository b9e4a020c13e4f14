//! Generated protobuf types: the Raft transport between brokers and the
//! metadata group's commands and snapshots.

/// Raft transport between brokers (`chronik.raft.v1`).
pub mod raft {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("chronik.raft.v1");
}

/// Commands and snapshots of the replicated metadata store (`chronik.meta.v1`).
pub mod meta {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("chronik.meta.v1");
}
