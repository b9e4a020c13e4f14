//! Authorization with Kafka's ACL semantics (`AclAuthorizer` /
//! `StandardAuthorizer`): the authorizer settings, the decision for one
//! (principal, host, operation, resource) and the filters of DescribeAcls and
//! DeleteAcls. Pure: the ACLs come from the backend, which replicates them.

mod codes;
mod filter;
mod rules;
#[cfg(test)]
mod tests;

pub use codes::{
    binding_from_wire, filter_from_wire, operation_code, pattern_code, permission_code,
    resource_code, AclValidationError, WireAcl, WireFilter, CLUSTER_NAME,
};
pub use filter::{AclFilter, NameFilter, PatternFilter};
pub use rules::authorize;

use chronik_api::security::{AclBinding, AclOperation, Principal, ResourceType};

/// Which authorizer a broker runs (`--authorizer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// Every request is allowed.
    #[default]
    None,
    /// Kafka's ACL authorizer.
    Simple,
}

/// The authorizer's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzConfig {
    /// Which authorizer.
    pub kind: AuthorizerKind,
    /// Principals every check allows (`super.users`).
    pub super_users: Vec<Principal>,
    /// Allow a request on a resource no ACL names
    /// (`allow.everyone.if.no.acl.found`, default false).
    pub allow_everyone_if_no_acl_found: bool,
}

/// What one request's principal may do: the ACLs as of the request's start,
/// so a handler checking many resources reads them once.
#[derive(Debug, Clone)]
pub struct Access {
    decision: Decision,
    principal: Principal,
    host: String,
}

#[derive(Debug, Clone)]
enum Decision {
    /// No authorizer, or a super user.
    Everything,
    /// Check against these ACLs.
    Acls {
        acls: Vec<AclBinding>,
        allow_if_none: bool,
    },
}

impl Access {
    /// Everything allowed (the `none` authorizer, super users).
    pub fn everything(principal: &Principal, host: &str) -> Self {
        Self {
            decision: Decision::Everything,
            principal: principal.clone(),
            host: host.to_string(),
        }
    }

    /// The access of `principal` connecting from `host` under `config`, with
    /// `acls` the ACLs in force (`None` when they could not be read: then
    /// only super users are allowed anything).
    pub fn new(
        config: &AuthzConfig,
        principal: &Principal,
        host: &str,
        acls: Option<Vec<AclBinding>>,
    ) -> Self {
        if config.kind == AuthorizerKind::None || config.super_users.contains(principal) {
            return Self::everything(principal, host);
        }
        let decision = match acls {
            Some(acls) => Decision::Acls {
                acls,
                allow_if_none: config.allow_everyone_if_no_acl_found,
            },
            None => Decision::Acls {
                acls: Vec::new(),
                allow_if_none: false,
            },
        };
        Self {
            decision,
            principal: principal.clone(),
            host: host.to_string(),
        }
    }

    /// Whether `operation` on the resource `resource_type`/`name` is allowed.
    pub fn allows(&self, operation: AclOperation, resource_type: ResourceType, name: &str) -> bool {
        match &self.decision {
            Decision::Everything => true,
            Decision::Acls {
                acls,
                allow_if_none,
            } => authorize(
                acls,
                &rules::Request {
                    principal: &self.principal,
                    host: &self.host,
                    operation,
                    resource_type,
                    name,
                },
                *allow_if_none,
            ),
        }
    }

    /// `operation` on topic `name`.
    pub fn topic(&self, operation: AclOperation, name: &str) -> bool {
        self.allows(operation, ResourceType::Topic, name)
    }

    /// `operation` on group `name`.
    pub fn group(&self, operation: AclOperation, name: &str) -> bool {
        self.allows(operation, ResourceType::Group, name)
    }

    /// `operation` on the cluster.
    pub fn cluster(&self, operation: AclOperation) -> bool {
        self.allows(operation, ResourceType::Cluster, CLUSTER_NAME)
    }

    /// Whether `operation` is allowed on some resource of `resource_type`
    /// (Kafka's `authorizeByResourceType`, used by InitProducerId: Write on
    /// any topic): an allow ACL of the principal that no deny ACL of the
    /// same or a wider pattern cancels.
    pub fn any(&self, operation: AclOperation, resource_type: ResourceType) -> bool {
        match &self.decision {
            Decision::Everything => true,
            Decision::Acls { acls, .. } => rules::any_allowed(
                acls,
                &rules::Request {
                    principal: &self.principal,
                    host: &self.host,
                    operation,
                    resource_type,
                    name: "",
                },
            ),
        }
    }
}
