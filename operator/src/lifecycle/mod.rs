//! Day-2 lifecycle: scaling through Raft membership and operator-driven rolls.
//!
//! [`plan`] is pure: the validated spec, the observed StatefulSet and pods,
//! the leader's view of Raft and the operation recorded in `status` go in
//! ([`PlanInput`]); the single next step comes out ([`Plan`]). The
//! controller carries it out: the broker part through the leader's HTTP API
//! ([`crate::brokers`], see [`Action::member_change`]), the Kubernetes part
//! through server-side apply (StatefulSet replicas) and pod deletion.
//!
//! The rules (see `docs/operator.md`): one membership change at a time; new
//! members join as learners before their pod starts and are promoted once
//! caught up; leaving members lose leadership, then are removed from Raft,
//! and only then does the StatefulSet shrink past them; rolls restart one pod
//! at a time, followers first and the leader last after a transfer, and the
//! next pod only when the previous one is Ready and caught up.

mod input;
mod plan;
mod roll;
mod scale;
mod workload;

pub use input::{
    raft_view, PartitionReplication, PlanInput, PlannerSettings, PodView, RaftView, WorkloadView,
};
pub use plan::{plan, Action, Plan, PlanState};
pub use workload::{workload_view, REVISION_LABEL};
