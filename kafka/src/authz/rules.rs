//! The decision for one request, as Kafka's `AclAuthorizer` makes it: deny
//! ACLs win over allow ACLs; Describe is implied by Read, Write, Delete and
//! Alter, DescribeConfigs by AlterConfigs, and `All` matches every
//! operation; ACL principal `User:*` and host `*` match anyone; a resource no
//! ACL names is allowed only with `allow.everyone.if.no.acl.found`.

use chronik_api::security::{
    AclBinding, AclOperation, AclPermission, PatternType, Principal, ResourceType,
};

/// Kafka's wildcard resource name and host.
pub const WILDCARD: &str = "*";

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who asks.
    pub principal: &'a Principal,
    /// From where.
    pub host: &'a str,
    /// What it wants to do.
    pub operation: AclOperation,
    /// On which kind of resource.
    pub resource_type: ResourceType,
    /// On which resource.
    pub name: &'a str,
}

/// Whether an ACL's resource pattern selects resource `name`.
pub(crate) fn pattern_matches(acl: &AclBinding, name: &str) -> bool {
    match acl.pattern_type {
        PatternType::Literal => acl.resource_name == name || acl.resource_name == WILDCARD,
        PatternType::Prefixed => name.starts_with(acl.resource_name.as_str()),
    }
}

fn principal_matches(acl: &AclBinding, principal: &Principal) -> bool {
    &acl.principal == principal
        || (acl.principal.kind == principal.kind && acl.principal.name == WILDCARD)
}

fn host_matches(acl: &AclBinding, host: &str) -> bool {
    acl.host == host || acl.host == WILDCARD
}

/// The operations whose allow ACL grants `operation` (besides `All`).
fn granting(operation: AclOperation) -> &'static [AclOperation] {
    use AclOperation::*;
    match operation {
        Describe => &[Describe, Read, Write, Delete, Alter],
        DescribeConfigs => &[DescribeConfigs, AlterConfigs],
        Read => &[Read],
        Write => &[Write],
        Create => &[Create],
        Delete => &[Delete],
        Alter => &[Alter],
        ClusterAction => &[ClusterAction],
        AlterConfigs => &[AlterConfigs],
        IdempotentWrite => &[IdempotentWrite],
        All => &[All],
    }
}

fn applies_to(acl: &AclBinding, r: &Request<'_>) -> bool {
    principal_matches(acl, r.principal) && host_matches(acl, r.host)
}

/// Kafka's decision for `r` given every ACL in force.
pub fn authorize(
    acls: &[AclBinding],
    r: &Request<'_>,
    allow_everyone_if_no_acl_found: bool,
) -> bool {
    let mut on_resource = acls
        .iter()
        .filter(|a| a.resource_type == r.resource_type && pattern_matches(a, r.name))
        .peekable();
    if on_resource.peek().is_none() {
        return allow_everyone_if_no_acl_found;
    }
    let mut allowed = false;
    for acl in on_resource.filter(|a| applies_to(a, r)) {
        match acl.permission {
            AclPermission::Deny => {
                if acl.operation == r.operation || acl.operation == AclOperation::All {
                    return false;
                }
            }
            AclPermission::Allow => {
                if acl.operation == AclOperation::All
                    || granting(r.operation).contains(&acl.operation)
                {
                    allowed = true;
                }
            }
        }
    }
    allowed
}

/// Kafka's `authorizeByResourceType`: whether some resource of the type
/// allows `r.operation` (`r.name` is ignored). An allow ACL counts unless a
/// deny ACL covers every name it selects (a wildcard deny, the same literal,
/// or a prefix of its name or prefix).
pub(crate) fn any_allowed(acls: &[AclBinding], r: &Request<'_>) -> bool {
    let relevant = |a: &&AclBinding| {
        a.resource_type == r.resource_type
            && applies_to(a, r)
            && (a.operation == r.operation || a.operation == AclOperation::All)
    };
    let denies: Vec<&AclBinding> = acls
        .iter()
        .filter(relevant)
        .filter(|a| a.permission == AclPermission::Deny)
        .collect();
    let covered = |allow: &AclBinding| {
        denies.iter().any(|d| match d.pattern_type {
            PatternType::Literal => {
                d.resource_name == WILDCARD
                    || (allow.pattern_type == PatternType::Literal
                        && d.resource_name == allow.resource_name)
            }
            PatternType::Prefixed => allow.resource_name.starts_with(d.resource_name.as_str()),
        })
    };
    acls.iter()
        .filter(relevant)
        .filter(|a| a.permission == AclPermission::Allow)
        .any(|a| !covered(a))
}
