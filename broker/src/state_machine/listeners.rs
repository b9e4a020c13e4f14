//! Each broker's advertised address on each named Kafka listener, as its
//! registrations record them: Metadata answers a client on listener L with
//! every broker's address on L.

use chronik_proto::meta;
use std::collections::BTreeMap;

/// Listener name → "host:port", by node id.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BrokerListeners(BTreeMap<u64, BTreeMap<String, String>>);

impl BrokerListeners {
    /// Records a registration's listeners; one without any (written before
    /// listeners existed) leaves the recorded ones.
    pub fn register(
        &mut self,
        node_id: u64,
        listeners: &std::collections::HashMap<String, String>,
    ) {
        if !listeners.is_empty() {
            self.0
                .insert(node_id, listeners.clone().into_iter().collect());
        }
    }

    /// Every broker's listeners.
    pub fn all(&self) -> &BTreeMap<u64, BTreeMap<String, String>> {
        &self.0
    }

    /// The snapshot field.
    pub fn encode(&self) -> std::collections::HashMap<u64, meta::ListenerAddresses> {
        self.0
            .iter()
            .map(|(id, l)| {
                let addresses = l.clone().into_iter().collect();
                (*id, meta::ListenerAddresses { addresses })
            })
            .collect()
    }

    /// From the snapshot field.
    pub fn decode(field: std::collections::HashMap<u64, meta::ListenerAddresses>) -> Self {
        Self(
            field
                .into_iter()
                .map(|(id, l)| (id, l.addresses.into_iter().collect()))
                .collect(),
        )
    }

    /// Feeds every field, in key order, to the state digest.
    pub fn digest_into(&self, mut bytes: impl FnMut(&[u8])) {
        for (id, listeners) in &self.0 {
            bytes(&id.to_le_bytes());
            for (name, addr) in listeners {
                bytes(name.as_bytes());
                bytes(addr.as_bytes());
            }
        }
    }
}

/// Encodes a registration carrying the broker's listeners.
pub fn register_command(
    node_id: u64,
    kafka_addr: &str,
    http_url: &str,
    incarnation: &str,
    listeners: &BTreeMap<String, String>,
) -> Vec<u8> {
    use prost::Message as _;
    meta::Command {
        cmd: Some(meta::command::Cmd::RegisterBroker(meta::RegisterBroker {
            node_id,
            kafka_addr: kafka_addr.to_string(),
            http_url: http_url.to_string(),
            incarnation: incarnation.to_string(),
            listeners: listeners.clone().into_iter().collect(),
        })),
    }
    .encode_to_vec()
}
