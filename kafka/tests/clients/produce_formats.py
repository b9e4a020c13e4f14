"""Produce and fetch formats with real clients (confluent-kafka, kafka-python).

codecs:     for each codec (none, gzip, snappy, lz4, zstd) confluent-kafka
            produces 200 records to a compression.type=producer topic and
            reads them back; kafka-python produces and reads gzip; a
            compression.type=gzip topic written with lz4 and a
            compression.type=uncompressed topic written with zstd are read by
            kafka-python (which has no lz4/zstd codec: it only works because
            the broker recompressed).
limits:     a topic with max.message.bytes=2000 refuses a 5000-byte record
            (MSG_SIZE_TOO_LARGE) and accepts a 500-byte one.
acks1:      acks=1 delivery reports carry real offsets (0..n-1, read back at
            those offsets).
appendtime: a message.timestamp.type=LogAppendTime topic: a record produced
            with timestamp 1000 is read with the broker's time (type
            LOG_APPEND_TIME); prints the timestamps as TIMESTAMPS=...
acks1_failover: creates the one-partition topic "failover1", prints
            "LEADER <id>" (the test kills it), produces with acks=1 (not
            idempotent, with retries) for --seconds, then checks that every
            acknowledged record is stored at the offset its delivery report
            gave.
create:     creates --topic with --config key=value settings.
timestamps: 10 records in one request with timestamps t0, t0+1000, ...;
            offsets_for_times(t0+5500) is offset 6 with confluent-kafka and
            kafka-python (per record, not per request).
"""
import argparse
import time

from common import fail

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


def create(bootstrap, topic, configs=None):
    from confluent_kafka.admin import NewTopic
    client = admin(bootstrap)
    futures = client.create_topics([NewTopic(topic, 1, 1, config=configs or {})])
    futures[topic].result(timeout=30)


def produce(bootstrap, topic, values, **config):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, **config})
    reports = []
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, msg: reports.append((err, msg)))
    p.flush(30)
    errors = [e for e, _ in reports if e is not None]
    return reports, errors


def consume_confluent(bootstrap, topic, count):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}-{time.time()}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.time() + 30
    while len(out) < count and time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            fail(f"{topic}: consumer error {msg.error()}")
        out.append(msg)
    c.close()
    return out


def consume_kafka_python(bootstrap, topic, count):
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                      consumer_timeout_ms=20000)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek(tp, 0)
    out = []
    for msg in c:
        out.append(msg)
        if len(out) >= count:
            break
    c.close()
    return out


def values(prefix, n):
    return [f"{prefix}-{i}-".encode() + b"x" * 300 for i in range(n)]


def codecs(args):
    for codec in CODECS:
        topic = f"codec-{codec}"
        create(args.bootstrap, topic)
        sent = values(codec, 200)
        _, errors = produce(args.bootstrap, topic, sent, **{"compression.type": codec, "acks": "all"})
        if errors:
            fail(f"{codec}: {errors[:3]}")
        got = [m.value() for m in consume_confluent(args.bootstrap, topic, len(sent))]
        if got != sent:
            fail(f"{codec}: read {len(got)} records, not the 200 sent in order")
        print(f"OK {codec} produced and consumed")
    from kafka import KafkaProducer
    create(args.bootstrap, "codec-kp-gzip")
    kp = KafkaProducer(bootstrap_servers=args.bootstrap, compression_type="gzip", linger_ms=50)
    sent = values("kp", 100)
    for v in sent:
        kp.send("codec-kp-gzip", v)
    kp.flush(30)
    kp.close()
    got = [m.value for m in consume_kafka_python(args.bootstrap, "codec-kp-gzip", len(sent))]
    if got != sent:
        fail(f"kafka-python gzip: read {len(got)} records")
    print("OK kafka-python gzip produced and consumed")
    for topic, config, codec in [("recompressed-gzip", "gzip", "lz4"),
                                 ("decompressed", "uncompressed", "zstd")]:
        create(args.bootstrap, topic, {"compression.type": config})
        sent = values(topic, 100)
        _, errors = produce(args.bootstrap, topic, sent, **{"compression.type": codec, "acks": "all"})
        if errors:
            fail(f"{topic}: {errors[:3]}")
        got = [m.value for m in consume_kafka_python(args.bootstrap, topic, len(sent))]
        if got != sent:
            fail(f"{topic}: kafka-python read {len(got)} records of the {codec} batches")
        print(f"OK {topic}: {codec} batches stored as {config}")


def limits(args):
    from confluent_kafka import KafkaError
    create(args.bootstrap, "small", {"max.message.bytes": "2000"})
    _, errors = produce(args.bootstrap, "small", [b"y" * 5000], acks="all")
    if [e.code() for e in errors] != [KafkaError.MSG_SIZE_TOO_LARGE]:
        fail(f"5000 bytes over max.message.bytes=2000: {errors}")
    _, errors = produce(args.bootstrap, "small", [b"y" * 500], acks="all")
    if errors:
        fail(f"500 bytes refused: {errors}")
    print("OK max.message.bytes: MSG_SIZE_TOO_LARGE, smaller accepted")


def acks1(args):
    create(args.bootstrap, "acks1")
    sent = values("acks1", 300)
    reports, errors = produce(args.bootstrap, "acks1", sent, acks=1, **{"enable.idempotence": False})
    if errors:
        fail(f"acks=1: {errors[:3]}")
    offsets = sorted(m.offset() for _, m in reports)
    if offsets != list(range(len(sent))):
        fail(f"acks=1 delivery offsets {offsets[:5]}... are not 0..{len(sent) - 1}")
    by_offset = {m.offset(): m.value() for _, m in reports}
    got = consume_confluent(args.bootstrap, "acks1", len(sent))
    if any(by_offset[m.offset()] != m.value() for m in got) or len(got) != len(sent):
        fail("records read back differ from the offsets acks=1 reported")
    print("OK acks=1 reported offsets 0..299, each read back at its offset")


def appendtime(args):
    from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME
    if args.create:
        create(args.bootstrap, "appendtime", {"message.timestamp.type": "LogAppendTime"})
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 20})
        reports = []
        before = int(time.time() * 1000)
        for i in range(20):
            p.produce("appendtime", value=f"at-{i}".encode(), timestamp=1000,
                      on_delivery=lambda err, msg: reports.append((err, msg)))
        p.flush(30)
        if any(e for e, _ in reports):
            fail(f"appendtime produce: {reports}")
        for _, m in reports:
            kind, ts = m.timestamp()
            if kind != TIMESTAMP_LOG_APPEND_TIME or ts < before - 5000:
                fail(f"delivery report timestamp {m.timestamp()}, expected the broker's time")
    got = consume_confluent(args.bootstrap, "appendtime", 20)
    stamps = []
    for m in got:
        kind, ts = m.timestamp()
        if kind != TIMESTAMP_LOG_APPEND_TIME or ts < 1_600_000_000_000:
            fail(f"consumed timestamp {m.timestamp()}, expected LogAppendTime")
        stamps.append(ts)
    print("TIMESTAMPS=" + ",".join(map(str, stamps)))


def timestamps(args):
    from confluent_kafka import Consumer, TopicPartition
    create(args.bootstrap, "bytime")
    from confluent_kafka import Producer
    t0 = int(time.time() * 1000) - 60_000
    p = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 1000})
    for i in range(10):
        p.produce("bytime", value=f"t-{i}".encode(), timestamp=t0 + i * 1000)
    p.flush(30)
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "bytime"})
    found = c.offsets_for_times([TopicPartition("bytime", 0, t0 + 5500)], timeout=10)
    if found[0].offset != 6:
        fail(f"confluent offsets_for_times(t0+5500) = {found[0].offset}, expected 6")
    c.close()
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP
    kc = KafkaConsumer(bootstrap_servers=args.bootstrap)
    answer = kc.offsets_for_times({KTP("bytime", 0): t0 + 2500})[KTP("bytime", 0)]
    if answer is None or answer.offset != 3 or answer.timestamp != t0 + 3000:
        fail(f"kafka-python offsets_for_times(t0+2500) = {answer}, expected offset 3")
    kc.close()
    print("OK offsets_for_times resolved per record")


def leader_of(bootstrap, topic):
    md = admin(bootstrap).list_topics(topic=topic, timeout=10)
    return md.topics[topic].partitions[0].leader


def acks1_failover(args):
    from confluent_kafka import Producer
    create(args.bootstrap, "failover1")
    deadline = time.time() + 30
    while leader_of(args.bootstrap, "failover1") < 0 and time.time() < deadline:
        time.sleep(0.2)
    print(f"LEADER {leader_of(args.bootstrap, 'failover1')}", flush=True)
    p = Producer({"bootstrap.servers": args.bootstrap, "acks": 1, "enable.idempotence": False,
                  "linger.ms": 5, "message.timeout.ms": 60000, "retry.backoff.ms": 100,
                  "topic.metadata.refresh.interval.ms": 1000})
    acked = {}

    def on_delivery(err, msg):
        if err is None:
            acked[msg.value()] = msg.offset()

    seq = 0
    end = time.time() + args.seconds
    while time.time() < end:
        try:
            p.produce("failover1", value=f"f-{seq}".encode(), on_delivery=on_delivery)
            seq += 1
        except BufferError:
            pass
        p.poll(0)
        if seq % 100 == 0:
            time.sleep(0.01)
    p.flush(90)
    if not acked:
        fail("nothing was acknowledged")
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "failover1"})
    _, high = c.get_watermark_offsets(TopicPartition("failover1", 0), timeout=10)
    c.close()
    stored = {m.offset(): m.value() for m in consume_confluent(args.bootstrap, "failover1", high)}
    wrong = [(v, o) for v, o in acked.items() if stored.get(o) != v]
    if wrong:
        fail(f"{len(wrong)} of {len(acked)} acks=1 records not at their reported offset: {wrong[:3]}")
    print(f"OK {len(acked)} acks=1 records of {seq} sent stored at their reported offsets")


def switch_codec(args):
    """compression.type changed with the AdminClient on an existing topic:
    lz4 batches are stored as sent before the change and as gzip after."""
    from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource
    topic = "switched"
    create(args.bootstrap, topic)
    _, errors = produce(args.bootstrap, topic, values("before", 20), **{"compression.type": "lz4"})
    if errors:
        fail(f"producing before the change: {errors}")
    entry = ConfigEntry("compression.type", "gzip", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    client = admin(args.bootstrap)
    client.incremental_alter_configs([resource])[resource].result(timeout=30)
    # The change is answered once applied on the answering broker; the
    # partition leader applies it within a tick or two.
    time.sleep(1)
    _, errors = produce(args.bootstrap, topic, values("after", 20), **{"compression.type": "lz4"})
    if errors:
        fail(f"producing after the change: {errors}")
    print("OK switched compression.type")


def create_action(args):
    create(args.bootstrap, args.topic, dict(kv.split("=", 1) for kv in args.config))
    print(f"OK created {args.topic}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["codecs", "limits", "acks1", "appendtime",
                                           "timestamps", "create", "acks1_failover",
                                           "switch_codec"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--create", action="store_true")
    parser.add_argument("--topic")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--config", action="append", default=[])
    args = parser.parse_args()
    action = create_action if args.action == "create" else globals()[args.action]
    action(args)


if __name__ == "__main__":
    main()
