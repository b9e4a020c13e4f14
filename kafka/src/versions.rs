//! The API versions this front end implements and advertises in ApiVersions.

use kafka_protocol::messages::ApiKey;

/// An advertised API with its inclusive version range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedApi {
    /// The API.
    pub key: ApiKey,
    /// Lowest version implemented.
    pub min: i16,
    /// Highest version implemented.
    pub max: i16,
}

const fn api(key: ApiKey, min: i16, max: i16) -> SupportedApi {
    SupportedApi { key, min, max }
}

/// Every API and version range this crate implements. Versions above these change
/// semantics this crate does not implement (KIP-848 member epochs, transactions,
/// share groups...). Produce and Fetch go to the newest versions `kafka-protocol`
/// knows (topic ids from v13, KIP-951 leader hints), and down to Produce v2 and
/// Fetch v2 (and CreateTopics v0), which Kafka 4 removed (KIP-896) and Kafka 3.x served by converting
/// message formats v0/v1 (`crate::batch::legacy`, `crate::codec`).
pub const SUPPORTED_APIS: &[SupportedApi] = &[
    api(ApiKey::Produce, 2, 13),
    api(ApiKey::Fetch, 2, 18),
    api(ApiKey::ListOffsets, 1, 7),
    api(ApiKey::Metadata, 0, 12),
    api(ApiKey::OffsetCommit, 2, 8),
    api(ApiKey::OffsetFetch, 1, 7),
    api(ApiKey::FindCoordinator, 0, 4),
    api(ApiKey::JoinGroup, 0, 7),
    api(ApiKey::Heartbeat, 0, 4),
    api(ApiKey::LeaveGroup, 0, 4),
    api(ApiKey::SyncGroup, 0, 5),
    api(ApiKey::DescribeGroups, 0, 5),
    api(ApiKey::ListGroups, 0, 4),
    api(ApiKey::ApiVersions, 0, 4),
    api(ApiKey::CreateTopics, 0, 7),
    api(ApiKey::DeleteTopics, 1, 6),
    api(ApiKey::InitProducerId, 0, 4),
    api(ApiKey::DescribeConfigs, 1, 4),
    api(ApiKey::AlterConfigs, 0, 2),
    api(ApiKey::CreatePartitions, 0, 3),
    api(ApiKey::CreateAcls, 1, 3),
    api(ApiKey::DescribeAcls, 1, 3),
    api(ApiKey::DeleteAcls, 1, 3),
    api(ApiKey::SaslHandshake, 0, 1),
    api(ApiKey::SaslAuthenticate, 0, 2),
    api(ApiKey::DescribeUserScramCredentials, 0, 0),
    api(ApiKey::AlterUserScramCredentials, 0, 0),
    api(ApiKey::IncrementalAlterConfigs, 0, 1),
    api(ApiKey::DeleteRecords, 0, 2),
    api(ApiKey::DeleteGroups, 0, 2),
    api(ApiKey::OffsetDelete, 0, 0),
    api(ApiKey::DescribeCluster, 0, 2),
    api(ApiKey::OffsetForLeaderEpoch, 2, 4),
    api(ApiKey::DescribeLogDirs, 1, 4),
    api(ApiKey::ElectLeaders, 0, 2),
    api(ApiKey::DescribeProducers, 0, 0),
];

/// The implemented range of `key`, if the API is implemented at all.
pub fn supported_range(key: ApiKey) -> Option<SupportedApi> {
    SUPPORTED_APIS.iter().copied().find(|a| a.key == key)
}

/// Whether `version` of `key` is implemented.
pub fn is_supported(key: ApiKey, version: i16) -> bool {
    supported_range(key).is_some_and(|a| (a.min..=a.max).contains(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_ranges_are_within_the_crate_ranges() {
        for a in SUPPORTED_APIS {
            let valid = a.key.valid_versions();
            // Produce v2, Fetch v2–v3 and CreateTopics v0–v1 are translated
            // to the first version `kafka-protocol` knows (codec::legacy).
            let legacy = matches!(
                a.key,
                ApiKey::Produce | ApiKey::Fetch | ApiKey::CreateTopics
            );
            assert!(
                legacy || a.min >= valid.min && a.max <= valid.max,
                "{:?}",
                a.key
            );
            assert!(a.min <= a.max);
        }
    }
}
