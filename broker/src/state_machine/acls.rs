//! The ACLs in force, replicated through the metadata log: `CreateAcls`
//! adds bindings and `DeleteAcls` removes exact bindings, so every replica
//! (and every replay) holds the same set. Kept in a `BTreeSet` so the
//! snapshot and the state digest see one canonical order.

use super::ApplyOutcome;
use chronik_api::security::AclBinding;
use chronik_kafka::authz::{
    binding_from_wire, operation_code, pattern_code, permission_code, resource_code, WireAcl,
};
use chronik_proto::meta;
use std::collections::BTreeSet;

/// The replicated ACL set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acls {
    set: BTreeSet<AclBinding>,
}

impl Acls {
    /// Every ACL, in canonical order.
    pub fn all(&self) -> &BTreeSet<AclBinding> {
        &self.set
    }

    /// Applies a `CreateAcls` command.
    pub fn create(&mut self, index: u64, cmd: &meta::CreateAcls) -> ApplyOutcome {
        self.set.extend(decode_all(index, &cmd.acls));
        ApplyOutcome::Done
    }

    /// Applies a `DeleteAcls` command.
    pub fn delete(&mut self, index: u64, cmd: &meta::DeleteAcls) -> ApplyOutcome {
        for acl in decode_all(index, &cmd.acls) {
            self.set.remove(&acl);
        }
        ApplyOutcome::Done
    }

    /// The snapshot form.
    pub fn encode(&self) -> Vec<meta::AclEntry> {
        self.set.iter().map(encode).collect()
    }

    /// Rebuilds the set from a snapshot.
    pub fn decode(entries: &[meta::AclEntry]) -> Self {
        Self {
            set: decode_all(0, entries).collect(),
        }
    }
}

/// The log and snapshot form of one ACL.
pub fn encode(a: &AclBinding) -> meta::AclEntry {
    meta::AclEntry {
        resource_type: i32::from(resource_code(a.resource_type)),
        resource_name: a.resource_name.clone(),
        pattern_type: i32::from(pattern_code(a.pattern_type)),
        principal: a.principal.to_string(),
        host: a.host.clone(),
        operation: i32::from(operation_code(a.operation)),
        permission: i32::from(permission_code(a.permission)),
    }
}

/// Decodes entries; one that does not decode (never written by a broker
/// that validates before proposing) is skipped alike on every replica.
fn decode_all(index: u64, entries: &[meta::AclEntry]) -> impl Iterator<Item = AclBinding> + '_ {
    let code = |v: i32| i8::try_from(v).unwrap_or(0);
    entries.iter().filter_map(move |e| {
        let wire = WireAcl {
            resource_type: code(e.resource_type),
            resource_name: &e.resource_name,
            pattern_type: code(e.pattern_type),
            principal: &e.principal,
            host: &e.host,
            operation: code(e.operation),
            permission: code(e.permission),
        };
        binding_from_wire(wire)
            .map_err(|err| tracing::warn!(index, error = %err, "committed ACL skipped"))
            .ok()
    })
}

/// Encodes an ACL creation command.
pub fn create_command(acls: &[AclBinding]) -> Vec<u8> {
    use prost::Message as _;
    meta::Command {
        cmd: Some(meta::command::Cmd::CreateAcls(meta::CreateAcls {
            acls: acls.iter().map(encode).collect(),
        })),
    }
    .encode_to_vec()
}

/// Encodes an ACL deletion command.
pub fn delete_command(acls: &[AclBinding]) -> Vec<u8> {
    use prost::Message as _;
    meta::Command {
        cmd: Some(meta::command::Cmd::DeleteAcls(meta::DeleteAcls {
            acls: acls.iter().map(encode).collect(),
        })),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::MetaStateMachine;
    use super::*;
    use chronik_api::security::{AclOperation, AclPermission, PatternType, ResourceType};

    fn acl(name: &str, op: AclOperation) -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: name.to_string(),
            pattern_type: PatternType::Prefixed,
            principal: "User:alice".parse().unwrap(),
            host: "10.0.0.1".to_string(),
            operation: op,
            permission: AclPermission::Deny,
        }
    }

    #[test]
    fn acls_apply_survive_a_snapshot_and_change_the_digest() {
        let mut sm = MetaStateMachine::default();
        let empty = sm.digest();
        let (a, b) = (acl("a", AclOperation::Read), acl("b", AclOperation::All));
        sm.apply(1, &create_command(&[b.clone(), a.clone(), a.clone()]))
            .unwrap();
        assert_eq!(sm.acls().all().iter().collect::<Vec<_>>(), [&a, &b]);
        let with_two = sm.digest();
        assert_ne!(with_two, empty);
        let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        assert_eq!(restored, sm);
        assert_eq!(restored.digest(), with_two);
        sm.apply(
            2,
            &delete_command(&[a.clone(), acl("absent", AclOperation::Read)]),
        )
        .unwrap();
        assert_eq!(sm.acls().all().iter().collect::<Vec<_>>(), [&b]);
        sm.apply(3, &delete_command(&[b])).unwrap();
        assert_eq!(
            sm.digest(),
            empty,
            "no ACLs: the digest of a state without any"
        );
    }

    #[test]
    fn an_undecodable_entry_is_skipped_alike_everywhere() {
        let mut bad = encode(&acl("a", AclOperation::Read));
        bad.principal = "nobody".to_string();
        let entries = [bad, encode(&acl("b", AclOperation::Read))];
        let acls = Acls::decode(&entries);
        assert_eq!(acls.all().len(), 1);
    }
}
