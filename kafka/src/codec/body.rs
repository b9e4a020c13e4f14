//! Typed request and response bodies of the implemented APIs.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};

macro_rules! apis {
    ($($variant:ident => $req:ty, $resp:ty;)*) => {
        /// A decoded request body of an implemented API.
        #[derive(Debug, Clone)]
        #[allow(clippy::large_enum_variant)]
        pub enum RequestBody {
            $(
                #[doc = concat!("A `", stringify!($variant), "` request.")]
                $variant($req),
            )*
        }

        /// A response body of an implemented API.
        #[derive(Debug, Clone)]
        #[allow(clippy::large_enum_variant)]
        pub enum ResponseBody {
            $(
                #[doc = concat!("A `", stringify!($variant), "` response.")]
                $variant($resp),
            )*
        }

        /// Decodes the body of `key` at `version`; `Ok(None)` for APIs not implemented.
        pub(crate) fn decode_body(
            key: ApiKey,
            buf: &mut Bytes,
            version: i16,
        ) -> Result<Option<RequestBody>, String> {
            match key {
                $(
                    ApiKey::$variant => <$req>::decode(buf, version)
                        .map(|r| Some(RequestBody::$variant(r)))
                        .map_err(|e| e.to_string()),
                )*
                _ => Ok(None),
            }
        }

        #[cfg(test)]
        impl RequestBody {
            /// Encodes the body at `version` (tests build frames with it;
            /// legacy versions through `codec::legacy`).
            pub(crate) fn encode_into(&self, buf: &mut BytesMut, version: i16) -> Result<(), String> {
                let key = self.api_key();
                let at = super::legacy::body_version(key, version);
                let mut body = BytesMut::new();
                match self {
                    $(Self::$variant(r) => r.encode(&mut body, at).map_err(|e| e.to_string())?,)*
                }
                buf.extend_from_slice(&super::legacy::downgrade_body(key, version, &body));
                Ok(())
            }

            /// The API of this request.
            pub(crate) fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$variant(_) => ApiKey::$variant,)*
                }
            }
        }

        impl ResponseBody {
            /// The API this response belongs to.
            pub fn api_key(&self) -> ApiKey {
                match self {
                    $(Self::$variant(_) => ApiKey::$variant,)*
                }
            }

            /// Encodes the body at `version`.
            pub(crate) fn encode_into(&self, buf: &mut BytesMut, version: i16) -> Result<(), String> {
                match self {
                    $(Self::$variant(r) => r.encode(buf, version).map_err(|e| e.to_string()),)*
                }
            }
        }
    };
}

apis! {
    Produce => ProduceRequest, ProduceResponse;
    Fetch => FetchRequest, FetchResponse;
    ListOffsets => ListOffsetsRequest, ListOffsetsResponse;
    Metadata => MetadataRequest, MetadataResponse;
    OffsetCommit => OffsetCommitRequest, OffsetCommitResponse;
    OffsetFetch => OffsetFetchRequest, OffsetFetchResponse;
    FindCoordinator => FindCoordinatorRequest, FindCoordinatorResponse;
    JoinGroup => JoinGroupRequest, JoinGroupResponse;
    Heartbeat => HeartbeatRequest, HeartbeatResponse;
    LeaveGroup => LeaveGroupRequest, LeaveGroupResponse;
    SyncGroup => SyncGroupRequest, SyncGroupResponse;
    DescribeGroups => DescribeGroupsRequest, DescribeGroupsResponse;
    ListGroups => ListGroupsRequest, ListGroupsResponse;
    ApiVersions => ApiVersionsRequest, ApiVersionsResponse;
    CreateTopics => CreateTopicsRequest, CreateTopicsResponse;
    DeleteTopics => DeleteTopicsRequest, DeleteTopicsResponse;
    InitProducerId => InitProducerIdRequest, InitProducerIdResponse;
    DescribeConfigs => DescribeConfigsRequest, DescribeConfigsResponse;
    AlterConfigs => AlterConfigsRequest, AlterConfigsResponse;
    CreatePartitions => CreatePartitionsRequest, CreatePartitionsResponse;
    CreateAcls => CreateAclsRequest, CreateAclsResponse;
    DescribeAcls => DescribeAclsRequest, DescribeAclsResponse;
    DeleteAcls => DeleteAclsRequest, DeleteAclsResponse;
    SaslHandshake => SaslHandshakeRequest, SaslHandshakeResponse;
    SaslAuthenticate => SaslAuthenticateRequest, SaslAuthenticateResponse;
    DescribeUserScramCredentials => DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse;
    AlterUserScramCredentials => AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse;
    IncrementalAlterConfigs => IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse;
    DeleteRecords => DeleteRecordsRequest, DeleteRecordsResponse;
    DeleteGroups => DeleteGroupsRequest, DeleteGroupsResponse;
    OffsetDelete => OffsetDeleteRequest, OffsetDeleteResponse;
    DescribeCluster => DescribeClusterRequest, DescribeClusterResponse;
    OffsetForLeaderEpoch => OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse;
    DescribeProducers => DescribeProducersRequest, DescribeProducersResponse;
    DescribeLogDirs => DescribeLogDirsRequest, DescribeLogDirsResponse;
    ElectLeaders => ElectLeadersRequest, ElectLeadersResponse;
}
