//! The initial voters of new partition groups travel in the command.
//!
//! The leader stamps its metadata group's voters into `CreateTopic` and
//! `CreatePartitions` when it proposes them ([`stamp_voters`]); every
//! replica then creates the groups with those voters, whatever the
//! configuration is when (or how often) the entry is applied. Before this,
//! the applier used the configuration at apply time: a replay after a
//! membership change gave the groups other voters than on the replicas that
//! applied the entry first.

use chronik_proto::meta::{self, command::Cmd};
use prost::Message as _;

/// The command with `voters` filled in when it creates partition groups
/// and names none; `None` when it needs no change (other commands, or
/// bytes that do not decode, which the applier then rejects).
pub fn stamp_voters(data: &[u8], voters: &[u64]) -> Option<Vec<u8>> {
    let mut cmd = meta::Command::decode(data).ok()?;
    let slot = match cmd.cmd.as_mut()? {
        Cmd::CreateTopic(t) => &mut t.voters,
        Cmd::CreatePartitions(c) => &mut c.voters,
        _ => return None,
    };
    if !slot.is_empty() {
        return None;
    }
    let mut sorted = voters.to_vec();
    sorted.sort_unstable();
    *slot = sorted;
    Some(cmd.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::super::{commands, MetaStateMachine};
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn stamped_voters_win_over_the_configuration_at_apply_time() {
        let cmd = commands::create_topic("t", 2, BTreeMap::new());
        let stamped = stamp_voters(&cmd, &[3, 1, 2]).unwrap();
        assert_eq!(stamp_voters(&stamped, &[9]), None, "stamped once");
        assert_eq!(stamp_voters(&commands::put("k", vec![]), &[1]), None);
        let grow = stamp_voters(&commands::create_partitions("t", 3), &[1, 2]).unwrap();

        // A replica that applies the entries first, and one replaying them
        // after a membership change (its configuration is newer).
        let mut first = MetaStateMachine::default();
        first.set_voters(vec![1, 2, 3]);
        let mut replay = MetaStateMachine::default();
        replay.set_voters(vec![1, 2, 3, 4]);
        for sm in [&mut first, &mut replay] {
            sm.apply(1, &stamped).unwrap();
            sm.apply(2, &grow).unwrap();
        }
        assert_eq!(first.topics(), replay.topics());
        assert_eq!(first.digest(), replay.digest());
        let groups = &replay.topics()["t"].partition_groups;
        assert_eq!(groups[0].voters, [1, 2, 3]);
        assert_eq!(groups[2].voters, [1, 2]);
    }

    #[test]
    fn a_command_without_voters_uses_the_configuration_given() {
        let mut sm = MetaStateMachine::default();
        sm.set_voters(vec![1, 2]);
        sm.apply(1, &commands::create_topic("old", 1, BTreeMap::new()))
            .unwrap();
        assert_eq!(sm.topics()["old"].partition_groups[0].voters, [1, 2]);
    }
}
