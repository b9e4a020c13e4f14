//! Kafka's numeric codes of ACL resource types, pattern types, operations and
//! permissions, and the validation CreateAcls, DescribeAcls and DeleteAcls
//! apply to what a client sends.

use chronik_api::security::{
    AclBinding, AclOperation, AclPermission, PatternType, Principal, ResourceType,
};

use super::filter::{AclFilter, NameFilter, PatternFilter};

/// The name of the one cluster resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// Kafka's "ANY" code shared by every enum of the ACL APIs.
const ANY: i8 = 1;
/// Kafka's `PatternType.MATCH`.
const MATCH: i8 = 2;

/// Why a client's ACL or filter is refused (`INVALID_REQUEST`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclValidationError {
    /// A resource type code that is not topic, group, cluster or transactional id.
    #[error("unknown or unsupported resource type {0}")]
    ResourceType(i8),
    /// A pattern type code that is not allowed here.
    #[error("unknown or unsupported pattern type {0}")]
    PatternType(i8),
    /// An operation code that is not allowed here.
    #[error("unknown or unsupported operation {0}")]
    Operation(i8),
    /// A permission code that is not allowed here.
    #[error("unknown or unsupported permission type {0}")]
    Permission(i8),
    /// A principal that is not `<type>:<name>`.
    #[error("invalid principal {0:?}: expected <type>:<name>, for example User:alice")]
    Principal(String),
    /// A cluster ACL not named `kafka-cluster`.
    #[error("the only valid name for the CLUSTER resource is {CLUSTER_NAME}")]
    ClusterName,
    /// An empty resource name.
    #[error("invalid empty resource name specified")]
    EmptyName,
    /// An empty host.
    #[error("invalid empty host specified")]
    EmptyHost,
}

/// Kafka's code of a resource type.
pub fn resource_code(t: ResourceType) -> i8 {
    match t {
        ResourceType::Topic => 2,
        ResourceType::Group => 3,
        ResourceType::Cluster => 4,
        ResourceType::TransactionalId => 5,
    }
}

fn resource_of(code: i8) -> Option<ResourceType> {
    [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
        ResourceType::TransactionalId,
    ]
    .into_iter()
    .find(|t| resource_code(*t) == code)
}

/// Kafka's code of a pattern type.
pub fn pattern_code(p: PatternType) -> i8 {
    match p {
        PatternType::Literal => 3,
        PatternType::Prefixed => 4,
    }
}

fn pattern_of(code: i8) -> Option<PatternType> {
    [PatternType::Literal, PatternType::Prefixed]
        .into_iter()
        .find(|p| pattern_code(*p) == code)
}

const OPERATIONS: [AclOperation; 11] = [
    AclOperation::All,
    AclOperation::Read,
    AclOperation::Write,
    AclOperation::Create,
    AclOperation::Delete,
    AclOperation::Alter,
    AclOperation::Describe,
    AclOperation::ClusterAction,
    AclOperation::DescribeConfigs,
    AclOperation::AlterConfigs,
    AclOperation::IdempotentWrite,
];

/// Kafka's code of an operation.
pub fn operation_code(o: AclOperation) -> i8 {
    match o {
        AclOperation::All => 2,
        AclOperation::Read => 3,
        AclOperation::Write => 4,
        AclOperation::Create => 5,
        AclOperation::Delete => 6,
        AclOperation::Alter => 7,
        AclOperation::Describe => 8,
        AclOperation::ClusterAction => 9,
        AclOperation::DescribeConfigs => 10,
        AclOperation::AlterConfigs => 11,
        AclOperation::IdempotentWrite => 12,
    }
}

fn operation_of(code: i8) -> Option<AclOperation> {
    OPERATIONS.into_iter().find(|o| operation_code(*o) == code)
}

/// Kafka's code of a permission type.
pub fn permission_code(p: AclPermission) -> i8 {
    match p {
        AclPermission::Deny => 2,
        AclPermission::Allow => 3,
    }
}

fn permission_of(code: i8) -> Option<AclPermission> {
    [AclPermission::Deny, AclPermission::Allow]
        .into_iter()
        .find(|p| permission_code(*p) == code)
}

/// One ACL as CreateAcls carries it, in Kafka's codes.
#[derive(Debug, Clone, Copy)]
pub struct WireAcl<'a> {
    /// Resource type code.
    pub resource_type: i8,
    /// Resource name (or prefix).
    pub resource_name: &'a str,
    /// Pattern type code.
    pub pattern_type: i8,
    /// Principal (`User:alice`).
    pub principal: &'a str,
    /// Client host (`*` for any).
    pub host: &'a str,
    /// Operation code.
    pub operation: i8,
    /// Permission type code.
    pub permission: i8,
}

/// Validates a CreateAcls creation as Kafka does (`ANY`, `MATCH` and unknown
/// codes refused, the cluster resource named `kafka-cluster`, no empty
/// resource name, a `<type>:<name>` principal).
pub fn binding_from_wire(w: WireAcl<'_>) -> Result<AclBinding, AclValidationError> {
    let resource_type =
        resource_of(w.resource_type).ok_or(AclValidationError::ResourceType(w.resource_type))?;
    let pattern_type =
        pattern_of(w.pattern_type).ok_or(AclValidationError::PatternType(w.pattern_type))?;
    let operation = operation_of(w.operation).ok_or(AclValidationError::Operation(w.operation))?;
    let permission =
        permission_of(w.permission).ok_or(AclValidationError::Permission(w.permission))?;
    let principal: Principal = w
        .principal
        .parse()
        .map_err(|_| AclValidationError::Principal(w.principal.to_string()))?;
    if w.resource_name.is_empty() {
        return Err(AclValidationError::EmptyName);
    }
    if resource_type == ResourceType::Cluster && w.resource_name != CLUSTER_NAME {
        return Err(AclValidationError::ClusterName);
    }
    if w.host.is_empty() {
        return Err(AclValidationError::EmptyHost);
    }
    Ok(AclBinding {
        resource_type,
        resource_name: w.resource_name.to_string(),
        pattern_type,
        principal,
        host: w.host.to_string(),
        operation,
        permission,
    })
}

/// One filter as DescribeAcls and DeleteAcls carry it, in Kafka's codes
/// (absent strings match anything).
#[derive(Debug, Clone, Copy)]
pub struct WireFilter<'a> {
    /// Resource type code.
    pub resource_type: i8,
    /// Resource name (or prefix).
    pub resource_name: Option<&'a str>,
    /// Pattern type code.
    pub pattern_type: i8,
    /// Principal (`User:alice`).
    pub principal: Option<&'a str>,
    /// Client host (`*` for any).
    pub host: Option<&'a str>,
    /// Operation code.
    pub operation: i8,
    /// Permission type code.
    pub permission: i8,
}

fn any_or<T>(
    code: i8,
    of: impl Fn(i8) -> Option<T>,
    err: AclValidationError,
) -> Result<Option<T>, AclValidationError> {
    if code == ANY {
        return Ok(None);
    }
    of(code).map(Some).ok_or(err)
}

/// Validates a DescribeAcls / DeleteAcls filter (unknown codes refused).
pub fn filter_from_wire(w: WireFilter<'_>) -> Result<AclFilter, AclValidationError> {
    let pattern = match w.pattern_type {
        ANY => PatternFilter::Any,
        MATCH => PatternFilter::Match,
        code => {
            PatternFilter::Exactly(pattern_of(code).ok_or(AclValidationError::PatternType(code))?)
        }
    };
    Ok(AclFilter {
        resource_type: any_or(
            w.resource_type,
            resource_of,
            AclValidationError::ResourceType(w.resource_type),
        )?,
        name: NameFilter {
            name: w.resource_name.map(str::to_string),
            pattern,
        },
        principal: w.principal.map(str::to_string),
        host: w.host.map(str::to_string),
        operation: any_or(
            w.operation,
            operation_of,
            AclValidationError::Operation(w.operation),
        )?,
        permission: any_or(
            w.permission,
            permission_of,
            AclValidationError::Permission(w.permission),
        )?,
    })
}
