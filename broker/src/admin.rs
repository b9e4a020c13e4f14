//! The gRPC admin service (`chronik.admin.v1.Admin`), mirroring the HTTP admin API.

use crate::node::{
    MemberRole, Membership, MembershipChange, MembershipError, NodeError, NodeHandle, NodeStatus,
};
use crate::state_machine::commands;
use chronik_proto::admin::admin_server::{Admin, AdminServer};
use chronik_proto::admin::{self as pb};
use tonic::{Request, Response, Status};

/// Admin API backed by the local node.
pub struct AdminService {
    node: NodeHandle,
}

impl AdminService {
    pub fn new(node: NodeHandle) -> AdminServer<Self> {
        AdminServer::new(Self { node })
    }
}

fn to_status(e: NodeError) -> Status {
    let msg = e.to_string();
    match e {
        NodeError::NotLeader { .. } => Status::failed_precondition(msg),
        NodeError::Dropped | NodeError::ShuttingDown => Status::unavailable(msg),
        NodeError::Timeout(_) | NodeError::TransferTimedOut { .. } => {
            Status::deadline_exceeded(msg)
        }
        NodeError::Membership(
            MembershipError::ChangeInProgress | MembershipError::NotCaughtUp { .. },
        ) => Status::aborted(msg),
        NodeError::Membership(MembershipError::Apply(_)) => Status::internal(msg),
        NodeError::Membership(_) | NodeError::Rejected(_) => Status::invalid_argument(msg),
    }
}

fn members(m: &[crate::node::MemberStatus]) -> Vec<pb::Member> {
    m.iter()
        .map(|m| pb::Member {
            id: m.id,
            url: m.url.clone(),
            role: match m.role {
                MemberRole::Voter => pb::MemberRole::Voter,
                MemberRole::Learner => pb::MemberRole::Learner,
            } as i32,
            match_index: m.match_index,
            incarnation: m.incarnation.clone(),
        })
        .collect()
}

fn membership(r: Result<Membership, NodeError>) -> Result<Response<pb::Membership>, Status> {
    let m = r.map_err(to_status)?;
    Ok(Response::new(pb::Membership {
        leader_id: m.leader_id,
        members: members(&m.members),
    }))
}

fn status_reply(s: NodeStatus) -> pb::StatusReply {
    pb::StatusReply {
        node_id: s.node_id,
        cluster_id: s.cluster_id,
        role: s.role,
        leader_id: s.leader_id,
        term: s.term,
        commit_index: s.commit_index,
        applied_index: s.applied_index,
        members: members(&s.members),
        incarnation: s.incarnation,
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        _: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusReply>, Status> {
        Ok(Response::new(status_reply(self.node.status())))
    }

    async fn add_learner(
        &self,
        r: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::Membership>, Status> {
        let r = r.into_inner();
        membership(
            self.node
                .change_membership(MembershipChange::AddLearner {
                    id: r.id,
                    url: r.url,
                })
                .await,
        )
    }

    async fn promote_member(
        &self,
        r: Request<pb::PromoteMemberRequest>,
    ) -> Result<Response<pb::Membership>, Status> {
        let id = r.into_inner().id;
        membership(
            self.node
                .change_membership(MembershipChange::Promote { id })
                .await,
        )
    }

    async fn remove_member(
        &self,
        r: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::Membership>, Status> {
        let id = r.into_inner().id;
        membership(
            self.node
                .change_membership(MembershipChange::Remove { id })
                .await,
        )
    }

    async fn transfer_leader(
        &self,
        r: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::Membership>, Status> {
        membership(self.node.transfer_leader(r.into_inner().target_id).await)
    }

    async fn put(&self, r: Request<pb::PutRequest>) -> Result<Response<pb::PutReply>, Status> {
        let r = r.into_inner();
        let index = self
            .node
            .propose(commands::put(&r.key, r.value))
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::PutReply { index }))
    }
}
