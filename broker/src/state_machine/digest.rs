//! A stable fingerprint of the metadata state: replicas that applied the
//! same log up to the same index must report the same digest, whatever mix
//! of snapshots, replays and restarts brought them there.
//!
//! The digest is FNV-1a (64 bits) over a canonical encoding of every field
//! (length-prefixed, in key order), not over the snapshot bytes: protobuf
//! maps are encoded in hash-map order, which differs between processes.

use super::MetaStateMachine;

/// FNV-1a over length-prefixed fields.
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn bytes(&mut self, b: &[u8]) {
        self.raw(&(b.len() as u64).to_le_bytes());
        self.raw(b);
    }

    fn raw(&mut self, b: &[u8]) {
        for byte in b {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.raw(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// A section tag, so that equal contents in different fields differ.
    fn tag(&mut self, t: &str) {
        self.str(t);
    }
}

/// The digest of everything the metadata state machine replicates (the
/// applied index excepted: it is reported beside the digest).
pub(super) fn digest(sm: &MetaStateMachine) -> u64 {
    let mut h = Fnv(Fnv::OFFSET);
    h.tag("members");
    for (id, url) in &sm.members {
        h.u64(*id);
        h.str(url);
    }
    h.tag("removed");
    for (id, index) in &sm.removed {
        h.u64(*id);
        h.u64(*index);
    }
    h.tag("topics");
    for t in sm.topics.values() {
        h.str(&t.name);
        h.u64(u64::from(t.partitions));
        h.u64(t.created_index);
        for (k, v) in &t.config {
            h.str(k);
            h.str(v);
        }
        h.tag("groups");
        for g in &t.partition_groups {
            h.u64(g.group_id);
            h.u64(g.voters.len() as u64);
            for v in &g.voters {
                h.u64(*v);
            }
        }
    }
    h.tag("next_group_id");
    h.u64(sm.next_group_id);
    h.tag("kv");
    for (k, v) in &sm.kv {
        h.str(k);
        h.bytes(v);
    }
    h.tag("brokers");
    for (id, addr) in &sm.brokers {
        h.u64(*id);
        h.str(addr);
    }
    h.tag("http_urls");
    for (id, url) in &sm.http_urls {
        h.u64(*id);
        h.str(url);
    }
    h.tag("offsets");
    for (group, offsets) in &sm.offsets {
        h.str(group);
        for ((topic, partition), o) in offsets {
            h.str(topic);
            h.i64(i64::from(*partition));
            h.i64(o.offset);
            h.i64(i64::from(o.leader_epoch));
            match &o.metadata {
                Some(m) => h.str(m),
                None => h.tag("none"),
            }
        }
    }
    h.tag("producer_ids");
    h.i64(sm.producer_ids.next());
    for (node, b) in sm.producer_ids.blocks() {
        h.u64(*node);
        h.u64(b.request_id);
        h.u64(b.index);
        h.i64(b.first);
        h.u64(u64::from(b.count));
    }
    // Absent from states without ACLs, so their digests stay as they were.
    if !sm.acls.all().is_empty() {
        h.tag("acls");
        for a in sm.acls.encode() {
            h.i64(i64::from(a.resource_type));
            h.str(&a.resource_name);
            h.i64(i64::from(a.pattern_type));
            h.str(&a.principal);
            h.str(&a.host);
            h.i64(i64::from(a.operation));
            h.i64(i64::from(a.permission));
        }
    }
    h.tag("scram");
    sm.scram.digest_into(|b| h.bytes(b));
    h.tag("listeners");
    sm.listeners.digest_into(|b| h.bytes(b));
    // Absent while no dynamic broker config is set, so older digests stay.
    if !sm.broker_config.is_empty() {
        h.tag("broker_config");
        for (k, v) in &sm.broker_config {
            h.str(k);
            h.str(v);
        }
    }
    // Absent from states without stored groups, so their digests stay.
    if !sm.groups.all().is_empty() {
        h.tag("stored_groups");
        sm.groups.digest_into(|b| h.bytes(b));
    }
    h.0
}
