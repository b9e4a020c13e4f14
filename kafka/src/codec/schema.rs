//! Wire layout of the implemented requests, for [`super::walk`].
//!
//! Only what the walk needs: field order, the versions each field exists in, and
//! whether it is fixed-size, a string, bytes or an array. Nullability does not
//! matter (both null markers are accepted). Tagged fields are skipped generically.
//! The layouts follow Kafka's request schemas for the version ranges in
//! [`crate::versions`]; a unit test checks them against `kafka-protocol`'s encoder.

use kafka_protocol::messages::ApiKey;

/// Kind of a field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// A fixed number of bytes (ints, bool, uuid).
    Fixed(usize),
    /// A (nullable) string: i16 length, or compact.
    Str,
    /// (Nullable) bytes: i32 length, or compact.
    Bytes,
    /// A (nullable) array: i32 count, or compact.
    Array(Elem),
}

/// Element of an array.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Elem {
    /// Fixed-size primitive.
    Fixed(usize),
    /// String.
    Str,
    /// Struct (with its own tagged fields when flexible).
    Struct(&'static [Field]),
}

/// A field present in versions `min..=max`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) ty: Ty,
    min: i16,
    max: i16,
}

impl Field {
    pub(crate) fn present(&self, version: i16) -> bool {
        (self.min..=self.max).contains(&version)
    }
}

const fn all(ty: Ty) -> Field {
    Field {
        ty,
        min: 0,
        max: i16::MAX,
    }
}

const fn from(min: i16, ty: Ty) -> Field {
    Field {
        ty,
        min,
        max: i16::MAX,
    }
}

const fn range(min: i16, max: i16, ty: Ty) -> Field {
    Field { ty, min, max }
}

const I8: Ty = Ty::Fixed(1);
const BOOL: Ty = Ty::Fixed(1);
const I16: Ty = Ty::Fixed(2);
const I32: Ty = Ty::Fixed(4);
const I64: Ty = Ty::Fixed(8);
const UUID: Ty = Ty::Fixed(16);
const STR: Ty = Ty::Str;
const BYTES: Ty = Ty::Bytes;
const I32S: Ty = Ty::Array(Elem::Fixed(4));
const STRS: Ty = Ty::Array(Elem::Str);

const fn structs(fields: &'static [Field]) -> Ty {
    Ty::Array(Elem::Struct(fields))
}

const PRODUCE: &[Field] = &[
    all(STR), // transactional_id (v3+, all supported versions)
    all(I16), // acks
    all(I32), // timeout_ms
    all(structs(&[
        range(0, 12, STR), // name
        from(13, UUID),    // topic_id
        all(structs(&[
            all(I32),   // index
            all(BYTES), // records
        ])),
    ])),
];

const FETCH: &[Field] = &[
    range(0, 14, I32), // replica_id (v15+: the tagged replica_state)
    all(I32),          // max_wait_ms
    all(I32),          // min_bytes
    from(3, I32),      // max_bytes
    from(4, I8),       // isolation_level
    from(7, I32),      // session_id
    from(7, I32),      // session_epoch
    all(structs(&[
        range(0, 12, STR), // topic
        from(13, UUID),    // topic_id
        all(structs(&[
            all(I32),      // partition
            from(9, I32),  // current_leader_epoch
            all(I64),      // fetch_offset
            from(12, I32), // last_fetched_epoch
            from(5, I64),  // log_start_offset
            all(I32),      // partition_max_bytes
        ])),
    ])),
    from(7, structs(&[range(0, 12, STR), from(13, UUID), all(I32S)])), // forgotten_topics_data: topic, topic_id, partitions
    from(11, STR),                                                     // rack_id
];

const LIST_OFFSETS: &[Field] = &[
    all(I32),    // replica_id
    from(2, I8), // isolation_level
    all(structs(&[
        all(STR), // name
        all(structs(&[
            all(I32),     // partition_index
            from(4, I32), // current_leader_epoch
            all(I64),     // timestamp
        ])),
    ])),
];

const METADATA: &[Field] = &[
    all(structs(&[
        from(10, UUID), // topic_id
        all(STR),       // name
    ])),
    from(4, BOOL),      // allow_auto_topic_creation
    range(8, 10, BOOL), // include_cluster_authorized_operations
    from(8, BOOL),      // include_topic_authorized_operations
];

const OFFSET_COMMIT: &[Field] = &[
    all(STR),         // group_id
    from(1, I32),     // generation_id
    from(1, STR),     // member_id
    from(7, STR),     // group_instance_id
    range(2, 4, I64), // retention_time_ms
    all(structs(&[
        all(STR), // name
        all(structs(&[
            all(I32),         // partition_index
            all(I64),         // committed_offset
            from(6, I32),     // committed_leader_epoch
            range(1, 1, I64), // commit_timestamp
            all(STR),         // committed_metadata
        ])),
    ])),
];

const OFFSET_FETCH: &[Field] = &[
    all(STR),                             // group_id
    all(structs(&[all(STR), all(I32S)])), // topics
    from(7, BOOL),                        // require_stable
];

const FIND_COORDINATOR: &[Field] = &[
    range(0, 3, STR), // key
    from(1, I8),      // key_type
    from(4, STRS),    // coordinator_keys
];

const JOIN_GROUP: &[Field] = &[
    all(STR),     // group_id
    all(I32),     // session_timeout_ms
    from(1, I32), // rebalance_timeout_ms
    all(STR),     // member_id
    from(5, STR), // group_instance_id
    all(STR),     // protocol_type
    all(structs(&[all(STR), all(BYTES)])),
];

const HEARTBEAT: &[Field] = &[
    all(STR),     // group_id
    all(I32),     // generation_id
    all(STR),     // member_id
    from(3, STR), // group_instance_id
];

const LEAVE_GROUP: &[Field] = &[
    all(STR),                                // group_id
    range(0, 2, STR),                        // member_id
    from(3, structs(&[all(STR), all(STR)])), // members
];

const SYNC_GROUP: &[Field] = &[
    all(STR),     // group_id
    all(I32),     // generation_id
    all(STR),     // member_id
    from(3, STR), // group_instance_id
    from(5, STR), // protocol_type
    from(5, STR), // protocol_name
    all(structs(&[all(STR), all(BYTES)])),
];

const DESCRIBE_GROUPS: &[Field] = &[
    all(STRS),     // groups
    from(3, BOOL), // include_authorized_operations
];

const LIST_GROUPS: &[Field] = &[
    from(4, STRS), // states_filter
];

const API_VERSIONS: &[Field] = &[
    from(3, STR), // client_software_name
    from(3, STR), // client_software_version
];

const CREATE_TOPICS: &[Field] = &[
    all(structs(&[
        all(STR),                             // name
        all(I32),                             // num_partitions
        all(I16),                             // replication_factor
        all(structs(&[all(I32), all(I32S)])), // assignments
        all(structs(&[all(STR), all(STR)])),  // configs
    ])),
    all(I32),      // timeout_ms
    from(1, BOOL), // validate_only
];

const DELETE_TOPICS: &[Field] = &[
    from(6, structs(&[all(STR), all(UUID)])), // topics
    range(0, 5, STRS),                        // topic_names
    all(I32),                                 // timeout_ms
];

const INIT_PRODUCER_ID: &[Field] = &[
    all(STR),     // transactional_id
    all(I32),     // transaction_timeout_ms
    from(3, I64), // producer_id
    from(3, I16), // producer_epoch
];

const DESCRIBE_CONFIGS: &[Field] = &[
    all(structs(&[
        all(I8),   // resource_type
        all(STR),  // resource_name
        all(STRS), // configuration_keys
    ])),
    from(1, BOOL), // include_synonyms
    from(3, BOOL), // include_documentation
];

const ALTER_CONFIGS: &[Field] = &[
    all(structs(&[
        all(I8),                             // resource_type
        all(STR),                            // resource_name
        all(structs(&[all(STR), all(STR)])), // configs: name, value
    ])),
    all(BOOL), // validate_only
];

const INCREMENTAL_ALTER_CONFIGS: &[Field] = &[
    all(structs(&[
        all(I8),                                      // resource_type
        all(STR),                                     // resource_name
        all(structs(&[all(STR), all(I8), all(STR)])), // configs: name, operation, value
    ])),
    all(BOOL), // validate_only
];

const CREATE_PARTITIONS: &[Field] = &[
    all(structs(&[
        all(STR),                   // name
        all(I32),                   // count
        all(structs(&[all(I32S)])), // assignments
    ])),
    all(I32),  // timeout_ms
    all(BOOL), // validate_only
];

/// One ACL (CreateAcls) or ACL filter (DescribeAcls, DeleteAcls), v1+.
const ACL: &[Field] = &[
    all(I8),  // resource_type
    all(STR), // resource_name
    all(I8),  // pattern_type
    all(STR), // principal
    all(STR), // host
    all(I8),  // operation
    all(I8),  // permission_type
];

const CREATE_ACLS: &[Field] = &[all(structs(ACL))];

const DELETE_ACLS: &[Field] = &[all(structs(ACL))];

const SASL_HANDSHAKE: &[Field] = &[all(STR)]; // mechanism

const SASL_AUTHENTICATE: &[Field] = &[all(BYTES)]; // auth_bytes

const DESCRIBE_USER_SCRAM_CREDENTIALS: &[Field] = &[all(structs(&[all(STR)]))]; // users

const ALTER_USER_SCRAM_CREDENTIALS: &[Field] = &[
    all(structs(&[all(STR), all(I8)])), // deletions: name, mechanism
    all(structs(&[
        all(STR),   // name
        all(I8),    // mechanism
        all(I32),   // iterations
        all(BYTES), // salt
        all(BYTES), // salted_password
    ])),
];

const DELETE_RECORDS: &[Field] = &[
    all(structs(&[
        all(STR),                            // name
        all(structs(&[all(I32), all(I64)])), // partition_index, offset
    ])),
    all(I32), // timeout_ms
];

const DELETE_GROUPS: &[Field] = &[all(STRS)]; // groups_names

const OFFSET_DELETE: &[Field] = &[
    all(STR), // group_id
    all(structs(&[
        all(STR),                  // name
        all(structs(&[all(I32)])), // partitions: partition_index
    ])),
];

const DESCRIBE_CLUSTER: &[Field] = &[
    all(BOOL),     // include_cluster_authorized_operations
    from(1, I8),   // endpoint_type
    from(2, BOOL), // include_fenced_brokers
];

const OFFSET_FOR_LEADER_EPOCH: &[Field] = &[
    from(3, I32), // replica_id
    all(structs(&[
        all(STR), // topic
        all(structs(&[
            all(I32), // partition
            all(I32), // current_leader_epoch (v2+, all supported versions)
            all(I32), // leader_epoch
        ])),
    ])),
];

const ELECT_LEADERS: &[Field] = &[
    from(1, I8),                          // election_type
    all(structs(&[all(STR), all(I32S)])), // topic_partitions
    all(I32),                             // timeout_ms
];

const DESCRIBE_LOG_DIRS: &[Field] = &[all(structs(&[all(STR), all(I32S)]))]; // topics

const DESCRIBE_PRODUCERS: &[Field] = &[all(structs(&[all(STR), all(I32S)]))]; // topics

/// Layout and first flexible version of an implemented request.
pub(crate) fn request_layout(key: ApiKey) -> Option<(&'static [Field], i16)> {
    Some(match key {
        ApiKey::Produce => (PRODUCE, 9),
        ApiKey::Fetch => (FETCH, 12),
        ApiKey::ListOffsets => (LIST_OFFSETS, 6),
        ApiKey::Metadata => (METADATA, 9),
        ApiKey::OffsetCommit => (OFFSET_COMMIT, 8),
        ApiKey::OffsetFetch => (OFFSET_FETCH, 6),
        ApiKey::FindCoordinator => (FIND_COORDINATOR, 3),
        ApiKey::JoinGroup => (JOIN_GROUP, 6),
        ApiKey::Heartbeat => (HEARTBEAT, 4),
        ApiKey::LeaveGroup => (LEAVE_GROUP, 4),
        ApiKey::SyncGroup => (SYNC_GROUP, 4),
        ApiKey::DescribeGroups => (DESCRIBE_GROUPS, 5),
        ApiKey::ListGroups => (LIST_GROUPS, 3),
        ApiKey::ApiVersions => (API_VERSIONS, 3),
        ApiKey::CreateTopics => (CREATE_TOPICS, 5),
        ApiKey::DeleteTopics => (DELETE_TOPICS, 4),
        ApiKey::InitProducerId => (INIT_PRODUCER_ID, 2),
        ApiKey::DescribeConfigs => (DESCRIBE_CONFIGS, 4),
        ApiKey::AlterConfigs => (ALTER_CONFIGS, 2),
        ApiKey::IncrementalAlterConfigs => (INCREMENTAL_ALTER_CONFIGS, 1),
        ApiKey::CreatePartitions => (CREATE_PARTITIONS, 2),
        ApiKey::CreateAcls => (CREATE_ACLS, 2),
        ApiKey::DescribeAcls => (ACL, 2),
        ApiKey::DeleteAcls => (DELETE_ACLS, 2),
        ApiKey::SaslHandshake => (SASL_HANDSHAKE, i16::MAX),
        ApiKey::SaslAuthenticate => (SASL_AUTHENTICATE, 2),
        ApiKey::DescribeUserScramCredentials => (DESCRIBE_USER_SCRAM_CREDENTIALS, 0),
        ApiKey::AlterUserScramCredentials => (ALTER_USER_SCRAM_CREDENTIALS, 0),
        ApiKey::DeleteRecords => (DELETE_RECORDS, 2),
        ApiKey::DeleteGroups => (DELETE_GROUPS, 2),
        ApiKey::OffsetDelete => (OFFSET_DELETE, i16::MAX),
        ApiKey::DescribeCluster => (DESCRIBE_CLUSTER, 0),
        ApiKey::OffsetForLeaderEpoch => (OFFSET_FOR_LEADER_EPOCH, 4),
        ApiKey::ElectLeaders => (ELECT_LEADERS, 2),
        ApiKey::DescribeLogDirs => (DESCRIBE_LOG_DIRS, 2),
        ApiKey::DescribeProducers => (DESCRIBE_PRODUCERS, 0),
        _ => return None,
    })
}
