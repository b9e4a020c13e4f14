"""Log compaction and DeleteRecords checks with confluent-kafka against one
partition (--partition) of a topic.

create:  creates the topic with the given configs (--config k=v).
produce: writes --versions rounds (numbered from --first-version) of one
         record per key of --keys keys ("k<key>" -> "k<key>-v<round>"), one
         produce request per round;
         --tombstone KEY then writes a null value for that key, --tail KEY
         one more record for that key (so the tombstone is not the newest
         record of the log).
check:   reads the partition from offset 0 to the high watermark (with
         confluent-kafka, or kafka-python with --client kafka-python) until it
         holds exactly the records --expect lists ("k3=k3-v4,k7=null,...",
         in offset order), or --timeout passes; prints the offsets and a
         digest of every (offset, timestamp, key, value) read.
delete:  DeleteRecords (AdminClient.delete_records) to --offset; prints the
         low watermark, then checks that ListOffsets earliest answers it and
         that a consumer from the beginning starts there.
delete-beyond: DeleteRecords beyond the high watermark must fail with
         OFFSET_OUT_OF_RANGE.
"""
import argparse
import hashlib
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import fail


def create(args):
    configs = dict(kv.split("=", 1) for kv in args.config)
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics([NewTopic(args.topic, args.partitions, 1, config=configs)])
    futures[args.topic].result(timeout=30)
    print(f"OK created {args.topic} with {configs}")


def produce(args):
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all",
                         "linger.ms": 1000, "enable.idempotence": True})
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    def send(key, value):
        producer.produce(args.topic, key=key.encode(), value=value, partition=args.partition,
                         on_delivery=on_delivery)

    for v in range(args.first_version, args.first_version + args.versions):
        for k in range(args.keys):
            send(f"k{k}", f"k{k}-v{v}".encode())
        producer.flush(30)
    if args.tombstone is not None:
        send(f"k{args.tombstone}", None)
        producer.flush(30)
    if args.tail is not None:
        send(f"k{args.tail}", f"k{args.tail}-tail".encode())
        producer.flush(30)
    if producer.flush(30) != 0 or errors:
        fail(f"produce failed: {errors[:3]}")
    print("OK produced", flush=True)


def consumer(bootstrap):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"compact-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    })


def read_all(args, start):
    """Every record from `start` to the high watermark: (offset, ts, key, value)."""
    c = consumer(args.bootstrap)
    tp = TopicPartition(args.topic, args.partition)
    low, high = c.get_watermark_offsets(tp, timeout=10)
    c.assign([TopicPartition(args.topic, args.partition, start)])
    records = []
    deadline = time.time() + 30
    try:
        while time.time() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    if msg.offset() >= high:
                        return low, high, records
                    continue
                fail(f"consume: {msg.error()}")
            value = msg.value()
            records.append((msg.offset(), msg.timestamp()[1], msg.key().decode(),
                            None if value is None else value.decode()))
        fail(f"no end of partition within 30 s; read {records[-3:]}")
    finally:
        c.close()


def read_all_kafka_python(args, start):
    """read_all with kafka-python's consumer."""
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KpTopicPartition

    c = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False,
                      auto_offset_reset="earliest", group_id=None)
    tp = KpTopicPartition(args.topic, args.partition)
    try:
        c.assign([tp])
        low = c.beginning_offsets([tp])[tp]
        high = c.end_offsets([tp])[tp]
        c.seek(tp, start)
        records = []
        deadline = time.time() + 30
        while c.position(tp) < high:
            if time.time() > deadline:
                fail(f"kafka-python: no end of partition within 30 s; read {records[-3:]}")
            for msg in c.poll(timeout_ms=500).get(tp, []):
                value = msg.value
                records.append((msg.offset, msg.timestamp, msg.key.decode(),
                                None if value is None else value.decode()))
        return low, high, records
    finally:
        c.close()


def render(records):
    return ",".join(f"{k}={'null' if v is None else v}" for (_o, _t, k, v) in records)


def check(args):
    deadline = time.time() + args.timeout
    while True:
        reader = read_all_kafka_python if args.client == "kafka-python" else read_all
        low, high, records = reader(args, 0)
        got = render(records)
        if got == args.expect:
            break
        if time.time() > deadline:
            fail(f"partition holds {got}, expected {args.expect} (watermarks {low}, {high})")
        time.sleep(0.5)
    offsets = [o for (o, _t, _k, _v) in records]
    if offsets != sorted(offsets):
        fail(f"offsets out of order: {offsets}")
    digest = hashlib.sha256(repr(records).encode()).hexdigest()[:16]
    print(f"OK low={low} high={high} offsets={offsets} digest={digest}")


def delete(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    tp = TopicPartition(args.topic, args.partition, args.offset)
    futures = admin.delete_records([tp])
    deleted = futures[tp].result(timeout=30)
    if deleted.low_watermark != args.offset:
        fail(f"low watermark {deleted.low_watermark}, expected {args.offset}")
    low, high, records = read_all(args, 0)
    if low != args.offset:
        fail(f"ListOffsets earliest {low}, expected {args.offset}")
    if not records or records[0][0] != args.offset:
        fail(f"a consumer from the beginning starts at {records[:1]}, not {args.offset}")
    print(f"OK low_watermark={deleted.low_watermark} earliest={low} high={high} "
          f"first={records[0][0]} read={len(records)}")


def delete_beyond(args):
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    tp = TopicPartition(args.topic, args.partition, args.offset)
    try:
        admin.delete_records([tp])[tp].result(timeout=30)
    except KafkaException as e:
        code = e.args[0].code()
        if code != KafkaError.OFFSET_OUT_OF_RANGE:
            fail(f"DeleteRecords beyond the high watermark failed with {e}")
        print("OK OFFSET_OUT_OF_RANGE")
        return
    fail("DeleteRecords beyond the high watermark succeeded")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["create", "produce", "check", "delete", "delete-beyond"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--first-version", type=int, default=0)
    parser.add_argument("--tombstone", type=int)
    parser.add_argument("--tail", type=int)
    parser.add_argument("--expect", default="")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--client", choices=["confluent-kafka", "kafka-python"],
                        default="confluent-kafka")
    args = parser.parse_args()
    {"create": create, "produce": produce, "check": check, "delete": delete,
     "delete-beyond": delete_beyond}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
