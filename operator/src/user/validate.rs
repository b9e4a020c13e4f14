//! A `ChronikUser` in, a [`ValidatedUser`] (what the planner and builders
//! need: names, the principal, the desired ACL bindings) or a
//! [`UserValidationError`] naming the field out. The CRD's CEL rules refuse
//! the same specs; this runs again for API servers that do not evaluate CEL.

use std::collections::BTreeSet;

use chronik_api::security::{
    AclBinding, AclOperation, AclPermission, PatternType, Principal, ResourceType,
};
use kube::ResourceExt;

use super::crd::{
    AclOperationName, AclPatternType, AclResourceType, AclRule, AclRuleType, AuthenticationType,
    ChronikUser,
};

/// Kafka's name of the cluster resource.
pub const CLUSTER_RESOURCE_NAME: &str = "kafka-cluster";
/// Longest user name: a Secret name that is also a certificate common name.
pub const MAX_USER_NAME_LEN: usize = 64;

/// Why a ChronikUser was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserValidationError {
    #[error("metadata.name is missing")]
    MissingName,
    #[error("metadata.namespace is missing")]
    MissingNamespace,
    #[error("metadata.uid is missing (the object was not read from an API server)")]
    MissingUid,
    #[error("metadata.name {0:?} must be at most {MAX_USER_NAME_LEN} characters of a-z, 0-9, '-' and '.', starting and ending with a letter or digit")]
    InvalidName(String),
    #[error("spec.cluster is empty")]
    EmptyCluster,
    #[error("spec.authorization.acls[{index}]: {message}")]
    InvalidAcl { index: usize, message: String },
}

impl UserValidationError {
    /// Reason of the `Ready` condition for every validation failure.
    pub const REASON: &'static str = "InvalidSpec";
}

/// A checked ChronikUser.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedUser {
    /// The Kafka user name (the SCRAM user, the certificate's common name)
    /// and the Secret's name.
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub generation: Option<i64>,
    /// The ChronikCluster's name.
    pub cluster: String,
    pub authentication: AuthenticationType,
    /// `User:<name>` (SCRAM) or `User:CN=<name>` (tls).
    pub principal: Principal,
    /// The bindings the brokers should hold for the principal, sorted, once each.
    pub acls: Vec<AclBinding>,
}

/// Check `user` and work out its principal and ACL bindings.
pub fn validate_user(user: &ChronikUser) -> Result<ValidatedUser, UserValidationError> {
    let name = user
        .metadata
        .name
        .clone()
        .ok_or(UserValidationError::MissingName)?;
    let namespace = user
        .namespace()
        .ok_or(UserValidationError::MissingNamespace)?;
    let uid = user
        .metadata
        .uid
        .clone()
        .ok_or(UserValidationError::MissingUid)?;
    if !is_user_name(&name) {
        return Err(UserValidationError::InvalidName(name));
    }
    if user.spec.cluster.is_empty() {
        return Err(UserValidationError::EmptyCluster);
    }
    let authentication = user.spec.authentication.type_;
    let principal = principal_of(&name, authentication);
    let rules = user
        .spec
        .authorization
        .as_ref()
        .map(|a| a.acls.as_slice())
        .unwrap_or(&[]);
    let mut acls = BTreeSet::new();
    for (index, rule) in rules.iter().enumerate() {
        let bindings = bindings_of(rule, &principal)
            .map_err(|message| UserValidationError::InvalidAcl { index, message })?;
        acls.extend(bindings);
    }
    Ok(ValidatedUser {
        name,
        namespace,
        uid,
        generation: user.metadata.generation,
        cluster: user.spec.cluster.clone(),
        authentication,
        principal,
        acls: acls.into_iter().collect(),
    })
}

/// The Kafka principal of user `name`: `User:<name>` for SCRAM,
/// `User:CN=<name>` for a client certificate.
pub fn principal_of(name: &str, authentication: AuthenticationType) -> Principal {
    match authentication {
        AuthenticationType::ScramSha512 => Principal::user(name),
        AuthenticationType::Tls => Principal::from_common_name(name),
    }
}

/// A DNS-1123 subdomain short enough to be a common name.
fn is_user_name(name: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= MAX_USER_NAME_LEN
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The operations Kafka defines on a resource type.
fn allowed_operations(resource: AclResourceType) -> &'static [AclOperationName] {
    use AclOperationName::*;
    match resource {
        AclResourceType::Topic => &[
            Read,
            Write,
            Create,
            Delete,
            Alter,
            Describe,
            DescribeConfigs,
            AlterConfigs,
            All,
        ],
        AclResourceType::Group => &[Read, Describe, Delete, All],
        AclResourceType::Cluster => &[
            Create,
            Alter,
            Describe,
            ClusterAction,
            DescribeConfigs,
            AlterConfigs,
            IdempotentWrite,
            All,
        ],
        AclResourceType::TransactionalId => &[Write, Describe, All],
    }
}

/// One binding per operation of `rule`.
fn bindings_of(rule: &AclRule, principal: &Principal) -> Result<Vec<AclBinding>, String> {
    let resource = &rule.resource;
    let (resource_name, pattern_type) = match (resource.type_, &resource.name) {
        (AclResourceType::Cluster, _) => {
            if resource.pattern_type == AclPatternType::Prefixed {
                return Err("a cluster resource takes patternType literal".to_string());
            }
            (CLUSTER_RESOURCE_NAME.to_string(), PatternType::Literal)
        }
        (_, None) => {
            return Err(
                "resource.name is required for topic, group and transactionalId resources"
                    .to_string(),
            )
        }
        (_, Some(name)) if name.is_empty() => return Err("resource.name is empty".to_string()),
        (_, Some(name)) => (
            name.clone(),
            match resource.pattern_type {
                AclPatternType::Literal => PatternType::Literal,
                AclPatternType::Prefixed => PatternType::Prefixed,
            },
        ),
    };
    if rule.operations.is_empty() {
        return Err("operations is empty: name at least one".to_string());
    }
    if rule.host.is_empty() {
        return Err("host is empty (use * for every host)".to_string());
    }
    let allowed = allowed_operations(resource.type_);
    if let Some(op) = rule.operations.iter().find(|op| !allowed.contains(op)) {
        return Err(format!(
            "operation {op:?} does not apply to a {:?} resource (allowed: {allowed:?})",
            resource.type_
        ));
    }
    let resource_type = match resource.type_ {
        AclResourceType::Topic => ResourceType::Topic,
        AclResourceType::Group => ResourceType::Group,
        AclResourceType::Cluster => ResourceType::Cluster,
        AclResourceType::TransactionalId => ResourceType::TransactionalId,
    };
    let permission = match rule.type_ {
        AclRuleType::Allow => AclPermission::Allow,
        AclRuleType::Deny => AclPermission::Deny,
    };
    Ok(rule
        .operations
        .iter()
        .map(|op| AclBinding {
            resource_type,
            resource_name: resource_name.clone(),
            pattern_type,
            principal: principal.clone(),
            host: rule.host.clone(),
            operation: operation(*op),
            permission,
        })
        .collect())
}

fn operation(op: AclOperationName) -> AclOperation {
    match op {
        AclOperationName::Read => AclOperation::Read,
        AclOperationName::Write => AclOperation::Write,
        AclOperationName::Create => AclOperation::Create,
        AclOperationName::Delete => AclOperation::Delete,
        AclOperationName::Alter => AclOperation::Alter,
        AclOperationName::Describe => AclOperation::Describe,
        AclOperationName::ClusterAction => AclOperation::ClusterAction,
        AclOperationName::DescribeConfigs => AclOperation::DescribeConfigs,
        AclOperationName::AlterConfigs => AclOperation::AlterConfigs,
        AclOperationName::IdempotentWrite => AclOperation::IdempotentWrite,
        AclOperationName::All => AclOperation::All,
    }
}
