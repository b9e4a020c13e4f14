//! Topic config overrides and dynamic broker configs of the in-memory
//! backend: one node, so the static layer is empty and changes apply at once.

use std::collections::BTreeMap;

use chronik_api::config::ConfigLayers;

use super::State;
use crate::backend::{BackendError, BackendResult};

/// The broker layers: the dynamic configs set so far.
pub(super) fn layers(state: &State) -> ConfigLayers {
    ConfigLayers {
        dynamic: state.broker_config.clone(),
        static_config: BTreeMap::new(),
    }
}

/// Replaces topic `name`'s overrides.
pub(super) fn set_topic(
    state: &mut State,
    name: &str,
    config: BTreeMap<String, String>,
) -> BackendResult<()> {
    let topic = state
        .topics
        .get_mut(name)
        .ok_or_else(|| BackendError::UnknownTopic {
            topic: name.to_owned(),
        })?;
    topic.configs = config;
    Ok(())
}
