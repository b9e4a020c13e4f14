//! ACL filters of DescribeAcls and DeleteAcls with Kafka's semantics
//! (`ResourcePatternFilter`, `AccessControlEntryFilter`): `ANY` pattern type
//! with a name selects the ACLs of exactly that name whatever their pattern
//! type; `MATCH` selects every ACL that would apply to a resource of that
//! name (the literal, the wildcard `*` and every matching prefix).

use chronik_api::security::{AclBinding, AclOperation, AclPermission, PatternType, ResourceType};

use super::rules::pattern_matches;

/// How a filter selects by pattern type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternFilter {
    /// Any pattern type.
    Any,
    /// The patterns that match the filter's resource name.
    Match,
    /// Exactly this pattern type.
    Exactly(PatternType),
}

/// The resource-name part of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameFilter {
    /// The name; `None` matches every name.
    pub name: Option<String>,
    /// How the pattern type selects.
    pub pattern: PatternFilter,
}

/// A filter over ACL bindings; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclFilter {
    /// The resource type; `None` for any.
    pub resource_type: Option<ResourceType>,
    /// The resource name filter.
    pub name: NameFilter,
    /// The principal as written (`User:alice`).
    pub principal: Option<String>,
    /// The host.
    pub host: Option<String>,
    /// The operation.
    pub operation: Option<AclOperation>,
    /// The permission.
    pub permission: Option<AclPermission>,
}

impl AclFilter {
    /// A filter matching every ACL.
    pub fn any() -> Self {
        Self {
            resource_type: None,
            name: NameFilter {
                name: None,
                pattern: PatternFilter::Any,
            },
            principal: None,
            host: None,
            operation: None,
            permission: None,
        }
    }

    /// Whether `acl` passes the filter.
    pub fn matches(&self, acl: &AclBinding) -> bool {
        self.resource_type.is_none_or(|t| t == acl.resource_type)
            && self.name_matches(acl)
            && self
                .principal
                .as_ref()
                .is_none_or(|p| *p == acl.principal.to_string())
            && self.host.as_ref().is_none_or(|h| *h == acl.host)
            && self.operation.is_none_or(|o| o == acl.operation)
            && self.permission.is_none_or(|p| p == acl.permission)
    }

    fn name_matches(&self, acl: &AclBinding) -> bool {
        if let PatternFilter::Exactly(p) = self.name.pattern {
            if p != acl.pattern_type {
                return false;
            }
        }
        let Some(name) = &self.name.name else {
            return true;
        };
        match self.name.pattern {
            PatternFilter::Any | PatternFilter::Exactly(_) => *name == acl.resource_name,
            PatternFilter::Match => pattern_matches(acl, name),
        }
    }
}
