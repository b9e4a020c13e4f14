"""confluent-kafka: batches compressed with gzip, snappy, lz4 and zstd pass through
and read back; a confluent consumer group commits; acks=0 produces; the admin client
lists topics, describes configs and groups."""
import argparse
import sys
import time

from common import create_topic, fail

CODECS = ["gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 500


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource

    create_topic(args.bootstrap, args.topic, 3)
    expected = set()
    for codec in CODECS:
        p = Producer({"bootstrap.servers": args.bootstrap, "compression.type": codec,
                      "linger.ms": 20, "acks": "all"})
        for i in range(PER_CODEC):
            value = f"{codec}-{i}-" + "x" * 100
            p.produce(args.topic, key=f"{i}".encode(), value=value.encode())
            expected.add(value)
        if p.flush(30):
            fail(f"{codec}: undelivered records")
    fire_and_forget = Producer({"bootstrap.servers": args.bootstrap, "acks": 0})
    for i in range(100):
        value = f"acks0-{i}"
        fire_and_forget.produce(args.topic, value=value.encode())
        expected.add(value)
    if fire_and_forget.flush(30):
        fail("acks=0: undelivered records")

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "confluent-group",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([args.topic])
    seen = set()
    deadline = time.time() + 60
    while time.time() < deadline and len(seen) < len(expected):
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            fail(f"consumer error: {msg.error()}")
        seen.add(msg.value().decode())
    if seen != expected:
        fail(f"read {len(seen)} distinct values, expected {len(expected)}")
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(args.topic, p) for p in range(3)], timeout=10)
    if sum(tp.offset for tp in committed) != len(expected):
        fail(f"committed offsets {[tp.offset for tp in committed]} do not cover all records")

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    if args.topic not in admin.list_topics(timeout=10).topics:
        fail("topic missing from metadata")
    futures = admin.describe_configs([ConfigResource("topic", args.topic)])
    for future in futures.values():
        configs = {k: v.value for k, v in future.result().items()}
        if configs.get("cleanup.policy") != "delete":
            fail(f"unexpected topic configs {configs}")
    groups = admin.describe_consumer_groups(["confluent-group"])
    for future in groups.values():
        description = future.result()
        if len(description.members) != 1:
            fail(f"group description has {len(description.members)} members")
    consumer.close()
    print(f"OK {len(expected)} records through {len(CODECS)} codecs, acks=0 and a confluent group")


if __name__ == "__main__":
    sys.exit(main())
