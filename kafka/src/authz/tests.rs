//! Kafka's ACL semantics, table by table (after the cases of Kafka's
//! `AclAuthorizerTest` and `StandardAuthorizerTest`).

use super::codes::{WireAcl, WireFilter};
use super::*;
use chronik_api::security::{AclPermission, PatternType};
use AclOperation::*;
use ResourceType::*;

fn acl(
    t: ResourceType,
    name: &str,
    pattern: PatternType,
    who: &str,
    host: &str,
    op: AclOperation,
    perm: AclPermission,
) -> AclBinding {
    AclBinding {
        resource_type: t,
        resource_name: name.to_string(),
        pattern_type: pattern,
        principal: who.parse().unwrap(),
        host: host.to_string(),
        operation: op,
        permission: perm,
    }
}

fn allow(
    t: ResourceType,
    name: &str,
    pattern: PatternType,
    who: &str,
    op: AclOperation,
) -> AclBinding {
    acl(t, name, pattern, who, "*", op, AclPermission::Allow)
}

fn deny(
    t: ResourceType,
    name: &str,
    pattern: PatternType,
    who: &str,
    op: AclOperation,
) -> AclBinding {
    acl(t, name, pattern, who, "*", op, AclPermission::Deny)
}

fn simple() -> AuthzConfig {
    AuthzConfig {
        kind: AuthorizerKind::Simple,
        ..AuthzConfig::default()
    }
}

fn access(config: &AuthzConfig, acls: &[AclBinding], who: &str, host: &str) -> Access {
    Access::new(config, &who.parse().unwrap(), host, Some(acls.to_vec()))
}

use PatternType::{Literal, Prefixed};

/// (acls, principal, host, operation, resource type, name, expected)
type Case<'a> = (
    Vec<AclBinding>,
    &'a str,
    &'a str,
    AclOperation,
    ResourceType,
    &'a str,
    bool,
);

#[test]
fn decisions_follow_kafka() {
    // (acls, principal, host, operation, resource type, name, expected)
    let cases: Vec<Case<'_>> = vec![
        // No ACL at all: denied (allow.everyone.if.no.acl.found is false).
        (vec![], "User:alice", "10.0.0.1", Write, Topic, "t", false),
        // Literal allow.
        (
            vec![allow(Topic, "t", Literal, "User:alice", Write)],
            "User:alice",
            "h",
            Write,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Write)],
            "User:bob",
            "h",
            Write,
            Topic,
            "t",
            false,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Write)],
            "User:alice",
            "h",
            Write,
            Topic,
            "u",
            false,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Write)],
            "User:alice",
            "h",
            Read,
            Topic,
            "t",
            false,
        ),
        // The same name on another resource type does not count.
        (
            vec![allow(Group, "t", Literal, "User:alice", Read)],
            "User:alice",
            "h",
            Read,
            Topic,
            "t",
            false,
        ),
        // Wildcard resource name and wildcard principal.
        (
            vec![allow(Topic, "*", Literal, "User:alice", Read)],
            "User:alice",
            "h",
            Read,
            Topic,
            "any",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:*", Read)],
            "User:bob",
            "h",
            Read,
            Topic,
            "t",
            true,
        ),
        // Prefixed patterns.
        (
            vec![allow(Topic, "orders-", Prefixed, "User:alice", Read)],
            "User:alice",
            "h",
            Read,
            Topic,
            "orders-eu",
            true,
        ),
        (
            vec![allow(Topic, "orders-", Prefixed, "User:alice", Read)],
            "User:alice",
            "h",
            Read,
            Topic,
            "order",
            false,
        ),
        // A literal "*-" is a name, not a pattern.
        (
            vec![allow(Topic, "orders*", Literal, "User:alice", Read)],
            "User:alice",
            "h",
            Read,
            Topic,
            "orders1",
            false,
        ),
        // Deny wins over allow, whichever pattern grants.
        (
            vec![
                allow(Topic, "*", Literal, "User:alice", Read),
                deny(Topic, "t", Literal, "User:alice", Read),
            ],
            "User:alice",
            "h",
            Read,
            Topic,
            "t",
            false,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", All),
                deny(Topic, "t", Prefixed, "User:*", Read),
            ],
            "User:alice",
            "h",
            Read,
            Topic,
            "t",
            false,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", All),
                deny(Topic, "t", Literal, "User:alice", All),
            ],
            "User:alice",
            "h",
            Write,
            Topic,
            "t",
            false,
        ),
        // A deny of Read does not deny Describe (implication is for allows only).
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", Describe),
                deny(Topic, "t", Literal, "User:alice", Read),
            ],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            true,
        ),
        // Implied operations.
        (
            vec![allow(Topic, "t", Literal, "User:alice", Read)],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Write)],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Delete)],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Alter)],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Create)],
            "User:alice",
            "h",
            Describe,
            Topic,
            "t",
            false,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", AlterConfigs)],
            "User:alice",
            "h",
            DescribeConfigs,
            Topic,
            "t",
            true,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", DescribeConfigs)],
            "User:alice",
            "h",
            AlterConfigs,
            Topic,
            "t",
            false,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", Describe)],
            "User:alice",
            "h",
            Read,
            Topic,
            "t",
            false,
        ),
        (
            vec![allow(Topic, "t", Literal, "User:alice", All)],
            "User:alice",
            "h",
            Delete,
            Topic,
            "t",
            true,
        ),
        // Hosts: exact client address or "*".
        (
            vec![acl(
                Topic,
                "t",
                Literal,
                "User:alice",
                "10.0.0.1",
                Read,
                AclPermission::Allow,
            )],
            "User:alice",
            "10.0.0.1",
            Read,
            Topic,
            "t",
            true,
        ),
        (
            vec![acl(
                Topic,
                "t",
                Literal,
                "User:alice",
                "10.0.0.1",
                Read,
                AclPermission::Allow,
            )],
            "User:alice",
            "10.0.0.2",
            Read,
            Topic,
            "t",
            false,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", Read),
                acl(
                    Topic,
                    "t",
                    Literal,
                    "User:alice",
                    "10.0.0.2",
                    Read,
                    AclPermission::Deny,
                ),
            ],
            "User:alice",
            "10.0.0.2",
            Read,
            Topic,
            "t",
            false,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", Read),
                acl(
                    Topic,
                    "t",
                    Literal,
                    "User:alice",
                    "10.0.0.2",
                    Read,
                    AclPermission::Deny,
                ),
            ],
            "User:alice",
            "10.0.0.1",
            Read,
            Topic,
            "t",
            true,
        ),
        // Cluster and transactional id resources.
        (
            vec![allow(Cluster, CLUSTER_NAME, Literal, "User:alice", Create)],
            "User:alice",
            "h",
            Create,
            Cluster,
            CLUSTER_NAME,
            true,
        ),
        (
            vec![allow(TransactionalId, "tx-", Prefixed, "User:alice", Write)],
            "User:alice",
            "h",
            Write,
            TransactionalId,
            "tx-1",
            true,
        ),
    ];
    for (i, (acls, who, host, op, t, name, expected)) in cases.into_iter().enumerate() {
        let got = access(&simple(), &acls, who, host).allows(op, t, name);
        assert_eq!(
            got, expected,
            "case {i}: {who}@{host} {op:?} {t:?}:{name} under {acls:?}"
        );
    }
}

#[test]
fn allow_everyone_applies_only_to_resources_without_acls() {
    let config = AuthzConfig {
        allow_everyone_if_no_acl_found: true,
        ..simple()
    };
    let acls = [allow(Topic, "guarded", Literal, "User:alice", Read)];
    let bob = access(&config, &acls, "User:bob", "h");
    assert!(bob.topic(Write, "open"), "no ACL names it");
    assert!(!bob.topic(Read, "guarded"), "an ACL names it, not for bob");
    // A prefixed ACL also counts as naming the resource.
    let acls = [allow(Topic, "gu", Prefixed, "User:alice", Read)];
    assert!(!access(&config, &acls, "User:bob", "h").topic(Read, "guarded"));
}

#[test]
fn super_users_and_the_none_authorizer_allow_everything() {
    let acls = [deny(Topic, "*", Literal, "User:*", All)];
    let config = AuthzConfig {
        super_users: vec![Principal::user("admin")],
        ..simple()
    };
    assert!(access(&config, &acls, "User:admin", "h").topic(Write, "t"));
    assert!(!access(&config, &acls, "User:alice", "h").topic(Write, "t"));
    let none = AuthzConfig::default();
    assert!(access(&none, &acls, "User:alice", "h").topic(Write, "t"));
    // ACLs that could not be read: only super users pass.
    let unreadable = Access::new(&config, &Principal::user("alice"), "h", None);
    assert!(!unreadable.topic(Describe, "t"));
    assert!(Access::new(&config, &Principal::user("admin"), "h", None).cluster(Alter));
}

#[test]
fn authorize_by_resource_type_follows_kafka() {
    let cases: Vec<(Vec<AclBinding>, bool)> = vec![
        (vec![], false),
        (vec![allow(Topic, "t", Literal, "User:alice", Write)], true),
        (vec![allow(Topic, "t", Literal, "User:alice", Read)], false),
        (vec![allow(Group, "t", Literal, "User:alice", Write)], false),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", Write),
                deny(Topic, "t", Literal, "User:alice", Write),
            ],
            false,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", Write),
                deny(Topic, "u", Literal, "User:alice", Write),
            ],
            true,
        ),
        (
            vec![
                allow(Topic, "ab", Prefixed, "User:alice", Write),
                deny(Topic, "a", Prefixed, "User:alice", Write),
            ],
            false,
        ),
        (
            vec![
                allow(Topic, "a", Prefixed, "User:alice", Write),
                deny(Topic, "ab", Prefixed, "User:alice", Write),
            ],
            true,
        ),
        (
            vec![
                allow(Topic, "t", Literal, "User:alice", All),
                deny(Topic, "*", Literal, "User:*", Write),
            ],
            false,
        ),
    ];
    for (i, (acls, expected)) in cases.into_iter().enumerate() {
        let got = access(&simple(), &acls, "User:alice", "h").any(Write, Topic);
        assert_eq!(got, expected, "case {i}: {acls:?}");
    }
}

fn wire_filter(name: Option<&str>, pattern: i8) -> AclFilter {
    filter_from_wire(WireFilter {
        resource_type: 2,
        resource_name: name,
        pattern_type: pattern,
        principal: None,
        host: None,
        operation: 1,
        permission: 1,
    })
    .unwrap()
}

#[test]
fn filters_have_kafka_any_and_match_semantics() {
    let acls = [
        allow(Topic, "orders", Literal, "User:a", Read),
        allow(Topic, "*", Literal, "User:a", Read),
        allow(Topic, "ord", Prefixed, "User:a", Read),
        allow(Topic, "orders", Prefixed, "User:a", Read),
        allow(Topic, "x", Prefixed, "User:a", Read),
        allow(Group, "orders", Literal, "User:a", Read),
    ];
    let names = |f: &AclFilter| -> Vec<(String, PatternType)> {
        acls.iter()
            .filter(|a| f.matches(a))
            .map(|a| (a.resource_name.clone(), a.pattern_type))
            .collect()
    };
    let s = |n: &str, p| (n.to_string(), p);
    // ANY with a name: that exact name, whatever the pattern type.
    assert_eq!(
        names(&wire_filter(Some("orders"), 1)),
        [s("orders", Literal), s("orders", Prefixed)]
    );
    // MATCH: everything that applies to a topic named "orders".
    assert_eq!(
        names(&wire_filter(Some("orders"), 2)),
        [
            s("orders", Literal),
            s("*", Literal),
            s("ord", Prefixed),
            s("orders", Prefixed)
        ]
    );
    // LITERAL / PREFIXED: exact pattern type and name.
    assert_eq!(
        names(&wire_filter(Some("orders"), 3)),
        [s("orders", Literal)]
    );
    assert_eq!(names(&wire_filter(Some("ord"), 4)), [s("ord", Prefixed)]);
    assert_eq!(names(&wire_filter(None, 4)).len(), 3);
    assert_eq!(
        acls.iter().filter(|a| AclFilter::any().matches(a)).count(),
        6
    );
    let by_principal = filter_from_wire(WireFilter {
        resource_type: 1,
        resource_name: None,
        pattern_type: 1,
        principal: Some("User:b"),
        host: None,
        operation: 1,
        permission: 1,
    })
    .unwrap();
    assert!(!acls.iter().any(|a| by_principal.matches(a)));
}

fn wire(
    t: i8,
    name: &str,
    pattern: i8,
    principal: &str,
    op: i8,
    perm: i8,
) -> Result<AclBinding, AclValidationError> {
    binding_from_wire(WireAcl {
        resource_type: t,
        resource_name: name,
        pattern_type: pattern,
        principal,
        host: "*",
        operation: op,
        permission: perm,
    })
}

#[test]
fn creations_are_validated_as_kafka_does() {
    assert!(wire(2, "t", 3, "User:alice", 4, 3).is_ok());
    assert_eq!(
        wire(1, "t", 3, "User:alice", 4, 3),
        Err(AclValidationError::ResourceType(1))
    );
    assert_eq!(
        wire(2, "t", 1, "User:alice", 4, 3),
        Err(AclValidationError::PatternType(1))
    );
    assert_eq!(
        wire(2, "t", 2, "User:alice", 4, 3),
        Err(AclValidationError::PatternType(2))
    );
    assert_eq!(
        wire(2, "t", 3, "User:alice", 1, 3),
        Err(AclValidationError::Operation(1))
    );
    assert_eq!(
        wire(2, "t", 3, "User:alice", 0, 3),
        Err(AclValidationError::Operation(0))
    );
    assert_eq!(
        wire(2, "t", 3, "User:alice", 4, 1),
        Err(AclValidationError::Permission(1))
    );
    assert_eq!(
        wire(2, "t", 3, "alice", 4, 3),
        Err(AclValidationError::Principal("alice".into()))
    );
    assert_eq!(
        wire(4, "other", 3, "User:alice", 5, 3),
        Err(AclValidationError::ClusterName)
    );
    assert_eq!(
        wire(2, "", 3, "User:alice", 4, 3),
        Err(AclValidationError::EmptyName)
    );
    assert!(filter_from_wire(WireFilter {
        resource_type: 0,
        resource_name: None,
        pattern_type: 1,
        principal: None,
        host: None,
        operation: 1,
        permission: 1,
    })
    .is_err());
    for op in OPERATIONS_ALL {
        assert_eq!(
            wire(2, "t", 3, "User:a", operation_code(op), 3)
                .unwrap()
                .operation,
            op
        );
    }
}

const OPERATIONS_ALL: [AclOperation; 11] = [
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
];
