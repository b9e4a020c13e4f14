//! Raw Kafka requests for the produce tests, encoded with `kafka-protocol`:
//! exact versions (Produce v13 by topic id, Fetch v16/v18), hand-made record
//! batches (corrupted, lying about their record count, unknown codec) and
//! the fields a client library would hide (KIP-951 hints, stored codecs).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection sending typed requests.
pub struct Raw {
    conn: TcpStream,
    correlation: i32,
}

impl Raw {
    /// Connects to `addr` (`host:port`).
    pub async fn connect(addr: &str) -> Self {
        let conn = TcpStream::connect(addr).await.expect("connect");
        Self {
            conn,
            correlation: 0,
        }
    }

    /// Sends `request` at `version` and decodes the response.
    pub async fn call<Req, Resp>(&mut self, key: ApiKey, version: i16, request: &Req) -> Resp
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("produce-test")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, Req::header_version(version))
            .expect("header");
        request.encode(&mut buf, version).expect("request");
        let mut frame = (buf.len() as i32).to_be_bytes().to_vec();
        frame.extend_from_slice(&buf);
        self.conn.write_all(&frame).await.expect("send");
        let len = self.conn.read_i32().await.expect("size");
        let mut resp = vec![0u8; usize::try_from(len).expect("size")];
        self.conn.read_exact(&mut resp).await.expect("response");
        let mut resp = Bytes::from(resp);
        ResponseHeader::decode(&mut resp, Resp::header_version(version)).expect("header");
        Resp::decode(&mut resp, version).expect("response body")
    }
}

/// `values` as one batch with `codec`, record timestamps `timestamps`.
pub fn batch(values: &[&str], timestamps: &[i64], codec: Compression) -> BytesMut {
    let records: Vec<Record> = values
        .iter()
        .zip(timestamps)
        .enumerate()
        .map(|(i, (v, ts))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // Non-idempotent: base sequence -1; offset minus sequence must stay
            // constant or the encoder splits the batch.
            sequence: i as i32 - 1,
            timestamp: *ts,
            key: None,
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: Default::default(),
        })
        .collect();
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: codec,
    };
    RecordBatchEncoder::encode(&mut out, records.iter(), &options).expect("encode");
    out
}

/// Recomputes a batch's CRC after a test changed it (so only the change is
/// wrong).
pub fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

/// The codec bits of each batch in `records`.
pub fn codecs(records: &[u8]) -> Vec<i16> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= records.len() {
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().expect("len"));
        out.push(i16::from_be_bytes(records[at + 21..at + 23].try_into().expect("attr")) & 7);
        at += 12 + usize::try_from(len).expect("len");
    }
    out
}
