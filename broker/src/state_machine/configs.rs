//! Topic config overrides and dynamic cluster-wide broker configs, changed
//! through the metadata log (`SetTopicConfig`, `SetBrokerConfig`): every
//! replica applies the same whole sets, so effective values agree
//! everywhere and a change reaches existing topics at once.
//!
//! Values are validated with `chronik_api::config` before they are
//! proposed; applying never refuses a value (a replay must give the state
//! the log gave the first time).

use super::{ApplyOutcome, CommandRejection, MetaStateMachine};
use chronik_proto::meta::{self, command::Cmd};
use prost::Message as _;
use std::collections::BTreeMap;

impl MetaStateMachine {
    /// The dynamic cluster-wide broker configs.
    pub fn broker_config(&self) -> &BTreeMap<String, String> {
        &self.broker_config
    }

    pub(super) fn apply_config(&mut self, cmd: Cmd) -> ApplyOutcome {
        match cmd {
            Cmd::SetTopicConfig(s) => match self.topics.get_mut(&s.name) {
                Some(topic) => {
                    topic.config = s.config.into_iter().collect();
                    ApplyOutcome::Done
                }
                None => ApplyOutcome::Rejected(CommandRejection::UnknownTopic(s.name)),
            },
            Cmd::SetBrokerConfig(s) => {
                self.broker_config = s.config.into_iter().collect();
                ApplyOutcome::Done
            }
            _ => ApplyOutcome::Rejected(CommandRejection::Empty),
        }
    }
}

/// Encodes replacing topic `name`'s config overrides with `config`.
pub fn set_topic_config_command(name: &str, config: BTreeMap<String, String>) -> Vec<u8> {
    encode(Cmd::SetTopicConfig(meta::SetTopicConfig {
        name: name.to_string(),
        config: config.into_iter().collect(),
    }))
}

/// Encodes replacing the dynamic broker configs with `config`.
pub fn set_broker_config_command(config: BTreeMap<String, String>) -> Vec<u8> {
    encode(Cmd::SetBrokerConfig(meta::SetBrokerConfig {
        config: config.into_iter().collect(),
    }))
}

fn encode(cmd: Cmd) -> Vec<u8> {
    meta::Command { cmd: Some(cmd) }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state_machine::commands;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn configs_replace_whole_sets_and_survive_a_snapshot() {
        let mut sm = MetaStateMachine::default();
        sm.apply(
            1,
            &commands::create_topic("t", 1, map(&[("retention.ms", "1")])),
        )
        .unwrap();
        let before = sm.digest();
        let cmd = set_topic_config_command("t", map(&[("cleanup.policy", "compact")]));
        assert_eq!(sm.apply(2, &cmd).unwrap(), ApplyOutcome::Done);
        assert_eq!(
            sm.topics()["t"].config,
            map(&[("cleanup.policy", "compact")])
        );
        assert_ne!(sm.digest(), before);
        let unknown = set_topic_config_command("nope", BTreeMap::new());
        assert_eq!(
            sm.apply(3, &unknown).unwrap(),
            ApplyOutcome::Rejected(CommandRejection::UnknownTopic("nope".into()))
        );
        let before = sm.digest();
        let cmd = set_broker_config_command(map(&[("log.retention.ms", "1000")]));
        sm.apply(4, &cmd).unwrap();
        assert_eq!(sm.broker_config(), &map(&[("log.retention.ms", "1000")]));
        assert_ne!(sm.digest(), before);
        let restored = MetaStateMachine::restore(&sm.snapshot()).unwrap();
        assert_eq!(restored, sm);
        assert_eq!(restored.digest(), sm.digest());
    }
}
