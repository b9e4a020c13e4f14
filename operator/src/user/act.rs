//! What a ChronikUser pass writes: the broker calls of its plan, the
//! cleanup on deletion, the finalizer and the status.

use std::sync::Arc;

use chronik_api::security::{AclDeleteRequest, AclList, Principal, ScramMechanism};
use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::crd::{AuthenticationType, ChronikUser, ChronikUserStatus};
use super::credentials::Material;
use super::plan::BrokerPlan;
use super::scram;
use super::UserError;
use crate::addresses::MemberAddresses;
use crate::apply::FIELD_MANAGER;
use crate::crd::{GROUP, VERSION};

/// The finalizer that keeps a deleted ChronikUser until its credentials and
/// ACLs are gone from the brokers.
pub const FINALIZER: &str = "chronik.io/user-cleanup";

/// Where the cluster's brokers are and which member to ask first.
pub(super) struct Target {
    /// The cluster's brokers, with the operator's identity when it needs one.
    pub api: Arc<dyn crate::brokers::BrokerApi>,
    pub members: Arc<dyn MemberAddresses>,
    pub via: u64,
}

fn broker(what: &str, user: &str) -> impl FnOnce(crate::brokers::BrokerError) -> UserError {
    let what = format!("{what} of user {user}");
    move |source| UserError::Broker { what, source }
}

/// Carry out `plan` for `user`: the SCRAM credential first, then new ACLs,
/// then the extra ones deleted.
pub(super) async fn carry_out(
    target: &Target,
    user: &str,
    material: &Material,
    plan: &BrokerPlan,
) -> Result<(), UserError> {
    if let (true, Material::Scram { password, .. }) = (plan.upsert_scram, material) {
        let credential = scram::credential(ScramMechanism::ScramSha512, password)
            .map_err(|e| UserError::Credentials(e.into()))?;
        target
            .api
            .upsert_scram(
                target.members.clone(),
                target.via,
                user.to_string(),
                credential,
            )
            .await
            .map_err(broker("storing the SCRAM credential", user))?;
    }
    if !plan.acls.create.is_empty() {
        let acls = AclList {
            acls: plan.acls.create.clone(),
        };
        target
            .api
            .create_acls(target.members.clone(), target.via, acls)
            .await
            .map_err(broker("creating ACLs", user))?;
    }
    if !plan.acls.delete.is_empty() {
        let request = AclDeleteRequest {
            exact: plan.acls.delete.clone(),
            ..AclDeleteRequest::default()
        };
        target
            .api
            .delete_acls(target.members.clone(), target.via, request)
            .await
            .map_err(broker("deleting extra ACLs", user))?;
    }
    Ok(())
}

/// Remove everything the brokers hold for the user: its SCRAM credential
/// and every ACL of its principal.
pub(super) async fn clean_up(
    target: &Target,
    user: &str,
    authentication: AuthenticationType,
    principal: &Principal,
) -> Result<(), UserError> {
    if authentication == AuthenticationType::ScramSha512 {
        target
            .api
            .delete_scram(
                target.members.clone(),
                target.via,
                user.to_string(),
                ScramMechanism::ScramSha512,
            )
            .await
            .map_err(broker("deleting the SCRAM credential", user))?;
    }
    let request = AclDeleteRequest {
        principal: Some(principal.clone()),
        ..AclDeleteRequest::default()
    };
    target
        .api
        .delete_acls(target.members.clone(), target.via, request)
        .await
        .map_err(broker("deleting the ACLs", user))
}

/// Whether `user` carries the cleanup finalizer.
pub(super) fn has_finalizer(user: &ChronikUser) -> bool {
    user.finalizers().iter().any(|f| f == FINALIZER)
}

/// Set the user's finalizers to `finalizers` (a merge patch guarded by the
/// resource version, so a concurrent change is not overwritten).
pub(super) async fn set_finalizers(
    api: &Api<ChronikUser>,
    user: &ChronikUser,
    finalizers: Vec<String>,
) -> Result<(), UserError> {
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": user.resource_version(),
    }});
    api.patch(
        &user.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| UserError::Finalizer {
        name: user.name_any(),
        source,
    })?;
    Ok(())
}

/// Add the cleanup finalizer.
pub(super) async fn add_finalizer(
    api: &Api<ChronikUser>,
    user: &ChronikUser,
) -> Result<(), UserError> {
    let mut finalizers = user.finalizers().to_vec();
    finalizers.push(FINALIZER.to_string());
    set_finalizers(api, user, finalizers).await
}

/// Remove the cleanup finalizer (the API server then deletes the user).
pub(super) async fn remove_finalizer(
    api: &Api<ChronikUser>,
    user: &ChronikUser,
) -> Result<(), UserError> {
    let finalizers = user
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(api, user, finalizers).await
}

/// Write the status when it differs from the stored one.
pub(super) async fn write_status(
    api: &Api<ChronikUser>,
    user: &ChronikUser,
    status: ChronikUserStatus,
) -> Result<(), UserError> {
    if user.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let body = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": ChronikUser::kind(&()),
        "status": status,
    });
    api.patch_status(
        &user.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|source| UserError::Status {
        name: user.name_any(),
        source,
    })?;
    Ok(())
}
