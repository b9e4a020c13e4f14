//! Day-2 lifecycle: scaling through Raft membership and operator-driven rolls.
//!
//! [`plan`] is pure: the validated spec, the observed StatefulSet and pods,
//! the leader's view of Raft and the operation recorded in `status` go in;
//! the single next step comes out ([`Plan`]). [`executor`] carries out the
//! broker part of a step through the leader's HTTP admin API ([`admin`]);
//! the controller carries out the Kubernetes part (StatefulSet replicas
//! through server-side apply, pod deletion).
//!
//! The rules (see `docs/operator.md`): one membership change at a time; new
//! members join as learners before their pod starts and are promoted once
//! caught up; leaving members lose leadership, then are removed from Raft,
//! and only then does the StatefulSet shrink past them; rolls restart one pod
//! at a time, followers first and the leader last after a transfer, and the
//! next pod only when the previous one is Ready and caught up.

pub mod admin;
pub mod conditions;
pub mod executor;
mod observe;
mod plan;
mod roll;
mod scale;
mod workload;

pub use observe::{
    raft_view, Addresses, PartitionReplication, PlanInput, PlannerSettings, PodView, RaftMember,
    RaftView, WorkloadView,
};
pub use plan::{plan, Action, Plan, PlanState};
pub use workload::{workload_view, REVISION_LABEL};
